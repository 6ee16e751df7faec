"""Scenario tests: hand-made price paths through the default `fixed` policy, long and short.

Paths are written as favorable moves in percent and turned into prices per side (`at`), so every
scenario runs for both sides with the same expectations: a short is a long in a mirror.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from cockpit.domain import (
    Action,
    Close,
    ExitReason,
    Fill,
    MoveStop,
    OrderSide,
    PositionState,
    Side,
    StopRole,
    TargetState,
)
from cockpit.engine.exits import (
    MoveReason,
    apply_fill,
    on_price,
    rearm,
    remaining_after,
    tightens,
)
from cockpit.engine.policy import build_plan
from tests.engine.engine_sim import ENTRY, at, default_position, fill_for, new_position, run

SIDES = pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])


@SIDES
def test_stop_loss_at_minus_1_5_pct_closes_everything(side: Side) -> None:
    pos = default_position(side, size=2.0)
    result = run(pos, [at(side, 0.3), at(side, -1.0), at(side, -1.49)])
    assert result.actions == []
    actions = on_price(pos, at(side, -1.5), 10)
    stop_close = Close(2.0, ExitReason.STOP_LOSS, at(side, -1.5))
    assert actions == [stop_close]
    apply_fill(pos, fill_for(pos, stop_close, 10))
    assert pos.closed
    assert pos.size == 0.0
    assert pos.realized_pnl == pytest.approx(-0.015 * ENTRY * 2.0)


@SIDES
def test_breakeven_move_then_stop_out_at_entry(side: Side) -> None:
    pos = default_position(side)
    initial_stop = pos.stop
    result = run(pos, [at(side, 0.3), at(side, 0.5), at(side, 0.2), at(side, 0.0)])
    assert result.ticks[0] == []
    assert result.ticks[1] == [
        MoveStop(initial_stop, ENTRY, StopRole.BREAKEVEN, MoveReason.BREAKEVEN_TRIGGER)
    ]
    assert result.ticks[2] == []
    assert result.ticks[3] == [Close(1.0, ExitReason.BREAKEVEN, ENTRY)]
    assert pos.closed
    assert pos.realized_pnl == 0.0


@SIDES
def test_profit_lock_then_exit_at_plus_0_4_pct(side: Side) -> None:
    pos = default_position(side)
    lock = pos.plan.profit_lock_stop
    assert lock == pytest.approx(at(side, 0.4))
    result = run(pos, [at(side, 0.5), at(side, 1.2), at(side, 0.6), at(side, 0.41), lock])
    assert [m.role for m in result.moves] == [StopRole.BREAKEVEN, StopRole.PROFIT_LOCK]
    assert result.ticks[1] == [
        MoveStop(ENTRY, lock, StopRole.PROFIT_LOCK, MoveReason.PROFIT_LOCK_TRIGGER)
    ]
    assert result.ticks[2] == result.ticks[3] == []
    assert result.ticks[4] == [Close(1.0, ExitReason.PROFIT_LOCK, lock)]
    assert pos.realized_pnl == pytest.approx(0.004 * ENTRY)


@SIDES
def test_one_gap_past_breakeven_and_profit_lock_moves_twice_in_order(side: Side) -> None:
    pos = default_position(side)
    actions = on_price(pos, at(side, 1.3), 1)
    assert [(a.role, a.reason) for a in actions if isinstance(a, MoveStop)] == [
        (StopRole.BREAKEVEN, MoveReason.BREAKEVEN_TRIGGER),
        (StopRole.PROFIT_LOCK, MoveReason.PROFIT_LOCK_TRIGGER),
    ]
    assert pos.stop == pos.plan.profit_lock_stop


@SIDES
def test_tp1_fill_moves_the_stop_to_breakeven_not_the_decision(side: Side) -> None:
    """The stop follows TP1's fill: a TP1 that was sent but not filled moves nothing."""
    plan = default_position(side).plan
    plan = replace(plan, breakeven_trigger=at(side, 5.0), profit_lock_trigger=at(side, 6.0))
    pos = new_position(plan)
    initial_stop = pos.stop
    tp1 = at(side, 1.5)
    assert on_price(pos, tp1, 1) == [Close(0.75, ExitReason.TP1, tp1)]
    assert pos.stop == initial_stop and pos.tp1_state is TargetState.SENT
    moves = apply_fill(pos, fill_for(pos, Close(0.75, ExitReason.TP1, tp1), 1))
    assert moves == [MoveStop(initial_stop, ENTRY, StopRole.BREAKEVEN, MoveReason.TP1)]
    assert pos.stop == ENTRY and pos.tp1_filled


