"""Closing bars on rollover exactly once, filtering repeated and late trades, and the backoff."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.backoff import Backoff
from adapters.candle_builder import CandleCloser, TradeFilter
from cockpit.domain import Candle

M = 60_000


def bar(ts: int, close: float = 100.0, volume: float = 1.0) -> Candle:
    return Candle("S", "1m", ts, 100.0, max(100.0, close), min(100.0, close), close, volume)


def test_a_bar_closes_when_a_later_one_starts_and_only_once() -> None:
    closer = CandleCloser("S", "1m")
    assert closer.update(bar(0, 101.0)) is None
    assert closer.update(bar(0, 102.0, 2.0)) is None  # the same bar, updated
    closed = closer.update(bar(M, 100.5))
    assert closed is not None and closed.candle == bar(0, 102.0, 2.0) and not closed.after_gap
    assert closer.update(bar(0, 99.0)) is None  # a late update of a closed bar: ignored
    assert closer.update(bar(M, 100.7)) is None
    assert closer.ignored == 1
    closer.interrupted()
    closed = closer.update(bar(3 * M))
    assert closed is not None and closed.candle.ts_ms == M and closed.after_gap
    closed = closer.update(bar(4 * M))
    assert closed is not None and not closed.after_gap


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=80))
def test_any_order_of_updates_closes_each_bar_at_most_once_in_time_order(
    minutes: list[int],
) -> None:
    closer = CandleCloser("S", "1m")
    closed = [c.candle.ts_ms for m in minutes if (c := closer.update(bar(m * M))) is not None]
    assert closed == sorted(set(closed))


def test_trade_filter_numeric_ids() -> None:
    f = TradeFilter()
    assert f.accept("10", 1000)
    assert f.accept("11", 1000)  # same millisecond, new id
    assert not f.accept("11", 1000)  # repeated
    assert not f.accept("9", 999)  # late
    assert f.accept("12", 1001)
    assert (f.duplicates, f.late) == (1, 1)


def test_trade_filter_uuid_ids_and_time() -> None:
    f = TradeFilter(window=2)
    assert f.accept("a", 1000)
    assert not f.accept("a", 1000)
    assert f.accept("b", 1001)
    assert not f.accept("c", 999)  # older than the newest taken
    assert f.accept("c", 1002)
    assert f.accept("d", 1003)
    assert f.accept("a", 1004)  # fell out of the window; time still moves forward
    assert f.duplicates == 1 and f.late == 1


def test_backoff_doubles_to_the_cap_with_jitter_and_resets() -> None:
    b = Backoff(1.0, 8.0, jitter=0.2, rng=random.Random(3))
    delays = [b.next_delay() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert 0.8 * base <= delay <= base
    assert b.failures == 6
    b.reset()
    assert b.next_delay() <= 1.0
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)
