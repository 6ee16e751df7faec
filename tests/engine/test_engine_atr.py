"""Wilder ATR against a series computed by hand."""

from __future__ import annotations

import pytest

from cockpit.domain import Candle
from cockpit.engine.atr import true_ranges, wilder_atr, wilder_atr_series


def bar(high: float, low: float, close: float, i: int) -> Candle:
    return Candle("SOL-PERP", "15m", i * 900_000, (high + low) / 2, high, low, close, 1.0)


# Bar 4 gaps up from a close of 11 to a 13-14 range; bar 5 falls back to 10.
BARS = [
    bar(10.0, 8.0, 9.0, 0),  # TR = 10 - 8 = 2 (first bar: high - low)
    bar(11.0, 9.0, 10.5, 1),  # TR = max(2, |11 - 9| = 2, |9 - 9| = 0) = 2
    bar(12.0, 10.0, 11.0, 2),  # TR = max(2, |12 - 10.5| = 1.5, |10 - 10.5| = 0.5) = 2
    bar(14.0, 13.0, 13.5, 3),  # TR = max(1, |14 - 11| = 3, |13 - 11| = 2) = 3
    bar(13.0, 10.0, 11.0, 4),  # TR = max(3, |13 - 13.5| = 0.5, |10 - 13.5| = 3.5) = 3.5
]


def test_true_range_uses_the_previous_close_across_gaps() -> None:
    assert true_ranges(BARS) == [2.0, 2.0, 2.0, 3.0, 3.5]


def test_wilder_series_seeds_with_the_mean_then_smooths() -> None:
    # period 3: seed (2 + 2 + 2) / 3 = 2; then (2 x 2 + 3) / 3 = 7/3; then (7/3 x 2 + 3.5) / 3
    # = 49/18.
    assert wilder_atr_series(BARS, 3) == pytest.approx([2.0, 7 / 3, 49 / 18])
    assert wilder_atr(BARS, 3) == pytest.approx(49 / 18)


def test_period_one_is_the_last_true_range() -> None:
    assert wilder_atr(BARS, 1) == 3.5


def test_too_few_bars_give_no_atr_rather_than_a_guess() -> None:
    assert wilder_atr(BARS[:2], 3) is None
    assert wilder_atr([], 14) is None
    assert wilder_atr(BARS[:3], 3) == 2.0


def test_a_bad_period_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        wilder_atr(BARS, 0)