@SIDES
def test_a_tp1_that_failed_is_rearmed_with_nothing_else_changed(side: Side) -> None:
    plan = default_position(side).plan
    plan = replace(plan, breakeven_trigger=at(side, 5.0), profit_lock_trigger=at(side, 6.0))
    pos = new_position(plan)
    before = (pos.stop, pos.stop_role, pos.trailing_active, pos.peak)
    tp1 = at(side, 1.5)
    assert on_price(pos, tp1, 1) == [Close(0.75, ExitReason.TP1, tp1)]
    rearm(pos, ExitReason.TP1.value)
    assert pos.tp1_state is TargetState.ARMED
    assert (pos.stop, pos.stop_role, pos.trailing_active, pos.peak) == before
    assert on_price(pos, tp1, 2) == [Close(0.75, ExitReason.TP1, tp1)]  # tried again


@SIDES
def test_tp1_closes_exactly_75_pct_and_moves_stop_to_breakeven(side: Side) -> None:
    pos = default_position(side, size=2.0)
    initial_stop = pos.stop
    tp1 = at(side, 1.5)
    actions = on_price(pos, tp1, 1)  # a jump from entry: the stop is still the plain stop loss
    assert actions == [
        Close(1.5, ExitReason.TP1, tp1),
        # +1.5 % is past both triggers, so the same tick moves to breakeven and locks +0.4 %.
        MoveStop(initial_stop, ENTRY, StopRole.BREAKEVEN, "breakeven_trigger"),
        MoveStop(ENTRY, pos.plan.profit_lock_stop, StopRole.PROFIT_LOCK, "profit_lock_trigger"),
    ]
    assert pos.tp1_state is TargetState.SENT and not pos.tp1_filled and not pos.tp2_filled
    assert pos.size == 2.0  # decided, not filled: sizes change only through apply_fill
    assert remaining_after(actions, pos) == 0.5
    # The fill books TP1; its breakeven move is moot here (the lock is tighter already).
    assert apply_fill(pos, fill_for(pos, Close(1.5, ExitReason.TP1, tp1), 1)) == []
    assert pos.tp1_state is TargetState.FILLED
    assert pos.size == 0.5
    assert not pos.closed
    # The same TP is never emitted twice.
    assert on_price(pos, tp1, 2) == []
    assert on_price(pos, at(side, 2.0), 3) == []


@SIDES
def test_tp1_after_profit_lock_does_not_loosen_to_breakeven(side: Side) -> None:
    pos = default_position(side)
    result = run(pos, [at(side, 0.5), at(side, 1.2), at(side, 1.5)])
    assert result.ticks[2] == [Close(0.75, ExitReason.TP1, at(side, 1.5))]
    assert pos.stop == pos.plan.profit_lock_stop
    assert pos.stop_role is StopRole.PROFIT_LOCK


