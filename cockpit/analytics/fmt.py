"""Text for analytics numbers, shared by the gates, the analytics screen and the report.

One set of formatters is what makes "the report says the same as the screen" true by
construction. An undefined value (None) is always written "n/a".
"""

from __future__ import annotations

NA = "n/a"


def usd(value: float | None) -> str:
    """Signed dollars with cents: +12.34, -0.37."""
    return NA if value is None else f"{value:+,.2f}"


def plain_usd(value: float | None) -> str:
    """Unsigned dollars with cents (sizes of things, e.g. a drawdown): 12.34."""
    return NA if value is None else f"{value:,.2f}"


def pct(value: float | None, decimals: int = 1) -> str:
    """A value already in percent: 54.0%."""
    return NA if value is None else f"{value:.{decimals}f}%"


def share(value: float | None, decimals: int = 1) -> str:
    """A fraction shown as percent: 0.54 -> 54.0%."""
    return NA if value is None else f"{100.0 * value:.{decimals}f}%"


def ratio(value: float | None, decimals: int = 2) -> str:
    return NA if value is None else f"{value:.{decimals}f}"


def times(value: float | None, decimals: int = 2) -> str:
    """A multiple: 2.31x."""
    return NA if value is None else f"{value:.{decimals}f}x"


def signed_pct(value: float | None, decimals: int = 1) -> str:
    """A change in percent: +31.0%."""
    return NA if value is None else f"{value:+.{decimals}f}%"


def p_value(value: float | None) -> str:
    """A p-value: two decimals from 0.01 up (0.10), three below (0.005), then "<0.001"."""
    if value is None:
        return NA
    if value >= 0.01:
        return f"{value:.2f}"
    if value >= 0.001:
        return f"{value:.3f}"
    return "<0.001"
