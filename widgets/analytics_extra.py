"""The analytics screen's A/B and shadow-vs-live tabs: tables of the text rows that
`cockpit.analytics.present_extra` makes (the report writes the same rows)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from cockpit.analytics import present_extra as extra
from cockpit.analytics.snapshot import AnalyticsSnapshot

LEFT = {"Group", "Comparison", "Trade", "Still needed"}


def fill_table(
    table: DataTable[Text], columns: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """Replace the table's content; numbers right-aligned (padded: cells are not justified)."""
    table.clear(columns=True)
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    for column, width in zip(columns, widths, strict=True):
        table.add_column(column if column in LEFT else column.rjust(width), key=column)
    for row in rows:
        table.add_row(
            *(
                Text(v if c in LEFT else v.rjust(w))
                for c, v, w in zip(columns, row, widths, strict=True)
            )
        )


class ABPanel(Vertical):
    """Groups side by side, then each group against the baseline group with both p-values and
    the trades still needed per group."""

    def compose(self) -> ComposeResult:
        yield Static(id="ab-note")
        yield DataTable(id="ab-groups", cursor_type="row")
        yield DataTable(id="ab-tests", cursor_type="row")

    def show(self, snapshot: AnalyticsSnapshot) -> None:
        groups = extra.ab_group_rows(snapshot)
        note = (
            extra.ab_scope(snapshot)
            if groups
            else "Fewer than two A/B groups on the trades yet ([[ab]] assigns them)."
        )
        self.query_one("#ab-note", Static).update(note)
        fill_table(self.query_one("#ab-groups", DataTable), extra.AB_GROUP_COLUMNS, groups)
        fill_table(
            self.query_one("#ab-tests", DataTable),
            extra.AB_TEST_COLUMNS,
            extra.ab_test_rows(snapshot),
        )


class FidelityPanel(Vertical):
    """Each live trade's fills against their paper twins, and the total."""

    def compose(self) -> ComposeResult:
        yield Static(id="fidelity-note")
        yield DataTable(id="fidelity-table", cursor_type="row")

    def show(self, snapshot: AnalyticsSnapshot) -> None:
        rows = extra.fidelity_rows(snapshot)
        note = extra.FIDELITY_NOTE if rows else "No LIVE-SMALL fills yet."
        missing = extra.fidelity_missing(snapshot)
        if missing:
            note += "\n" + "\n".join(missing)
        self.query_one("#fidelity-note", Static).update(note)
        fill_table(self.query_one("#fidelity-table", DataTable), extra.FIDELITY_COLUMNS, rows)
