"""The dashboard's decision-gate panel: one line per gate, its state in words and in colour.

It renders the gates of the session's latest analytics snapshot, which is recomputed when the
history reloads (at start and whenever a trade closes), never per tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from cockpit.analytics.gate_state import GateState

if TYPE_CHECKING:  # drawn (empty) in the first frame, before the analytics' numpy is loaded
    from cockpit.analytics.gates import Gate

STATE_STYLES = {
    GateState.PASS: ("bold black on green", "green"),
    GateState.FAIL: ("bold white on red", "red"),
    GateState.NEED_DATA: ("bold black on yellow", "yellow"),
}
"""(state badge, rest of the line) per state; the badge also says PASS / FAIL / NEED."""
LABEL_WIDTH = 18


def gate_line(gate: Gate) -> Text:
    badge, line_style = STATE_STYLES[gate.state]
    text = Text()
    text.append(gate.state.label, style=badge)
    text.append(" ")
    text.append(f"{gate.label:<{LABEL_WIDTH}}", style="bold")
    text.append(gate.summary, style=line_style)
    return text


class GatePanel(Static):
    """Lines that do not fit are cut with an ellipsis (see cockpit.tcss); `g` shows the detail."""

    def on_mount(self) -> None:
        self.show(None)

    def show(self, gates: Sequence[Gate] | None, stale: str | None = None) -> None:
        """The gates; `stale`: why they could not be brought up to date (the last refresh
        failed), said under them so the trader knows they are older than the journal."""
        self.gates = tuple(gates or ())
        self.stale = None if stale is None else f"not updated: {stale}"
        if gates is None and self.stale is None:
            self.update(Text("computing from the journal...", style="dim"))
            return
        lines = [gate_line(gate) for gate in self.gates]
        if self.stale is not None:
            lines.append(Text(self.stale, style="bold yellow"))
        self.update(Text("\n").join(lines))

    def line_texts(self) -> list[str]:
        """The panel's lines as plain text (what a test or a screen reader sees)."""
        stale = [] if self.stale is None else [self.stale]
        return [gate_line(gate).plain for gate in self.gates] + stale