@SIDES
def test_tp2_closes_the_remaining_25_pct_and_the_position(side: Side) -> None:
    pos = default_position(side, size=0.3)
    result = run(pos, [at(side, 0.5), at(side, 1.2), at(side, 1.5), at(side, 2.5), at(side, 3.0)])
    assert [c.reason for c in result.closes] == [ExitReason.TP1, ExitReason.TP2]
    tp1_close, tp2_close = result.closes
    assert tp1_close.size == 0.3 * 0.75  # exactly 75 % of the initial size
    assert tp2_close.size == 0.3 - 0.3 * 0.75  # exactly what was left: no float dust
    assert pos.closed
    assert pos.size == 0.0
    assert pos.tp2_filled
    assert math.fsum(c.size for c in result.closes) == pytest.approx(0.3, rel=1e-12)
    assert pos.realized_pnl == pytest.approx((0.015 * 0.225 + 0.03 * 0.075) * ENTRY)
    assert on_price(pos, at(side, 5.0), 99) == []  # closed: untouched
    assert pos.last_price == at(side, 3.0)


@SIDES
def test_gap_past_tp1_and_tp2_closes_both_on_one_tick_in_order(side: Side) -> None:
    pos = default_position(side, size=2.0)
    gap = at(side, 3.5)
    actions = on_price(pos, gap, 1)
    # Everything closes on this tick, so no (moot) stop move is emitted.
    assert actions == [Close(1.5, ExitReason.TP1, gap), Close(0.5, ExitReason.TP2, gap)]
    assert remaining_after(actions, pos) == 0.0
    for a in actions:
        assert isinstance(a, Close)
        apply_fill(pos, fill_for(pos, a, 1))
    assert pos.closed


@SIDES
def test_gap_through_the_stop_closes_everything_at_the_gap_price(side: Side) -> None:
    pos = default_position(side, size=2.0)
    gap = at(side, -4.0)
    assert on_price(pos, gap, 1) == [Close(2.0, ExitReason.STOP_LOSS, gap)]


@SIDES
def test_stop_tick_does_nothing_else(side: Side) -> None:
    """A stopped tick takes no target even if the price is somehow also past one (bad plan)."""
    pos = default_position(side)
    pos.stop = at(side, 2.0)  # a (manual) stop beyond TP1: the stop wins
    pos.stop_role = StopRole.MANUAL_STOP
    actions = on_price(pos, at(side, 1.6), 1)
    assert actions == [Close(1.0, ExitReason.MANUAL_STOP, at(side, 1.6))]
    assert not pos.tp1_filled


@SIDES
def test_gap_through_breakeven_stop_after_tp1_closes_the_rest(side: Side) -> None:
    pos = default_position(side, size=2.0)
    run(pos, [at(side, 1.5)])
    assert pos.size == 0.5
    pos_stop = pos.stop
    result = run(pos, [at(side, -2.0)])
    assert result.ticks[0] == [Close(0.5, ExitReason.PROFIT_LOCK, at(side, -2.0))]
    assert pos_stop == pos.plan.profit_lock_stop
    assert pos.closed


def test_mfe_mae_long_by_hand() -> None:
    pos = default_position(Side.LONG, size=2.0)
    run(pos, [100.3, 99.6, 99.2, 100.45, 99.9])  # stays below the breakeven trigger
    assert not pos.closed
    assert pos.mfe_pct == pytest.approx(0.45)  # (100.45 - 100) / 100
    assert pos.mfe_quote == pytest.approx(0.9)  # 0.45 quote x 2 units
    assert pos.mae_pct == pytest.approx(-0.8)  # (99.2 - 100) / 100
    assert pos.mae_quote == pytest.approx(-1.6)
    assert pos.last_price == 99.9


def test_mfe_mae_short_by_hand() -> None:
    pos = default_position(Side.SHORT, size=2.0)
    run(pos, [99.7, 100.4, 100.8, 99.55, 100.1])
    assert not pos.closed
    assert pos.mfe_pct == pytest.approx(0.45)  # (100 - 99.55) / 100
    assert pos.mfe_quote == pytest.approx(0.9)
    assert pos.mae_pct == pytest.approx(-0.8)  # (100 - 100.8) / 100
    assert pos.mae_quote == pytest.approx(-1.6)


