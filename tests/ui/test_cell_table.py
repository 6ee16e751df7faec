"""CellTable draws every cell exactly as Textual's DataTable does, only less often.

Two tables side by side in a real app under Pilot, one a plain DataTable and one a CellTable,
with the same rows (every kind of cell the positions table shows: right-aligned numbers, a dim
dash, coloured text, a struck-through level, red alerts, a too-long and a two-line cell); their
rendered lines must be identical after writes, with the cursor on different rows, focused or not.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable

from tests.waiting import pilot_until
from widgets.cell_table import CellTable
from widgets.formatting import MISSING_CELL, Cell, money_cell, pct_cell, price_cell

COLUMNS = (("a", 5), ("b", 9), ("c", 8), ("d", 9), ("e", 16), ("f", 6))


def rows() -> list[list[Text]]:
    return [
        [
            Cell("#1", justify="right").text(),
            price_cell(100.05).text(),
            money_cell(-1.5).text(),
            price_cell(99.0).over("dim strike").text(),
            Cell("  breakeven").text(),
            Cell("LONG", "green").text(),
        ],
        [
            Cell("#2", justify="right").text(),
            MISSING_CELL.text(),
            pct_cell(0.25).text(),
            price_cell(98.5).over("bold white on red").text(),
            Cell("  no chain SL", "bold white on red").text(),
            Cell("mid", justify="center").text(),
        ],
        [
            Cell("—", justify="right").text(),
            Cell("far too long for it", justify="right").text(),
            Text("two\nlines"),
            Cell(" left", justify="left").text(),
            Cell("paper", "dim").text(),
            Text("tab\there"),
        ],
    ]


class Pair(App[None]):
    CSS = "DataTable { height: 6; width: 60; }"
    AUTO_FOCUS = None

    def __init__(self, padding: int) -> None:
        super().__init__()
        self.padding = padding

    def compose(self) -> ComposeResult:
        yield DataTable[Text](id="plain")
        yield CellTable(id="cells")

    def on_mount(self) -> None:
        for table in self.tables():
            table.cursor_type = "row"
            table.zebra_stripes = True
            table.cell_padding = self.padding
            for key, width in COLUMNS:
                table.add_column(key.upper(), key=key, width=width)
            for i, row in enumerate(rows()):
                table.add_row(*row, key=f"r{i}")

    def tables(self) -> tuple[DataTable[Text], CellTable]:
        return self.query_one("#plain", DataTable), self.query_one(CellTable)


def lines(table: DataTable[Text]) -> list[list[Segment]]:
    width, height = table.size
    strips = table.render_lines(Region(0, 0, width, height))
    return [list(strip.simplify()) for strip in strips]


def same(app: Pair) -> Callable[[], bool]:
    plain, cells = app.tables()
    return lambda: lines(plain) == lines(cells)


@pytest.mark.parametrize("padding", [0, 1])
async def test_cells_are_drawn_exactly_as_datatable_draws_them(padding: int) -> None:
    app = Pair(padding)
    async with app.run_test(size=(70, 14)) as pilot:
        plain, cells = app.tables()
        await pilot_until(pilot, lambda: plain.row_count == cells.row_count == 3)
        assert lines(plain) == lines(cells)
        assert any("100.050" in seg.text for line in lines(cells) for seg in line)
        for table in (plain, cells):
            table.update_cell("r0", "b", price_cell(100.125).text())
            table.update_cell("r1", "c", pct_cell(-0.5).text())
            table.move_cursor(row=2)
        await pilot.pause()
        assert lines(plain) == lines(cells)
        assert any("100.125" in seg.text for line in lines(cells) for seg in line)
        # focused (the cursor's colour changes with focus)
        plain.focus()
        await pilot.pause()
        focused_plain = lines(plain)
        cells.focus()
        await pilot.pause()
        assert lines(cells) == focused_plain


async def test_a_write_redraws_that_cell_only() -> None:
    """After one write, the table draws one new cell; the others come from its cache. Counted
    through DataTable's own (slow) cell renderer, which CellTable calls only for what it cannot
    draw itself: the header, the too-long, two-line and tab cells."""
    app = Pair(0)
    async with app.run_test(size=(70, 14)) as pilot:
        _, cells = app.tables()
        await pilot_until(pilot, lambda: cells.row_count == 3)
        lines(cells)
        drawn: list[tuple[int, int]] = []
        slow = DataTable._render_cell

        def counting(table: DataTable[Text], row: int, column: int, *a: object) -> object:
            drawn.append((row, column))
            return slow(table, row, column, *a)  # type: ignore[arg-type]

        DataTable._render_cell = counting  # type: ignore[method-assign,assignment]
        try:
            lines(cells)
            assert drawn == []  # nothing changed: all from the cache
            cells.update_cell("r0", "b", price_cell(101.5).text())
            assert any("101.500" in seg.text for line in lines(cells) for seg in line)
            assert drawn == []  # a one-line cell: drawn without DataTable's renderer
            cells.update_cell("r2", "b", Cell("still far too long", justify="right").text())
            lines(cells)
            assert drawn == [(2, 1)]
            assert cells.cell_writes == {"r0": 1, "r2": 1}
        finally:
            DataTable._render_cell = slow  # type: ignore[method-assign]
