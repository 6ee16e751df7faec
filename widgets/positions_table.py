"""Open positions, one row per trade, updated in place with keyed `update_cell`.

On a narrow terminal columns give way in a fixed order (`GIVE_WAY`): the venue first, then the
excursions, ROE, TP2 ... ; the trade number, the stop, the P&L and the state never go.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable

from cockpit.domain import Mode, PositionState
from widgets.formatting import fmt_money, fmt_pct, fmt_price, fmt_size

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


def position_cells(
    pos: PositionState, mark: float | None, alert: str | None = None
) -> dict[str, Text]:
    """Every cell of a position's row, formatted. Move % is the price move; ROE % is on margin.

    `alert` is the venue's short red label for it (stop not on chain, venue differs, exit
    placed): it replaces the state, and a stop that is not on chain reddens the SL too."""
    side_style = "green" if pos.side.sign > 0 else "red"
    stop = fmt_price(pos.stop)
    if alert == "no chain SL":
        stop = stop.copy()
        stop.stylize(ALERT_STYLE)
    return {
        "id": Text("—" if pos.trade_id is None else f"#{pos.trade_id}", justify="right"),
        # ccxt's settle suffix (":USDT") says nothing the column needs and would not fit.
        "symbol": Text(" " + pos.symbol.split(":", 1)[0]),
        "side": Text(pos.side.value.upper(), style=side_style),
        "size": fmt_size(pos.size),
        "entry": fmt_price(pos.entry),
        "mark": fmt_price(mark),
        "upnl": fmt_money(pos.unrealized_pnl(mark) if mark is not None else None),
        "move": fmt_pct(pos.move_pct(mark) if mark is not None else None),
        "roe": fmt_pct(pos.roe_pct(mark) if mark is not None else None),
        "mfe": fmt_pct(pos.mfe_pct),
        "mae": fmt_pct(pos.mae_pct),
        "sl": stop,
        "tp1": _level(pos.plan.tp1_price, pos.tp1_filled),
        "tp2": _level(pos.plan.tp2_price, pos.tp2_filled),
        "state": Text(f"  {alert}", style=ALERT_STYLE) if alert else Text(f"  {pos.state_label}"),
        "venue": Text(pos.venue, style="bold red" if pos.mode is Mode.LIVE_SMALL else "dim"),
    }


def _level(price: float | None, done: bool) -> Text:
    text = fmt_price(price)
    if done:
        text = text.copy()
        text.stylize("dim strike")
    return text


def row_key(pos: PositionState) -> str:
    return f"trade-{pos.trade_id}"


class PositionsTable(DataTable[Text]):
    """Adds, updates and removes rows so only changed cells are touched on each refresh.

    The columns shown depend on the table's width (`visible_columns`); a resize that changes
    them rebuilds the table from the cells it already holds, keeping the selected trade."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.cell_padding = 0
        self._columns: tuple[str, ...] = ()
        self._shown: dict[str, dict[str, Text]] = {}
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
        for key, cells in self._shown.items():
            self.add_row(*(cells[c] for c in columns), key=key)
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
        for key in list(self._shown):
            if key not in wanted:
                self.remove_row(key)
                del self._shown[key]
        for key, pos in wanted.items():
            alert = alerts.get(pos.trade_id) if pos.trade_id is not None else None
            cells = position_cells(pos, marks.get(pos.symbol), alert)
            shown = self._shown.get(key)
            if shown is None:
                self.add_row(*(cells[c] for c in self._columns), key=key)
                self._shown[key] = cells
                continue
            for column, value in cells.items():
                if shown[column] != value:
                    if column in self._columns:
                        self.update_cell(key, column, value)
                    shown[column] = value

    @property
    def selected_trade_id(self) -> int | None:
        """Trade id of the row under the cursor, if any."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        number = key.removeprefix("trade-") if key else ""
        # A position whose trade row is not written yet (the database failing) has no number.
        return int(number) if number.isdigit() else None