def test_mfe_mae_keep_growing_through_the_exit_plan() -> None:
    pos = default_position(Side.LONG, size=2.0)
    run(pos, [99.0, 101.0, 102.6])  # BE, profit lock, TP1 on the way
    assert pos.mfe_pct == pytest.approx(2.6)
    assert pos.mfe_quote == pytest.approx(5.2)  # for the initial size, not what is left
    assert pos.mae_pct == pytest.approx(-1.0)
    assert pos.mae_quote == pytest.approx(-2.0)


def test_mfe_mae_are_price_moves_not_roe() -> None:
    pos = default_position(Side.LONG, size=1.0)  # 20x leverage
    run(pos, [102.1])
    assert pos.mfe_pct == pytest.approx(2.1)
    assert pos.roe_pct(102.1) == pytest.approx(42.0)


def test_mfe_includes_the_stop_tick() -> None:
    pos = default_position(Side.LONG)
    run(pos, [97.0])
    assert pos.mae_pct == pytest.approx(-3.0)
    assert pos.closed


# --------------------------------------------------------------------------- runner
RUNNER_ATR = 0.4  # x 2.5 = a trail of 1.0 quote


def runner_position(side: Side, atr: float = RUNNER_ATR) -> PositionState:
    return new_position(
        build_plan(
            side,
            ENTRY,
            1.0,
            policy="test_runner",
            stop_loss_move=0.015,
            breakeven_trigger_move=0.005,
            profit_lock_trigger_move=0.012,
            profit_lock_move=0.004,
            tp1_move=0.015,
            tp1_fraction=0.5,
            tp2_move=0.03,
            tp2_fraction=0.25,
            trail_atr_mult=2.5,
            atr=atr,
        )
    )


def mirror(side: Side, price: float) -> float:
    """Long prices written in the test map onto the short's mirror image around the entry."""
    return price if side is Side.LONG else 2 * ENTRY - price


@SIDES
def test_runner_trailing_stop_follows_the_peak_and_never_loosens(side: Side) -> None:
    pos = runner_position(side)
    assert pos.plan.runner_fraction == pytest.approx(0.25)
    path = [100.5, 101.5, 103.0, 104.0, 103.5, 105.0, 104.2, 104.5, 104.0]
    result = run(pos, [mirror(side, p) for p in path])
    assert [(c.reason, c.size) for c in result.closes] == [
        (ExitReason.TP1, 0.5),
        (ExitReason.TP2, 0.25),
        (ExitReason.TRAILING_STOP, 0.25),
    ]
    trails = [m for m in result.moves if m.role is StopRole.TRAILING_STOP]
    assert [m.new for m in trails] == [
        pytest.approx(mirror(side, x)) for x in (102.0, 103.0, 104.0)
    ]
    # TP2 tick: trailing starts there, peak = that price, trail = 103 - 1.0.
    assert result.ticks[2][0] == Close(0.25, ExitReason.TP2, mirror(side, 103.0))
    trail_start = result.ticks[2][1]
    assert isinstance(trail_start, MoveStop)
    assert trail_start.role is StopRole.TRAILING_STOP
    # Quiet ticks below the peak do not move the trail.
    assert result.ticks[4] == result.ticks[6] == result.ticks[7] == []
    assert result.ticks[8] == [Close(0.25, ExitReason.TRAILING_STOP, mirror(side, 104.0))]
    stops = [mirror(side, s) for s in result.stops]  # in long terms
    assert stops == sorted(stops)
    assert pos.closed
    assert pos.peak == mirror(side, 105.0)
    assert pos.realized_pnl == pytest.approx(0.5 * 1.5 + 0.25 * 3.0 + 0.25 * 4.0)


