"""Open positions, one row per trade, updated in place with keyed `update_cell`.

A frame costs what changed: each row's cells are kept as plain `Cell` values and compared per
refresh, only a cell whose text or look changed is written (and turned into a `Text`), and the
table draws only the cells written (`CellTable`).

On a narrow terminal columns give way in a fixed order (`GIVE_WAY`): the venue first, then the
excursions, ROE, TP2 ... ; the trade number, the stop, the P&L and the state never go.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from cockpit.domain import Mode, PositionState
from widgets.cell_table import CellTable
from widgets.formatting import Cell, money_cell, pct_cell, price_cell, size_cell

# (key, label, width): fixed widths so a row never makes the columns jump as values change.
# Cell padding is 0 and every width has one spare column as the gap: 16 columns fit 150 cells
# (State is wide enough for the venue's red labels: "no chain SL", "venue differs").
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "   #", 5),
    ("symbol", " Symbol", 11),
    ("side", "Side", 6),
    ("size", "Size", 9),
    ("entry", "Entry", 9),
    ("mark", "Mark", 9),
    ("upnl", "uPnL $", 8),
    ("move", "Move %", 8),
    ("roe", "ROE %", 8),
    ("mfe", "MFE %", 8),
    ("mae", "MAE %", 8),
    ("sl", "SL", 9),
    ("tp1", "TP1", 9),
    ("tp2", "TP2", 9),
    ("state", "  State", 16),
    ("venue", "Venue", 9),
)


# The order in which columns leave a narrow table, first to go first. Not listed (never go):
# the trade number, the unrealized P&L, the stop and the state (what a trader must always see).
GIVE_WAY: tuple[str, ...] = (
    "venue",
    "mae",
    "mfe",
    "roe",
    "tp2",
    "move",
    "size",
    "side",
    "entry",
    "tp1",
    "mark",
    "symbol",
)
NEVER_GO = frozenset(key for key, _, _ in COLUMNS) - set(GIVE_WAY)


def visible_columns(width: int) -> tuple[str, ...]:
    """The columns that fit `width` cells, in table order, dropping them in `GIVE_WAY` order."""
    widths = {key: w for key, _, w in COLUMNS}
    shown = [key for key, _, _ in COLUMNS]
    for key in GIVE_WAY:
        if sum(widths[k] for k in shown) <= width:
            break
        shown.remove(key)
    return tuple(shown)


ALERT_STYLE = "bold white on red"

Row = tuple[Cell, ...]
"""A position's cells in `COLUMNS` order."""


def position_row(pos: PositionState, mark: float | None, alert: str | None = None) -> Row:
    """Every cell of a position's row, as plain values. Move % is the price move; ROE % is on
    margin.

    `alert` is the venue's short red label for it (stop not on chain, venue differs, exit
    placed): it replaces the state, and a stop that is not on chain reddens the SL too."""
    stop = price_cell(pos.stop)
    if alert == "no chain SL":
        stop = stop.over(ALERT_STYLE)
    return (
        Cell("—" if pos.trade_id is None else f"#{pos.trade_id}", justify="right"),
        # ccxt's settle suffix (":USDT") says nothing the column needs and would not fit.
        Cell(" " + pos.symbol.split(":", 1)[0]),
        Cell(pos.side.value.upper(), "green" if pos.side.sign > 0 else "red"),
        size_cell(pos.size),
        price_cell(pos.entry),
        price_cell(mark),
        money_cell(pos.unrealized_pnl(mark) if mark is not None else None),
        pct_cell(pos.move_pct(mark) if mark is not None else None),
        pct_cell(pos.roe_pct(mark) if mark is not None else None),
        pct_cell(pos.mfe_pct),
        pct_cell(pos.mae_pct),
        stop,
        _level(pos.plan.tp1_price, pos.tp1_filled),
        _level(pos.plan.tp2_price, pos.tp2_filled),
        Cell(f"  {alert}", ALERT_STYLE) if alert else Cell(f"  {pos.state_label}"),
        Cell(pos.venue, "bold red" if pos.mode is Mode.LIVE_SMALL else "dim"),
    )


