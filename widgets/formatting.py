"""Number formatting for the cockpit's cells: fixed decimals, signs, colours, right-aligned.

Cells are pre-formatted `Text` so the table never re-measures or re-styles on refresh.
"""

from __future__ import annotations

import math

from rich.text import Text

MISSING = Text("—", style="dim", justify="right")


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


def fmt_price(price: float | None) -> Text:
    """A price cell; None or a level no price can reach (an adopted position's +/-inf target,
    its 0 stop) shows as a dash."""
    if price is None or not 0 < price < math.inf:
        return MISSING
    return Text(price_text(price), justify="right")


def fmt_size(size: float) -> Text:
    return Text(f"{size:,.4f}", justify="right")


def signed_style(value: float) -> str:
    if value > 0:
        return "green"
    if value < 0:
        return "red"
    return ""


def fmt_money(value: float | None) -> Text:
    if value is None:
        return MISSING
    return Text(f"{value:+,.2f}", style=signed_style(value), justify="right")


def fmt_pct(value: float | None) -> Text:
    if value is None:
        return MISSING
    return Text(f"{value:+.2f}%", style=signed_style(value), justify="right")