@SIDES
def test_runner_stop_is_never_below_breakeven(side: Side) -> None:
    """With a trail wider than the profit so far, the runner keeps its locked stop."""
    pos = runner_position(side, atr=2.0)  # trail of 5.0 quote
    result = run(pos, [mirror(side, p) for p in [103.0, 103.5, 104.0, 101.0, 100.4]])
    assert pos.trailing_active
    assert all(m.role is not StopRole.TRAILING_STOP for m in result.moves[:3])
    assert result.closes[-1] == Close(0.25, ExitReason.PROFIT_LOCK, mirror(side, 100.4))
    # The trail (peak 104 - 5 = 99) never dragged the stop below the lock.
    assert all(not tightens(side, s, ENTRY) for s in result.stops)


def test_runner_without_tp2_starts_trailing_after_tp1() -> None:
    pos = new_position(
        build_plan(
            Side.LONG,
            ENTRY,
            1.0,
            policy="single_target",
            stop_loss_move=0.015,
            breakeven_trigger_move=0.005,
            profit_lock_trigger_move=0.012,
            profit_lock_move=0.004,
            tp1_move=0.015,
            tp1_fraction=0.75,
            tp2_move=None,
            tp2_fraction=0.0,
            trail_atr_mult=1.0,
            atr=0.5,
        )
    )
    result = run(pos, [101.5, 102.0, 101.5])
    assert result.closes == [
        Close(0.75, ExitReason.TP1, 101.5),
        Close(0.25, ExitReason.TRAILING_STOP, 101.5),
    ]


def test_single_full_target_closes_everything() -> None:
    pos = new_position(
        build_plan(
            Side.SHORT,
            ENTRY,
            0.7,
            policy="low_tier",
            stop_loss_move=0.015,
            breakeven_trigger_move=0.005,
            profit_lock_trigger_move=0.012,
            profit_lock_move=0.004,
            tp1_move=0.01,
            tp1_fraction=1.0,
            tp2_move=None,
            tp2_fraction=0.0,
        )
    )
    actions = on_price(pos, 98.9, 1)
    assert actions == [Close(0.7, ExitReason.TP1, 98.9)]


# --------------------------------------------------------------------------- edge cases
def test_after_a_manual_partial_close_tp1_is_capped_at_what_is_left() -> None:
    pos = default_position(Side.LONG, size=1.0)
    apply_fill(
        pos,
        Fill("m", "SOL-PERP", OrderSide.SELL, 0.6, 100.2, 0.0, 1, "last", True, "manual_close"),
    )
    actions = on_price(pos, 101.5, 2)
    assert actions[0] == Close(pytest.approx(0.4), ExitReason.TP1, 101.5)  # type: ignore[arg-type]
    assert remaining_after(actions, pos) == 0.0


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_broken_price_is_refused_not_acted_on(bad: float) -> None:
    pos = default_position(Side.LONG)
    with pytest.raises(ValueError, match="price"):
        on_price(pos, bad, 1)
    assert pos.size == 1.0 and pos.last_price == ENTRY


def test_empty_position_is_not_updated() -> None:
    pos = default_position(Side.LONG)
    pos.size = 0.0
    assert on_price(pos, 50.0, 1) == []
    assert pos.last_price == ENTRY and pos.mae_pct == 0.0


def test_tightens() -> None:
    assert tightens(Side.LONG, 98.0, 99.0)
    assert not tightens(Side.LONG, 99.0, 98.0)
    assert not tightens(Side.LONG, 99.0, 99.0)
    assert tightens(Side.SHORT, 102.0, 101.0)
    assert not tightens(Side.SHORT, 101.0, 102.0)
    assert not tightens(Side.SHORT, 101.0, 101.0)


# --------------------------------------------------------------------------- apply_fill
def _fill(side: OrderSide = OrderSide.SELL, size: float = 0.5, **kw: object) -> Fill:
    base: dict[str, object] = {
        "client_order_id": "c1",
        "symbol": "SOL-PERP",
        "side": side,
        "size": size,
        "price": 101.0,
        "fee": 0.01,
        "ts_ms": 5,
        "price_source": "last",
        "reduce_only": True,
        "reason": "tp1",
    }
    base.update(kw)
    return Fill(**base)  # type: ignore[arg-type]


