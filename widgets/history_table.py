"""Closed trades, newest first: what survives a restart and feeds the analytics later."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.text import Text
from textual.widgets import DataTable

from widgets.formatting import fmt_money, fmt_price


class ClosedTrade(Protocol):
    """What the table needs of a closed trade (the store's TradeSummary fits)."""

    @property
    def id(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def entry_price(self) -> float: ...
    @property
    def exit_price(self) -> float | None: ...
    @property
    def realized_pnl(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def exit_reason(self) -> str | None: ...


# What a narrow panel must show comes first (the rest scrolls): number, net result, why it ended.
HISTORY_COLUMNS = ("#", "Symbol", "Side", "Net $", "Reason", "Entry", "Exit")


class HistoryTable(DataTable[Text]):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        for label in HISTORY_COLUMNS:
            self.add_column(label, key=label)

    def show(self, trades: Sequence[ClosedTrade]) -> None:
        self.clear()
        for trade in trades:
            self.add_row(
                Text(str(trade.id), justify="right"),
                Text(trade.symbol),
                Text(trade.side.upper(), style="green" if trade.side == "long" else "red"),
                fmt_money(trade.realized_pnl - trade.fees),
                Text(trade.exit_reason or ""),
                fmt_price(trade.entry_price),
                fmt_price(trade.exit_price),
                key=str(trade.id),
            )

    @property
    def selected_trade_id(self) -> int | None:
        """Trade number of the row under the cursor, if any."""
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return int(key) if key and key.isdigit() else None
