"""Drift's integer units: precisions, conversions, and rounding to the market's step and tick."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from cockpit.domain import Side

VENUE = "drift"
PRICE_PRECISION = 10**6
QUOTE_PRECISION = 10**6
BASE_PRECISION = 10**9
MAX_USER_ORDER_ID = 255
"""Drift's user_order_id is a u8; 0 means "none", so the cockpit uses 1..255."""


def variant(value: Any) -> str:
    """The name of a driftpy/anchorpy enum variant (``Open``, ``TriggerMarket``, ``Long``).

    Accounts decoded by anchorpy and driftpy's own types are different classes with the same
    variant names, so comparisons go by name (as driftpy's `is_variant` does).
    """
    return type(value).__name__


def to_base(size: float) -> Decimal:
    return Decimal(repr(size)) * BASE_PRECISION


def base_to_float(amount: int) -> float:
    return amount / BASE_PRECISION


def price_to_float(amount: int) -> float:
    return amount / PRICE_PRECISION


def floor_to_step(amount: Decimal, step: int) -> int:
    """Round a base amount down to a multiple of the market's order step (never up)."""
    if step <= 0:
        return int(amount.to_integral_value(ROUND_FLOOR))
    return int((amount / step).to_integral_value(ROUND_FLOOR)) * step


def trigger_to_int(price: float, side: Side, tick: int) -> int:
    """A stop price in PRICE_PRECISION, on the market's tick, rounded toward the position:
    up for a long's stop, down for a short's, so rounding never loosens a stop."""
    raw = Decimal(repr(price)) * PRICE_PRECISION
    tick = max(tick, 1)
    rounding = ROUND_CEILING if side is Side.LONG else ROUND_FLOOR
    return int((raw / tick).to_integral_value(rounding)) * tick
