"""Candle input: the path through a bar, stop-first ambiguity, fills at levels and opens."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.domain import Candle, ExitReason, Side
from cockpit.engine.bars import bar_prices
from tests.engine.engine_sim import default_position, ohlc, run, run_bars

# The default fixed plan at entry 100: long SL 98.5, BE trigger 100.5, lock trigger 101.2 ->
# 100.4, TP1 101.5 (75 %), TP2 103 (25 %).


def test_a_bar_touching_stop_and_target_fills_the_stop_first_and_is_counted() -> None:
    pos = default_position(Side.LONG)
    # Up bar (close > open) whose low reaches the stop and whose high reaches TP1.
    r = run_bars(pos, [ohlc(100.0, 101.8, 98.0, 101.0)])
    assert [(c.reason, c.trigger_price) for c in r.closes] == [(ExitReason.STOP_LOSS, 98.5)]
    assert pos.closed and pos.ambiguous_bars == 1
    assert pos.realized_pnl == pytest.approx(-1.5)


def test_pessimistic_even_when_the_neutral_path_would_be_favorable_first() -> None:
    # A down bar runs open -> high -> low; for a long that reaches TP1 first. The ambiguity
    # rule overrides the neutral path: the stop is assumed first.
    pos = default_position(Side.LONG)
    run_bars(pos, [ohlc(100.0, 101.8, 98.0, 99.0)])
    assert pos.closed and pos.realized_pnl == pytest.approx(-1.5)


def test_optimistic_setting_takes_the_target_first_and_still_counts() -> None:
    pos = default_position(Side.LONG)
    r = run_bars(pos, [ohlc(100.0, 101.8, 98.0, 101.0)], optimistic=True)
    # TP1 at its level (75 %), stop to breakeven, the high 101.8 passes the lock trigger
    # (101.2): stop 100.4. Then the low takes the rest at the lock.
    assert [(c.reason, c.trigger_price) for c in r.closes] == [
        (ExitReason.TP1, pytest.approx(101.5)),
        (ExitReason.PROFIT_LOCK, pytest.approx(100.4)),
    ]
    assert pos.ambiguous_bars == 1


def test_a_bar_opening_through_the_stop_fills_at_the_open_not_the_stop() -> None:
    pos = default_position(Side.LONG)
    r = run_bars(pos, [ohlc(97.0, 102.0, 96.0, 101.0)])
    assert [(c.reason, c.trigger_price) for c in r.closes] == [(ExitReason.STOP_LOSS, 97.0)]
    assert pos.ambiguous_bars == 0  # the open settled it


def test_targets_fill_at_their_levels_and_a_later_stop_sees_the_moved_stop() -> None:
    pos = default_position(Side.SHORT)
    # Short at 100: TP1 98.5, TP2 97, SL 101.5. Down bar: open -> high 100.2 -> low 97.5 ->
    # close 99. TP1 fills at 98.5 on the way down (stop to BE 100, lock trigger 98.8 -> 99.6);
    # the close at 99 does not reach 99.6. Next bar's high 99.8 stops the rest at the lock.
    r = run_bars(pos, [ohlc(99.9, 100.2, 97.5, 99.0, 0), ohlc(99.0, 99.8, 99.0, 99.5, 1)])
    assert [(c.reason, c.trigger_price) for c in r.closes] == [
        (ExitReason.TP1, 98.5),
        (ExitReason.PROFIT_LOCK, 99.6),
    ]
    assert pos.mfe_pct == pytest.approx(2.5)  # the low 97.5 was seen
    assert pos.ambiguous_bars == 0


def test_a_quiet_bar_only_updates_extremes() -> None:
    pos = default_position(Side.LONG)
    r = run_bars(pos, [ohlc(100.0, 100.3, 99.6, 100.1)])
    assert (
        r.actions == [] and pos.mfe_pct == pytest.approx(0.3) and pos.mae_pct == pytest.approx(-0.4)
    )


def test_a_closed_position_yields_nothing() -> None:
    pos = default_position(Side.LONG)
    run_bars(pos, [ohlc(100.0, 100.0, 98.0, 98.0)])
    assert pos.closed
    assert list(bar_prices(pos, ohlc(98.0, 103.0, 90.0, 95.0))) == []


@settings(max_examples=200, deadline=None)
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    moves=st.lists(st.floats(-2.0, 4.0), min_size=1, max_size=40),
)
def test_ticks_and_single_price_bars_give_the_same_result(side: Side, moves: list[float]) -> None:
    prices = [round(100.0 + side.sign * m, 3) for m in moves]
    by_tick = default_position(side)
    by_bar = default_position(side)
    run(by_tick, prices)
    run_bars(
        by_bar,
        [Candle("SOL-PERP", "1m", 60_000 * (i + 1), p, p, p, p, 0.0) for i, p in enumerate(prices)],
    )
    assert by_bar == replace(by_tick)


@settings(max_examples=200, deadline=None)
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    bars=st.lists(
        st.tuples(
            st.floats(-2.0, 4.0), st.floats(0.0, 2.0), st.floats(0.0, 2.0), st.floats(0.0, 1.0)
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_bars_never_fill_beyond_a_level_except_at_the_open(
    side: Side, bars: list[tuple[float, float, float, float]]
) -> None:
    candles = []
    for i, (mid, up, down, frac) in enumerate(bars):
        o = 100.0 + mid
        h, lo = o + up, o - down
        candles.append(
            Candle("SOL-PERP", "1m", 60_000 * (i + 1), o, h, lo, lo + frac * (h - lo), 0.0)
        )
    pos = default_position(side)
    r = run_bars(pos, candles)
    opens = {c.open for c in candles}
    plan = pos.plan
    for close in r.closes:
        if close.trigger_price in opens:
            continue
        if close.reason in (ExitReason.TP1, ExitReason.TP2):
            assert close.trigger_price in (plan.tp1_price, plan.tp2_price)
        else:  # a stop fills at a stop level the position actually had
            assert close.trigger_price in r.stops or close.trigger_price == plan.stop_loss
    assert sum(c.size for c in r.closes) <= 1.0 + 1e-9
