"""Number formatting for the cockpit's cells: fixed decimals, signs, colours, right-aligned.

A cell is first a `Cell` of plain values (text, style, alignment): cheap to make and to compare on
every frame, and turned into a Rich `Text` only when it changed, so the tables never re-measure or
re-style a value that stayed the same.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from rich.console import JustifyMethod
from rich.text import Text


class Cell(NamedTuple):
    """What a table cell shows, as plain values (hashable, compared per frame)."""

    plain: str
    style: str = ""
    justify: JustifyMethod | None = None
    overlay: str = ""
    """A style laid over the text itself, not its padding (a filled target struck through)."""

    def text(self) -> Text:
        text = Text(self.plain, style=self.style, justify=self.justify)
        if self.overlay:
            text.stylize(self.overlay)
        return text

    def over(self, overlay: str) -> Cell:
        return self._replace(overlay=overlay)


MISSING_CELL = Cell("—", "dim", "right")
MISSING = MISSING_CELL.text()


def price_decimals(price: float) -> int:
    """Enough decimals to see a tick move, and a BTC price still fits 8 characters."""
    if price < 10:
        return 4
    if price < 1000:
        return 3
    if price < 10_000:
        return 2
    return 1


def price_text(price: float) -> str:
    """No thousands separator: a BTC price must fit the same 9-character column as SOL's."""
    return f"{price:.{price_decimals(price)}f}"


def price_cell(price: float | None) -> Cell:
    """A price; None or a level no price can reach (an adopted position's +/-inf target, its 0
    stop) shows as a dash."""
    if price is None or not 0 < price < math.inf:
        return MISSING_CELL
    return Cell(price_text(price), justify="right")


def size_cell(size: float) -> Cell:
    return Cell(f"{size:,.4f}", justify="right")


def signed_style(value: float) -> str:
    if value > 0:
        return "green"
    if value < 0:
        return "red"
    return ""


def money_cell(value: float | None) -> Cell:
    if value is None:
        return MISSING_CELL
    return Cell(f"{value:+,.2f}", signed_style(value), "right")


def pct_cell(value: float | None) -> Cell:
    if value is None:
        return MISSING_CELL
    return Cell(f"{value:+.2f}%", signed_style(value), "right")


def fmt_price(price: float | None) -> Text:
    return price_cell(price).text()


def fmt_size(size: float) -> Text:
    return size_cell(size).text()


def fmt_money(value: float | None) -> Text:
    return money_cell(value).text()


def fmt_pct(value: float | None) -> Text:
    return pct_cell(value).text()