def position_cells(
    pos: PositionState, mark: float | None, alert: str | None = None
) -> dict[str, Text]:
    """Every cell of a position's row as the table shows it, by column key."""
    row = position_row(pos, mark, alert)
    return {key: cell.text() for (key, _, _), cell in zip(COLUMNS, row, strict=True)}


def _level(price: float | None, done: bool) -> Cell:
    cell = price_cell(price)
    return cell.over("dim strike") if done else cell


def row_key(pos: PositionState) -> str:
    return f"trade-{pos.trade_id}"


class PositionsTable(CellTable):
    """Adds, updates and removes rows so only changed cells are touched on each refresh.

    The columns shown depend on the table's width (`visible_columns`); a resize that changes
    them rebuilds the table from the cells it already holds, keeping the selected trade."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._columns: tuple[str, ...] = ()
        self._shown: dict[str, Row] = {}

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.cell_padding = 0
        self._lay_out(visible_columns(self._usable_width()))

    def _usable_width(self) -> int:
        # The region inside the border, less a vertical scrollbar's width should one appear.
        width = self.size.width or self.app.size.width - 2
        return width - self.styles.scrollbar_size_vertical

    def on_resize(self) -> None:
        wanted = visible_columns(self._usable_width())
        if wanted != self._columns:
            self._lay_out(wanted)

    def _lay_out(self, columns: tuple[str, ...]) -> None:
        selected = self.selected_trade_id
        self.clear(columns=True)
        self._columns = columns
        labels = {key: (label, width) for key, label, width in COLUMNS}
        for key in columns:
            label, width = labels[key]
            self.add_column(label, key=key, width=width)
        for key, row in self._shown.items():
            self.add_row(*_visible(row, columns), key=key)
        if selected is not None:
            self.select_trade(selected)

    @property
    def columns_shown(self) -> tuple[str, ...]:
        return self._columns

    def select_trade(self, trade_id: int) -> None:
        """Put the cursor on `trade_id`'s row (if it is listed)."""
        key = f"trade-{trade_id}"
        if key in self._shown:
            self.move_cursor(row=self.get_row_index(key))

    def sync(
        self,
        positions: list[PositionState],
        marks: dict[str, float],
        alerts: Mapping[int, str] | None = None,
    ) -> None:
        """Bring the table in line with `positions`; unchanged cells are not updated."""
        alerts = alerts or {}
        wanted = {row_key(p): p for p in positions if not p.closed}
        gone = [key for key in self._shown if key not in wanted]
        if gone:
            # The cursor is a row index: a row closing above it would move it onto another
            # trade. It stays on the trade it was on.
            selected = self.selected_trade_id
            for key in gone:
                self.remove_row(key)
                del self._shown[key]
            if selected is not None:
                self.select_trade(selected)
        columns = self._columns
        for key, pos in wanted.items():
            alert = alerts.get(pos.trade_id) if pos.trade_id is not None else None
            row = position_row(pos, marks.get(pos.symbol), alert)
            shown = self._shown.get(key)
            if shown is None:
                self.add_row(*_visible(row, columns), key=key)
            elif row != shown:
                for (column, _, _), new, old in zip(COLUMNS, row, shown, strict=True):
                    if new != old and column in columns:
                        self.update_cell(key, column, new.text())
            self._shown[key] = row

    @property
    def selected_trade_id(self) -> int | None:
        """Trade id of the row under the cursor, if any."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        number = key.removeprefix("trade-") if key else ""
        # A position whose trade row is not written yet (the database failing) has no number.
        return int(number) if number.isdigit() else None


def _visible(row: Row, columns: tuple[str, ...]) -> list[Text]:
    by_key = {key: cell for (key, _, _), cell in zip(COLUMNS, row, strict=True)}
    return [by_key[c].text() for c in columns]
