"""Manual runner management rules: never the wrong side, loosening only when confirmed, and a
confirmed loosening is not undone by the engine on the next tick."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.config import Settings
from cockpit.domain import ExitReason, PositionState, Side, StopRole
from cockpit.engine.exits import tightens
from cockpit.engine.manual import (
    ManualRefused,
    StopInput,
    apply_manual_stop,
    apply_trail_mult,
    check_stop,
    close_size,
    effective_trail_mult,
    same_price,
    stop_from_input,
)
from cockpit.engine.policy import plan_for
from tests.engine.engine_sim import default_position, new_position, run

SETTINGS = Settings(db_url="sqlite+aiosqlite:///:memory:")


def runner_position(side: Side = Side.LONG) -> PositionState:
    """High tier at entry 100, ATR 2: TP1 104 (50 %), TP2 108 (25 %), runner trails 5."""
    plan = plan_for(
        SETTINGS,
        policy="quality_tiers",
        symbol="SOL-PERP",
        side=side,
        entry=100.0,
        size=1.0,
        atr=2.0,
        quality_score=90.0,
    )
    return new_position(plan)


@pytest.mark.parametrize(
    ("side", "bad"),
    [(Side.LONG, 101.0), (Side.LONG, 100.5), (Side.SHORT, 100.5), (Side.SHORT, 99.0)],
)
def test_a_stop_on_the_wrong_side_of_the_mark_is_refused(side: Side, bad: float) -> None:
    pos = default_position(side)
    mark = 100.5
    before = pos.stop
    with pytest.raises(ManualRefused, match="would fill at once"):
        apply_manual_stop(pos, bad, mark, confirm_loosen=True)
    assert pos.stop == before and pos.stop_role is StopRole.STOP_LOSS


@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_nonsense_prices_are_refused(bad: float) -> None:
    with pytest.raises(ManualRefused):
        check_stop(default_position(Side.LONG), bad, 100.0)


def test_tightening_needs_no_confirmation() -> None:
    pos = default_position(Side.LONG)  # SL 98.5
    check = check_stop(pos, 99.0, 100.2)
    assert not check.loosens and check.risk_change_quote == pytest.approx(-0.5)
    move = apply_manual_stop(pos, 99.0, 100.2)
    assert (move.old, move.new, move.role) == (98.5, 99.0, StopRole.MANUAL_STOP)
    assert pos.stop == 99.0 and pos.stop_role is StopRole.MANUAL_STOP


def test_loosening_is_refused_without_the_second_confirmation() -> None:
    pos = default_position(Side.SHORT)  # SL 101.5
    check = check_stop(pos, 102.0, 100.0)
    assert check.loosens and check.risk_change_quote == pytest.approx(0.5)
    with pytest.raises(ManualRefused, match="second confirmation"):
        apply_manual_stop(pos, 102.0, 100.0)
    assert pos.stop == pytest.approx(101.5)
    apply_manual_stop(pos, 102.0, 100.0, confirm_loosen=True)
    assert pos.stop == 102.0


def test_a_confirmed_loosening_survives_the_next_ticks() -> None:
    pos = default_position(Side.LONG)
    run(pos, [101.3])  # breakeven (100) then profit lock (100.4)
    assert pos.stop == pytest.approx(100.4)
    apply_manual_stop(pos, 99.5, 101.3, confirm_loosen=True)
    r = run(pos, [101.3, 101.25, 100.9])
    assert r.moves == [] and pos.stop == 99.5 and pos.stop_role is StopRole.MANUAL_STOP
    # A target reached later is a new event: TP1 still moves the stop to breakeven.
    r = run(pos, [101.6])
    assert [c.reason for c in r.closes] == [ExitReason.TP1]
    assert pos.stop == 100.0


def test_loosening_a_trailing_runner_pauses_the_trail_until_a_multiple_is_set() -> None:
    pos = runner_position()
    run(pos, [104.0, 108.0, 112.0])  # trail at 107
    assert pos.stop == pytest.approx(107.0) and pos.trailing_active
    assert pos.state_label == "runner"
    apply_manual_stop(pos, 105.0, 111.0, confirm_loosen=True)
    assert pos.trail_paused and pos.state_label == "runner held"
    r = run(pos, [113.0, 114.0])  # the peak moves on, the stop stays where the trader put it
    assert r.moves == [] and pos.stop == 105.0 and pos.peak == 114.0
    old, new = apply_trail_mult(pos, 3.0)
    assert (old, new) == (2.5, 3.0) and effective_trail_mult(pos) == 3.0
    run(pos, [113.5])  # trail 114 - 3 x 2 = 108 tightens the manual 105
    assert pos.stop == pytest.approx(108.0) and pos.stop_role is StopRole.TRAILING_STOP
    assert pos.state_label == "runner"


def test_a_wider_multiple_never_loosens_the_stop_in_force() -> None:
    pos = runner_position(Side.SHORT)
    run(pos, [96.0, 92.0, 88.0])  # short trail at 93
    apply_trail_mult(pos, 5.0)  # 88 + 10 = 98 would be looser
    r = run(pos, [89.0])
    assert r.moves == [] and pos.stop == pytest.approx(93.0)


def test_trailing_multiple_refusals_explain_themselves() -> None:
    with pytest.raises(ManualRefused, match="no ATR"):
        apply_trail_mult(default_position(Side.LONG), 2.0)
    medium = new_position(
        plan_for(
            SETTINGS,
            policy="quality_tiers",
            symbol="SOL-PERP",
            side=Side.LONG,
            entry=100.0,
            size=1.0,
            atr=2.0,
            quality_score=75.0,
        )
    )
    with pytest.raises(ManualRefused, match="no runner"):
        apply_trail_mult(medium, 2.0)
    with pytest.raises(ManualRefused, match="at most 50"):
        apply_trail_mult(runner_position(), 0.0)


def test_stop_inputs_price_percent_from_entry_and_lock_share_of_move() -> None:
    long = default_position(Side.LONG)
    assert stop_from_input(long, StopInput.PRICE, 99.1, 104.0) == 99.1
    assert stop_from_input(long, StopInput.FROM_ENTRY, -1.0, 104.0) == pytest.approx(99.0)
    assert stop_from_input(long, StopInput.FROM_ENTRY, 0.5, 104.0) == pytest.approx(100.5)
    # Up 4 %, lock half of it: +2 %.
    assert stop_from_input(long, StopInput.LOCK_MOVE, 50.0, 104.0) == pytest.approx(102.0)
    short = default_position(Side.SHORT)
    assert stop_from_input(short, StopInput.LOCK_MOVE, 25.0, 96.0) == pytest.approx(99.0)
    with pytest.raises(ManualRefused, match="no move to lock"):
        stop_from_input(long, StopInput.LOCK_MOVE, 50.0, 99.0)
    with pytest.raises(ManualRefused, match="between 0 and 100"):
        stop_from_input(long, StopInput.LOCK_MOVE, 150.0, 104.0)


def test_close_a_share_of_what_is_left() -> None:
    pos = default_position(Side.LONG, size=2.0)
    assert close_size(pos, 25.0) == 0.5
    assert close_size(pos, 100.0) == 2.0
    for bad in (0.0, -1.0, 100.5, math.nan):
        with pytest.raises(ManualRefused):
            close_size(pos, bad)


def test_a_close_that_would_leave_less_than_the_venue_minimum_takes_everything() -> None:
    pos = default_position(Side.LONG, size=0.4)
    # 97.5 % is 0.39 and would leave 0.01, below a 0.05 minimum order: a crumb no later order
    # could close, so the close takes all of it.
    assert close_size(pos, 97.5, min_order_size=0.05) == 0.4
    assert close_size(pos, 97.5) == pytest.approx(0.39), "paper has no minimum"
    assert close_size(pos, 50.0, min_order_size=0.05) == pytest.approx(0.2)
    # Exactly the minimum left is a position the venue can still close.
    half = default_position(Side.SHORT, size=0.1)
    assert close_size(half, 50.0, min_order_size=0.05) == pytest.approx(0.05)
    # What is left is already below the minimum: any share closes all of it.
    crumb = default_position(Side.LONG, size=0.03)
    assert close_size(crumb, 50.0, min_order_size=0.05) == 0.03


def test_a_close_smaller_than_the_venue_minimum_is_refused_with_the_reason() -> None:
    pos = default_position(Side.LONG, size=0.4)
    with pytest.raises(ManualRefused, match=r"0\.04 SOL-PERP is below the venue's minimum order"):
        close_size(pos, 10.0, min_order_size=0.05)
    with pytest.raises(ManualRefused, match=r"at least 12\.5 %"):
        close_size(pos, 10.0, min_order_size=0.05)
    assert close_size(pos, 12.5, min_order_size=0.05) == pytest.approx(0.05)


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
@pytest.mark.parametrize("typed", [147.75, 147.750000001, 147.749999999, 147.75004])
def test_a_stop_equal_at_the_price_precision_is_unchanged_not_a_move(
    side: Side, typed: float
) -> None:
    pos = default_position(side, entry=150.0 if side is Side.LONG else 145.0)
    pos.stop = 147.75
    mark = 149.0 if side is Side.LONG else 146.5
    with pytest.raises(ManualRefused, match=r"stop unchanged at 147\.7500"):
        check_stop(pos, typed, mark)
    with pytest.raises(ManualRefused, match="unchanged"):
        apply_manual_stop(pos, typed, mark, confirm_loosen=True)
    assert pos.stop == 147.75 and pos.stop_role is StopRole.STOP_LOSS
    # One display digit further is a real move, and which way it goes is told.
    closer = 147.7501 if side is Side.LONG else 147.7499
    assert not check_stop(pos, closer, mark).loosens


def test_the_price_tick_sets_what_counts_as_the_same_stop() -> None:
    pos = default_position(Side.LONG, entry=150.0)
    pos.stop = 147.75
    assert same_price(147.75, 147.754, 0.01) and not same_price(147.75, 147.76, 0.01)
    with pytest.raises(ManualRefused, match="unchanged"):
        check_stop(pos, 147.754, 149.0, price_tick=0.01)
    assert check_stop(pos, 147.76, 149.0, price_tick=0.01).risk_change_quote < 0.0
    # The default is the 4 decimals prices are shown and typed with, finer for cheap coins.
    assert same_price(147.75, 147.75004) and not same_price(147.75, 147.7501)
    assert not same_price(0.00021, 0.00022)


@settings(max_examples=150, deadline=None)
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    before=st.lists(st.floats(-1.4, 12.0), min_size=1, max_size=15),
    after=st.lists(st.floats(-6.0, 14.0), min_size=1, max_size=25),
    offset=st.floats(0.1, 5.0),
)
def test_after_any_manual_move_automatic_moves_still_only_tighten(
    side: Side, before: list[float], after: list[float], offset: float
) -> None:
    pos = runner_position(side)
    run(pos, [100.0 + side.sign * m for m in before])
    if pos.closed:
        return
    mark = pos.last_price
    assert mark is not None
    new = mark - side.sign * offset
    if new <= 0 or same_price(new, pos.stop):
        return
    apply_manual_stop(pos, new, mark, confirm_loosen=True)
    r = run(pos, [100.0 + side.sign * m for m in after])
    for move in r.moves:
        assert tightens(side, move.old, move.new)
    total_closed = 1.0 - pos.size
    assert total_closed >= -1e-12 and pos.size >= 0.0
