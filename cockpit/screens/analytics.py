"""The analytics screen (`g`): gates with every check, metrics, equity and drawdown, attribution.

It renders the session's latest `AnalyticsSnapshot` (computed when the history reloads, never
here) through the same text functions as `cockpit report`, and redraws when a trade closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from widgets.confirm import ConfirmDialog
from widgets.equity_chart import EquityChart
from widgets.gate_panel import STATE_STYLES

if TYPE_CHECKING:
    from cockpit.analytics.snapshot import AnalyticsSnapshot
    from cockpit.session import Session

ATTRIBUTION_TABS = (
    ("symbol", "Symbol"),
    ("direction", "Direction"),
    ("quality", "Quality tier"),
    ("confidence", "Confidence"),
    ("regime", "Regime"),
    ("strategy", "Strategy"),
    ("exit_reason", "Exit reason"),
    ("ab_group", "A/B group"),
)
STATE_WORDS = {state.label: styles[1] for state, styles in STATE_STYLES.items()}
RIGHT_ALIGNED = {"Trades", "Win %", "Net $", "Avg $", "PF", "Avg MFE %", "Baseline", "Now"}


class AnalyticsScreen(Screen[None]):
    """Read-only view of the journal's analytics; Escape (or g) returns to the dashboard.

    Gates on top (one row per check), metrics bottom left, equity/drawdown and the attribution
    tabs bottom right.
    """

    BINDINGS = [
        Binding("escape,g", "app.pop_screen", "Back", id="analytics.back"),
        Binding("p", "start_next_phase", "Start next phase", id="analytics.next_phase"),
        Binding("b", "choose_baseline", "Baseline", id="analytics.baseline"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._shown_version = -1

    def compose(self) -> ComposeResult:
        # numpy comes with these: the screen opens once the session runs, never on the first frame
        from cockpit.screens.exit_lab import ExitLabPanel
        from widgets.analytics_extra import ABPanel, FidelityPanel

        yield Static(id="analytics-title")
        yield DataTable(id="analytics-gates", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="analytics-bottom"):
            yield DataTable(id="analytics-metrics", cursor_type="row", zebra_stripes=True)
            with Vertical(id="analytics-right"):
                yield EquityChart(id="analytics-chart")
                with TabbedContent(id="analytics-tabs"):
                    for key, title in ATTRIBUTION_TABS:
                        with TabPane(title, id=f"tab-{key}"):
                            yield DataTable(id=f"attr-{key}", cursor_type="row")
                    with TabPane("Baseline vs now", id="tab-baseline"):
                        yield DataTable(id="attr-baseline", cursor_type="row")
                    with TabPane("Filters", id="tab-filters"):
                        yield DataTable(id="attr-filters", cursor_type="row")
                    with TabPane("A/B test", id="tab-ab"):
                        yield ABPanel(id="ab-panel")
                    with TabPane("Shadow vs live", id="tab-fidelity"):
                        yield FidelityPanel(id="fidelity-panel")
                    with TabPane("Exit lab", id="tab-exit-lab"):
                        yield ExitLabPanel(self.session, id="exit-lab")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#analytics-gates").border_title = "Decision gates"
        self.query_one("#analytics-metrics").border_title = "Metrics (net of fees)"
        self.query_one("#analytics-tabs").border_title = "P&L by"
        self.query_one("#analytics-chart").border_title = "Equity and drawdown"
        self.refresh_view()
        self.set_interval(0.5, self.refresh_view)

    def next_phase(self) -> int:
        """The phase after the latest one started (Phase 1 when none has)."""
        snapshot = self.session.latest.analytics
        started = [p.phase for p in snapshot.phases] if snapshot is not None else []
        return max(started, default=0) + 1

    def action_start_next_phase(self) -> None:
        """Ask first: a start is never moved, and every later comparison hangs on it."""
        from cockpit.analytics.phases import PHASE_NAMES  # numpy: loaded with the session

        phase = self.next_phase()
        if phase not in PHASE_NAMES:
            self.notify("Phase 6 is the last roadmap phase", severity="warning")
            return
        dialog = ConfirmDialog(
            f"Start Phase {phase} now?",
            f"Phase {phase} ({PHASE_NAMES[phase]}) starts now: its trades are judged against "
            f"Phase {phase - 1}'s from here on. A start is recorded in the audit log and is "
            "never moved.",
            confirm_label=f"Start Phase {phase}",
        )

        def on_answer(confirmed: bool | None) -> None:
            if confirmed:
                self.run_worker(self.session.start_phase(phase), group="phase")

        self.app.push_screen(dialog, on_answer)

    def action_choose_baseline(self) -> None:
        """The P2 win condition's baseline (cockpit/baseline_chooser.py: remembered, audited)."""
        snapshot = self.session.latest.analytics
        choice = snapshot.baseline if snapshot is not None else None
        current = "" if choice is None else f"{choice.kind}:{choice.value}"

        def on_answer(text: str | None) -> None:
            if text is not None:
                self.run_worker(self.session.choose_baseline(text), group="baseline")

        from widgets.baseline_dialog import BaselineDialog

        self.app.push_screen(BaselineDialog(current), on_answer)

    def refresh_view(self) -> None:
        """Redraw when the session has new history (a trade closed), otherwise nothing."""
        latest = self.session.latest
        if latest.history_version == self._shown_version:
            return
        self._shown_version = latest.history_version
        self.show(latest.analytics)

    def show(self, snapshot: AnalyticsSnapshot | None) -> None:
        # Imported here: the app (and its first frame) imports this screen's class for its key
        # bindings; the analytics' numpy is loaded with the session, long before `g` shows it.
        from cockpit.analytics import present, present_extra
        from widgets.analytics_extra import ABPanel, FidelityPanel

        title = self.query_one("#analytics-title", Static)
        if snapshot is None:
            title.update(
                Text(
                    f"Analytics of account {self.session.settings.account}: computing from the "
                    "journal...",
                    style="dim",
                )
            )
            return
        imported = f", {snapshot.imported} imported" if snapshot.imported else ""
        title.update(
            Text.assemble(
                ("Analytics", "bold"),
                f" of account {self.session.settings.account}",
                f"  {snapshot.trades} closed trades{imported}.  ",
                (present.PNL_NOTE, "dim"),
            )
        )
        with self.app.batch_update():
            _fill(
                self.query_one("#analytics-gates", DataTable),
                present.GATE_COLUMNS,
                present.gate_rows((*snapshot.gates, *snapshot.phase_gates)),
            )
            _fill(
                self.query_one("#analytics-metrics", DataTable),
                ("Metric", "Value"),
                present.metric_rows(snapshot),
            )
            self.query_one(EquityChart).show(snapshot.equity, snapshot.drawdown)
            tables = {table.key: table for table in snapshot.tables}
            for key, _ in ATTRIBUTION_TABS:
                _fill(
                    self.query_one(f"#attr-{key}", DataTable),
                    present.TABLE_COLUMNS,
                    present.table_rows(tables[key]),
                )
            baseline = self.query_one("#attr-baseline", DataTable)
            baseline.border_title = present_extra.baseline_text(snapshot)
            _fill(
                baseline,
                present.COMPARISON_COLUMNS,
                present.comparison_rows(snapshot)
                or [("press b to choose a baseline (date, phase, A/B group, policy)", "", "")],
            )
            _fill(self.query_one("#attr-filters", DataTable), *present.filter_table(snapshot))
            self.query_one(ABPanel).show(snapshot)
            self.query_one(FidelityPanel).show(snapshot)


def _cell(column: str, value: str, width: int) -> Text:
    if column in ("State", "Result") and value in STATE_WORDS:
        return Text(value, style=f"bold {STATE_WORDS[value]}")
    if column in RIGHT_ALIGNED:
        return Text(value.rjust(width))  # padded here: the table does not justify cells
    return Text(value)


def _fill(table: DataTable[Text], columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table.clear(columns=True)
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    for column, width in zip(columns, widths, strict=True):
        label = column.rjust(width) if column in RIGHT_ALIGNED else column
        table.add_column(label, key=column)
    for row in rows:
        table.add_row(*(_cell(c, v, w) for c, v, w in zip(columns, row, widths, strict=True)))
