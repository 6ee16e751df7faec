"""A DataTable that draws a cell again only when that cell changed, and draws it quickly.

Textual's DataTable keys every cached cell on one count of all writes: a single `update_cell`
renders every cell of the table again, each through Rich's general renderer (~0.1-0.3 ms a
cell: a frame of ten changing rows cost 15-40 ms). Here each cell has a version, bumped when
that cell is written, and its rendering is kept until then; a one-line `Text` cell is drawn
straight into segments by the same Rich steps, without the general machinery around them.

A row's line is put together without DataTable's per-line walks of the DOM for its styles
(looked up once per render pass instead), and DataTable's own caches are kept short.

This leans on DataTable's private parts (`_render_cell`, `_render_line_in_row`, its caches;
Textual is pinned in uv.lock): `tests/ui/test_cell_table.py` checks every line against
DataTable's own drawing, so an upgrade that changes DataTable fails there, not on screen.
"""

from __future__ import annotations

import itertools
from collections import Counter

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

# A drawn cell: its row and column (the mouse reads them from the segments), the version of its
# value, and everything DataTable's own cell cache keys on but its table-wide write count.
_DrawKey = tuple[int, int, int, Style, int, bool, bool, bool, object]
_NULL = Style()
_JOIN = Text("\n")


def _key(key: RowKey | ColumnKey | str) -> str:
    return key if isinstance(key, str) else key.value or ""


