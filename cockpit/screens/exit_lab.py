"""The analytics screen's Exit lab tab: the counterfactual ledger's totals per policy, what the
trader's overrides added or cost, and the entries' e-ratio (issue 15 items 4 and 5).

It renders the session's latest `Ledger.totals` (computed by the ledger job after each pass,
never here) through `cockpit.backtest.ledger_present`, the same text `cockpit report` writes,
and redraws when a pass completed. A widget of its own, so the analytics screen only places it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from cockpit.backtest.ledger_present import (
    NOTE,
    SET_COLUMNS,
    discretion_line,
    e_ratio_line,
    set_rows,
)
from cockpit.session import Session


class ExitLabPanel(Vertical):
    """Ledger totals per set, discretion and e-ratio; empty until the first ledger pass."""

    DEFAULT_CSS = """
    ExitLabPanel { height: 1fr; }
    ExitLabPanel > #exit-lab-note { height: auto; color: $text-muted; }
    ExitLabPanel > #exit-lab-sets { height: auto; max-height: 8; }
    ExitLabPanel > #exit-lab-lines { height: auto; }
    """

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self._shown = -1

    def compose(self) -> ComposeResult:
        yield Static(NOTE, id="exit-lab-note")
        yield DataTable(id="exit-lab-sets", cursor_type="row", zebra_stripes=True)
        yield Static(id="exit-lab-lines")

    def on_mount(self) -> None:
        self.refresh_view()
        self.set_interval(0.5, self.refresh_view)

    def refresh_view(self) -> None:
        ledger = self.session.ledger
        if ledger.version == self._shown:
            return
        self._shown = ledger.version
        totals = ledger.totals
        lines = self.query_one("#exit-lab-lines", Static)
        table: DataTable[Text] = self.query_one("#exit-lab-sets", DataTable)
        table.clear(columns=True)
        if totals is None:
            lines.update(Text("The ledger has not run yet (it runs after the first close).", "dim"))
            return
        for column in SET_COLUMNS:
            table.add_column(column, key=column)
        for row in set_rows(totals):
            table.add_row(
                *(Text(v) if i == 0 else Text(v, justify="right") for i, v in enumerate(row))
            )
        lines.update(f"{discretion_line(totals)}\n{e_ratio_line(totals)}")
