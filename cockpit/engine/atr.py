"""Average True Range, Wilder's way: the volatility yardstick the ATR-based policies scale by.

True range of bar i: max(high - low, |high - prev close|, |low - prev close|); the first bar has
no previous close, so its true range is high - low. Wilder's ATR seeds with the plain mean of the
first `period` true ranges and then smooths: ATR_t = (ATR_{t-1} x (period - 1) + TR_t) / period.
This is the definition TradingView's `ta.atr` and TA-Lib's ATR use, so a trader can check the
cockpit's number against their chart (TA-Lib skips bar 0's high - low; with enough bars the two
converge, and the tests pin ours against a hand-computed series).

Pure functions over `Candle`s: the session fetches bars from the feed and passes them in, so the
engine stays free of I/O. A forming (not yet closed) bar must not be passed: its range is still
growing, and an ATR that changes with every tick would make the frozen plan irreproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cockpit.domain import Candle


def true_ranges(candles: Sequence[Candle]) -> list[float]:
    """True range of every bar, the first one's being its high - low."""
    ranges: list[float] = []
    prev_close: float | None = None
    for bar in candles:
        if prev_close is None:
            ranges.append(bar.high - bar.low)
        else:
            ranges.append(
                max(bar.high - bar.low, abs(bar.high - prev_close), abs(bar.low - prev_close))
            )
        prev_close = bar.close
    return ranges


def wilder_atr_series(candles: Sequence[Candle], period: int = 14) -> list[float]:
    """ATR after each bar from bar `period - 1` on (empty if there are fewer bars than that).

    Element k is the ATR as of bar `period - 1 + k`.
    """
    if period < 1:
        raise ValueError(f"ATR period must be at least 1, got {period}")
    ranges = true_ranges(candles)
    if len(ranges) < period:
        return []
    atr = math.fsum(ranges[:period]) / period
    series = [atr]
    for tr in ranges[period:]:
        atr = (atr * (period - 1) + tr) / period
        series.append(atr)
    return series


def wilder_atr(candles: Sequence[Candle], period: int = 14) -> float | None:
    """The ATR as of the last bar, or None when there are fewer than `period` bars.

    None rather than an estimate from fewer bars: a policy that sizes targets by ATR must refuse
    a trade it cannot plan properly, and say why (see `engine.policy.PlanRefused`).
    """
    series = wilder_atr_series(candles, period)
    return series[-1] if series else None
