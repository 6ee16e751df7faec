"""The end of a replay: what this run came to, on screen until the trader closes it.

Pushed by the dashboard when the session reports a finished run (`LatestState.replay_result`);
`f` opens it again. Only this run's trades count (a replay database keeps every earlier run),
and the decision gates are computed over them, so a trader replaying a file sees at once whether
the run alone would have justified a change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from cockpit.replay_summary import ReplayResult

STATE_STYLE = {"PASS": "bold green", "FAIL": "bold red", "NEED": "yellow"}


def result_rows(result: ReplayResult) -> list[tuple[str, str]]:
    """(label, value) of the run's figures, in the order the panel shows them."""
    win_rate = result.win_rate_pct
    exits = ", ".join(f"{reason} {n}" for reason, n in result.exits) or "none"
    return [
        ("Trades closed", str(result.trades)),
        ("Win rate", "n/a" if win_rate is None else f"{win_rate:.1f} % ({result.wins} won)"),
        ("Net P&L", f"{result.net_pnl:+.2f} USDT after fees"),
        ("Exits by reason", exits),
        ("Still open", f"{result.still_open} (c closes one)" if result.still_open else "none"),
    ]


def title_text(result: ReplayResult) -> str:
    run = f"run {result.run_id}" if result.run_id is not None else "run (not recorded)"
    source = f" of {result.source}" if result.source else ""
    end = ""
    if result.data_end_ms is not None:
        stamp = datetime.fromtimestamp(result.data_end_ms / 1000, tz=UTC)
        end = f", data ended {stamp:%Y-%m-%d %H:%M} UTC"
    return f"Replay finished: {run}{source}{end}"


class ReplayResultScreen(ModalScreen[None]):
    """Read-only; Escape, Enter or `f` closes it (and `f` on the dashboard opens it again)."""

    BINDINGS = [Binding("escape,enter,f", "dismiss", "Close", id="replay_result.close")]

    def __init__(self, result: ReplayResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        with Vertical(id="replay-result"):
            yield Static(Text(title_text(self.result), style="bold"), id="replay-result-title")
            yield DataTable(id="replay-result-figures", cursor_type="none", show_header=False)
            yield Static(Text("Decision gates over this run's trades", style="bold"))
            yield DataTable(id="replay-result-gates", cursor_type="none", zebra_stripes=True)
            yield Static(
                Text("Esc closes; f opens it again; the journal keeps every run", style="dim")
            )

    def on_mount(self) -> None:
        figures: DataTable[Text] = self.query_one("#replay-result-figures", DataTable)
        figures.add_columns("figure", "value")
        for label, value in result_rows(self.result):
            figures.add_row(Text(label, style="dim"), Text(value))
        gates: DataTable[Text] = self.query_one("#replay-result-gates", DataTable)
        gates.add_columns("State", "Gate", "Verdict")
        for state, label, verdict in self.result.gates:
            gates.add_row(Text(state, style=STATE_STYLE.get(state, "")), Text(label), Text(verdict))
        if not self.result.gates:
            gates.add_row(Text(""), Text("no gate"), Text("no trade closed in this run"))