def text_line(text: Text, width: int, console: Console) -> list[Segment] | None:
    """A one-line Text as `width` cells of segments, as Rich lays out a no-wrap Text in a cell
    (justify, then pad with a plain space); None when it needs more than that (wraps, tabs,
    too long, full justification)."""
    plain = text.plain
    if not plain or "\n" in plain or "\t" in plain or cell_len(plain) > width:
        return None
    justify = text.justify or "default"
    line = text.copy()
    if justify == "right":
        line.rstrip()
        line.pad_left(width - cell_len(line.plain))
    elif justify == "left":
        line.truncate(width, pad=True)
    elif justify == "center":
        line.rstrip()
        line.pad_left((width - cell_len(line.plain)) // 2)
        line.pad_right(width - cell_len(line.plain))
    elif justify != "default":
        return None
    # Rich joins the lines first, which turns the Text's own style into a span (`render` alone
    # would drop it).
    segments = list(_JOIN.join((line,)).render(console))
    return Segment.adjust_line_length(segments, width, style=_NULL, pad=True)


class CellTable(DataTable[Text]):
    """A DataTable of `Text` cells whose frames cost what changed.

    `cell_writes` counts the cells written per row key (tests and the benchmark read it)."""

    def __init__(self, *, id: str | None = None) -> None:
        # Before DataTable's own set-up: its watchers already clear the caches.
        self._drawn: LRUCache[_DrawKey, list[list[Segment]]] = LRUCache(1024)
        self._versions: dict[tuple[str, str], int] = {}
        # The mouse's metadata past a row's last cell, per row index (a Style made per line).
        self._beyond: dict[int, Style] = {}
        self._next_version = itertools.count(1)
        super().__init__(id=id)
        # DataTable's own caches are keyed on its write count, so they keep every line of every
        # frame until evicted (thousands of objects a second for the garbage collector to walk);
        # a table of a screen's height needs a few dozen.
        self._line_cache = LRUCache(128)
        self._row_render_cache = LRUCache(128)
        self._cell_render_cache = LRUCache(512)
        self.cell_writes: Counter[str] = Counter()

    def add_row(
        self,
        *cells: Text,
        height: int | None = 1,
        key: str | None = None,
        label: Text | str | None = None,
    ) -> RowKey:
        added = super().add_row(*cells, height=height, key=key, label=label)
        version = next(self._next_version)
        for column in self.columns:
            self._versions[(_key(added), _key(column))] = version
        return added

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Text,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        row = _key(row_key)
        self._versions[(row, _key(column_key))] = next(self._next_version)
        self.cell_writes[row] += 1

    def remove_row(self, row_key: RowKey | str) -> None:
        super().remove_row(row_key)
        row = _key(row_key)
        for column in self.columns:
            self._versions.pop((row, _key(column)), None)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        version = 0  # the header (and labels) change only with the columns: caches cleared
        row = column = None
        if row_index >= 0 and column_index >= 0:
            row = self._row_locations.get_key(row_index)
            column = self._column_locations.get_key(column_index)
            if row is not None and column is not None:
                version = self._versions.get((_key(row), _key(column)), 0)
        key: _DrawKey = (
            row_index,
            column_index,
            version,
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        lines = self._drawn.get(key)
        if lines is None:
            if row is not None and column is not None:
                lines = self._draw(
                    row, column, row_index, column_index, base_style, width, cursor, hover
                )
            if lines is None:
                lines = super()._render_cell(
                    row_index, column_index, base_style, width, cursor, hover
                )
            self._drawn[key] = lines
        return lines

    def _draw(
        self,
        row: RowKey,
        column: ColumnKey,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
    ) -> list[list[Segment]] | None:
        """A body cell drawn as DataTable's `_render_cell` draws it (Styled(Padding(cell)) into
        `width` cells), or None to leave it to DataTable (padding, fixed cells, taller rows)."""
        if self.cell_padding or row_index < self.fixed_rows or column_index < self.fixed_columns:
            return None
        if self.rows[row].height != 1:
            return None
        value = self.get_cell(row, column)
        if not isinstance(value, Text):
            return None
        line = text_line(value, width, self.app.console)
        if line is None:
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index})
        pre += component_style
        return [[Segment(text, pre + style + post_style) for text, style, _ in line]]

    # A row: DataTable looks up its component styles (walking the DOM for each) for every line
    # of every frame; here they are looked up once per render pass.

    def render_lines(self, crop: Region) -> list[Strip]:
        self._pass: dict[str, Style] | None = {}
        self._pass_widths: list[int] | None = None
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None
            self._pass_widths = None

    def _widths(self) -> list[int]:
        """The columns' widths, once per render pass (each is a reactive read of the padding
        and a sort of the columns when asked per line)."""
        widths: list[int] | None = getattr(self, "_pass_widths", None)
        if widths is None:
            widths = [column.get_render_width(self) for column in self.ordered_columns]
            if getattr(self, "_pass", None) is not None:
                self._pass_widths = widths
        return widths

    def _component_style(self, name: str) -> Style:
        memo: dict[str, Style] | None = getattr(self, "_pass", None)
        style: Style | None = None if memo is None else memo.get(name)
        if style is None:
            style = self.get_component_styles(name).rich_style
            if memo is not None:
                memo[name] = style
        return style

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        """DataTable's line of a row for a table with a row cursor, no labels and no fixed
        columns (what CellTable is used as); anything else is left to DataTable."""
        if self.cursor_type != "row" or self.fixed_columns or self._should_render_row_labels:
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        located = self._row_locations.get(row_key)
        row_index = -1 if located is None else located
        if row_index == -1:
            row_style = self._component_style("datatable--header")
        elif row_index < self.fixed_rows:
            row_style = self._component_style("datatable--fixed")
        elif self.zebra_stripes:
            odd = row_index % 2
            row_style = self._component_style(
                "datatable--odd-row" if odd else "datatable--even-row"
            )
        else:
            row_style = base_style
        cursor = cursor_location.row == row_index
        hover = hover_location.row == row_index
        widths = self._widths()
        row = [
            self._render_cell(row_index, index, row_style, width, cursor=cursor, hover=hover)[
                line_no
            ]
            for index, width in enumerate(widths)
        ]
        extend_style, _ = self._get_styles_to_render_cell(
            row_index == -1,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            False,
            False,
        )
        extend_style = row_style + extend_style
        beyond = self._beyond.get(row_index)
        if beyond is None:
            beyond = Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
            self._beyond[row_index] = beyond
        extend_style += beyond
        remaining = max(0, self.size.width - sum(widths) - self._row_label_column_width)
        row.append([Segment(" " * remaining, extend_style)])
        return [], row

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._drawn.clear()

    def notify_style_update(self) -> None:
        self._drawn.clear()
        super().notify_style_update()