def test_apply_fill_books_pnl_fees_and_size() -> None:
    pos = default_position(Side.LONG, size=1.0)
    apply_fill(pos, _fill(size=0.5, price=101.0, fee=0.01))
    assert pos.size == 0.5
    assert pos.realized_pnl == pytest.approx(0.5)
    assert pos.fees == pytest.approx(0.01)
    apply_fill(pos, _fill(size=0.5, price=99.0, fee=0.02))
    assert pos.closed and pos.size == 0.0
    assert pos.realized_pnl == pytest.approx(0.0)
    assert pos.fees == pytest.approx(0.03)


def test_apply_fill_short_pnl() -> None:
    pos = default_position(Side.SHORT, size=2.0)
    apply_fill(pos, _fill(OrderSide.BUY, size=2.0, price=97.0))
    assert pos.realized_pnl == pytest.approx(6.0)
    assert pos.closed


def test_apply_fill_snaps_dust_to_zero() -> None:
    pos = default_position(Side.LONG, size=0.3)
    apply_fill(pos, _fill(size=0.1))
    apply_fill(pos, _fill(size=0.1))
    apply_fill(pos, _fill(size=0.1))  # 0.3 - 0.1 - 0.1 - 0.1 = 2.8e-17
    assert pos.size == 0.0
    assert pos.closed


def test_apply_fill_tolerates_venue_rounding_overshoot() -> None:
    pos = default_position(Side.LONG, size=1.0)
    apply_fill(pos, _fill(size=1.0 + 1e-10))
    assert pos.closed and pos.size == 0.0


@pytest.mark.parametrize(
    ("fill", "message"),
    [
        (_fill(reduce_only=False), "reduce-only"),
        (_fill(size=1.01), "exceeds"),
        (_fill(OrderSide.BUY), "does not close"),
        (_fill(symbol="BTC-PERP"), "BTC-PERP"),
        (_fill(size=0.0), "size"),
        (_fill(price=float("nan")), "price"),
    ],
)
def test_apply_fill_refuses_what_is_not_an_exit_of_this_position(fill: Fill, message: str) -> None:
    pos = default_position(Side.LONG, size=1.0)
    with pytest.raises(ValueError, match=message):
        apply_fill(pos, fill)
    assert pos.size == 1.0 and pos.realized_pnl == 0.0


def test_apply_fill_on_a_closed_position_is_refused() -> None:
    pos = default_position(Side.LONG, size=1.0)
    apply_fill(pos, _fill(size=1.0))
    with pytest.raises(ValueError, match="closed"):
        apply_fill(pos, _fill(size=0.1))


def test_remaining_after_ignores_stop_moves() -> None:
    pos = default_position(Side.LONG, size=1.0)
    actions: list[Action] = [
        MoveStop(98.5, 100.0, StopRole.BREAKEVEN, "x"),
        Close(0.25, ExitReason.TP1, 1.0),
    ]
    assert remaining_after(actions, pos) == 0.75


def test_the_last_target_takes_everything_even_with_runner_residue_in_the_plan() -> None:
    """tp1 + tp2 a hair under 1 snaps the runner to 0: TP2 must then close all, not leave dust."""
    pos = new_position(
        build_plan(
            Side.LONG,
            ENTRY,
            1.0,
            policy="residue",
            stop_loss_move=0.015,
            breakeven_trigger_move=0.005,
            profit_lock_trigger_move=0.012,
            profit_lock_move=0.004,
            tp1_move=0.015,
            tp1_fraction=0.75,
            tp2_move=0.03,
            tp2_fraction=0.25 - 1e-10,
        )
    )
    assert pos.plan.runner_fraction == 0.0
    result = run(pos, [101.5, 103.0])
    assert result.closes[-1] == Close(0.25, ExitReason.TP2, 103.0)
    assert pos.closed
