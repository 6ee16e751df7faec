"""Hypothesis properties of the exit engine over random plans and random price paths.

About the short/long mirror: `favorable_move` is linear in price, so the mirror it defines is the
reflection around the entry, p -> 2*entry - p (a long at entry + d sees exactly what a short at
entry - d sees). In real numbers that makes every decision identical; in floats it is bit-exact
only when every price, level and trail distance is exactly representable, so the exact property
draws everything from a dyadic lattice (entries with few significant bits, moves k/256, prices
entry +/- j/64, ATRs j/16, fractions in quarters) where all of the engine's arithmetic is exact.
A multiplicative mirror (p -> entry**2 / p) would not do: it preserves log moves, not the
linear moves the levels are defined in. With the default config (1.5 %, 0.5 %... which are not
dyadic) a second property checks that decisions are identical and prices mirror to rounding,
on a price grid that never lands within rounding distance of a level.
"""

from __future__ import annotations

import copy
import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.config import FixedPolicyConfig
from cockpit.domain import (
    Action,
    Close,
    ExitPlan,
    ExitReason,
    MoveStop,
    Side,
    favorable_move,
    price_at_move,
)
from cockpit.engine.exits import tightens
from cockpit.engine.policy import build_plan, fixed_plan
from tests.engine.engine_sim import Run, new_position, run

# Per-test settings (not a loaded profile) so other packages' tests keep their own defaults.
PROPERTY = settings(deadline=None, max_examples=200)

SIDES = st.sampled_from([Side.LONG, Side.SHORT])


# --------------------------------------------------------------------------- strategies
@st.composite
def plans(draw: st.DrawFn, side: Side) -> ExitPlan:
    """Any plan `build_plan` accepts: fixed-like, with or without TP2 and a trailing runner."""
    entry = draw(st.floats(0.01, 100_000.0))
    size = draw(st.floats(0.001, 1_000.0))
    stop = draw(st.floats(0.002, 0.05))
    be = draw(st.floats(0.001, 0.02))
    pl_trigger = draw(st.floats(0.002, 0.03))
    lock = draw(st.floats(0.0, 0.9)) * pl_trigger
    tp1 = draw(st.floats(0.002, 0.04))
    has_tp2 = draw(st.booleans())
    tp2 = tp1 * draw(st.floats(1.1, 3.0)) if has_tp2 else None
    tp1_fraction = draw(st.floats(0.05, 1.0))
    tp2_fraction = draw(st.floats(0.0, 1.0 - tp1_fraction)) if has_tp2 else 0.0
    trail = draw(st.one_of(st.none(), st.floats(0.5, 4.0)))
    atr = None if trail is None else entry * draw(st.floats(0.0005, 0.02))
    return build_plan(
        side,
        entry,
        size,
        policy="prop",
        stop_loss_move=stop,
        breakeven_trigger_move=be,
        profit_lock_trigger_move=pl_trigger,
        profit_lock_move=lock,
        tp1_move=tp1,
        tp1_fraction=tp1_fraction,
        tp2_move=tp2,
        tp2_fraction=tp2_fraction,
        trail_atr_mult=trail,
        atr=atr,
    )


def level_moves(plan: ExitPlan) -> list[float]:
    """The plan's levels as favorable moves: paths that land exactly on them test the edges."""
    levels = [
        plan.stop_loss,
        plan.breakeven_trigger,
        plan.profit_lock_trigger,
        plan.profit_lock_stop,
        plan.tp1_price,
    ]
    if plan.tp2_price is not None:
        levels.append(plan.tp2_price)
    return [favorable_move(plan.side, plan.entry, p) for p in levels]


@st.composite
def plan_and_path(draw: st.DrawFn) -> tuple[ExitPlan, list[float]]:
    side = draw(SIDES)
    plan = draw(plans(side))
    move = st.one_of(st.floats(-0.06, 0.1), st.sampled_from(level_moves(plan)))
    moves = draw(st.lists(move, min_size=1, max_size=60))
    return plan, [price_at_move(side, plan.entry, m) for m in moves]


# --------------------------------------------------------------------------- invariants
def check_invariants(plan: ExitPlan, prices: list[float]) -> Run:
    pos = new_position(plan)
    result = run(pos, prices)
    side = plan.side
    stop = plan.stop_loss
    seen: set[ExitReason] = set()
    for tick, size in zip(result.ticks, result.sizes, strict=True):
        assert size >= 0.0
        for action in tick:
            if isinstance(action, MoveStop):
                assert tightens(side, action.old, action.new)
                assert action.old == stop  # moves chain: each starts where the last ended
                stop = action.new
            else:
                assert action.size > 0.0
                if action.reason in (ExitReason.TP1, ExitReason.TP2):
                    assert action.reason not in seen  # a target is never emitted twice
                seen.add(action.reason)
    closed_at = next((i for i, s in enumerate(result.sizes) if s == 0.0), None)
    if closed_at is not None:
        assert pos.closed and pos.size == 0.0
        assert all(not t for t in result.ticks[closed_at + 1 :])  # nothing after the close
        total = math.fsum(c.size for c in result.closes)
        assert math.isclose(total, plan.initial_size, rel_tol=1e-9)
    else:
        assert not pos.closed
        total = math.fsum(c.size for c in result.closes)
        assert math.isclose(total + pos.size, plan.initial_size, rel_tol=1e-9)
    assert pos.mfe_pct >= 0.0 >= pos.mae_pct
    return result


@PROPERTY
@given(plan_and_path())
def test_sizes_stay_non_negative_and_closes_sum_to_the_initial_size(
    case: tuple[ExitPlan, list[float]],
) -> None:
    check_invariants(*case)


@PROPERTY
@given(plan_and_path())
def test_stops_only_tighten_and_a_long_stop_never_goes_down(
    case: tuple[ExitPlan, list[float]],
) -> None:
    plan, prices = case
    result = check_invariants(plan, prices)
    stops = [plan.stop_loss, *result.stops]
    pairs = itertools.pairwise(stops)
    if plan.side is Side.LONG:
        assert all(b >= a for a, b in pairs)
    else:
        assert all(b <= a for a, b in pairs)


@PROPERTY
@given(plan_and_path())
def test_mfe_and_mae_are_the_extremes_seen_until_the_close(
    case: tuple[ExitPlan, list[float]],
) -> None:
    plan, prices = case
    pos = new_position(plan)
    result = run(pos, prices)
    ticks_seen = next((i + 1 for i, s in enumerate(result.sizes) if s == 0.0), len(prices))
    moves = [100.0 * favorable_move(plan.side, plan.entry, p) for p in prices[:ticks_seen]]
    assert pos.mfe_pct == max(0.0, *moves)
    assert pos.mae_pct == min(0.0, *moves)
    best = max(prices[:ticks_seen], key=lambda p: plan.side.sign * p)
    if pos.mfe_pct > 0.0:
        assert math.isclose(
            pos.mfe_quote, plan.side.sign * (best - plan.entry) * plan.initial_size, rel_tol=1e-12
        )


@PROPERTY
@given(plan_and_path())
def test_the_engine_is_deterministic(case: tuple[ExitPlan, list[float]]) -> None:
    plan, prices = case
    first, second = new_position(plan), new_position(plan)
    assert run(first, prices) == run(second, prices)
    assert first == second


@PROPERTY
@given(plan_and_path())
def test_a_replayed_state_continues_like_the_original(case: tuple[ExitPlan, list[float]]) -> None:
    """Restoring a position from storage mid-path must not change what happens next."""
    plan, prices = case
    cut = len(prices) // 2
    pos = new_position(plan)
    run(pos, prices[:cut])
    restored = copy.deepcopy(pos)
    assert run(pos, prices[cut:]) == run(restored, prices[cut:])


# --------------------------------------------------------------------------- mirror
@st.composite
def dyadic_case(draw: st.DrawFn) -> tuple[dict[str, object], float, float, list[int]]:
    """Plan arguments, entry, size and price offsets (in 1/64 quote) on an exact lattice."""
    entry = draw(st.sampled_from([64.0, 96.0, 128.0, 160.0, 200.0]))
    size = draw(st.integers(1, 16)) / 4
    k_pt = draw(st.integers(2, 10))
    k1 = draw(st.integers(2, 12))
    has_tp2 = draw(st.booleans())
    tp1_fraction = draw(st.sampled_from([0.25, 0.5, 0.75, 1.0]))
    tp2_fraction = (
        draw(st.sampled_from([f for f in (0.0, 0.25, 0.5, 0.75) if f + tp1_fraction <= 1.0]))
        if has_tp2
        else 0.0
    )
    trail = draw(st.one_of(st.none(), st.sampled_from([1.0, 1.5, 2.0, 2.5])))
    tp2_move = draw(st.integers(k1 + 1, 24)) / 256 if has_tp2 else None
    moves = {
        "stop_loss_move": draw(st.integers(1, 12)) / 256,
        "breakeven_trigger_move": draw(st.integers(1, 6)) / 256,
        "profit_lock_trigger_move": k_pt / 256,
        "profit_lock_move": draw(st.integers(0, k_pt - 1)) / 256,
        "tp1_move": k1 / 256,
    }
    kwargs: dict[str, object] = {
        **moves,
        "tp1_fraction": tp1_fraction,
        "tp2_move": tp2_move,
        "tp2_fraction": tp2_fraction,
        "trail_atr_mult": trail,
        "atr": None if trail is None else draw(st.integers(1, 64)) / 16,
    }
    span = int(entry * 0.1 * 64)
    # Prices exactly on a level are where an asymmetric `<` vs `<=` would show: offer them.
    on_levels = [round(m * entry * 64) for m in moves.values()]
    on_levels[0] = -on_levels[0]  # the stop is an adverse move
    if tp2_move is not None:
        on_levels.append(round(tp2_move * entry * 64))
    offset = st.one_of(st.integers(-span, span), st.sampled_from(on_levels))
    offsets = draw(st.lists(offset, min_size=1, max_size=60))
    return kwargs, entry, size, offsets


def in_long_terms(action: Action, side: Side, entry: float) -> Action:
    """Reflect a short's action into the long's frame (identity for a long)."""
    if side is Side.LONG:
        return action
    if isinstance(action, Close):
        return Close(action.size, action.reason, 2 * entry - action.trigger_price)
    return MoveStop(2 * entry - action.old, 2 * entry - action.new, action.role, action.reason)


@PROPERTY
@given(dyadic_case())
def test_a_short_is_the_exact_mirror_of_a_long(
    case: tuple[dict[str, object], float, float, list[int]],
) -> None:
    kwargs, entry, size, offsets = case
    runs = {}
    states = {}
    for side in Side:
        plan = build_plan(side, entry, size, policy="mirror", **kwargs)  # type: ignore[arg-type]
        pos = new_position(plan)
        prices = [entry + side.sign * j / 64 for j in offsets]
        runs[side] = [[in_long_terms(a, side, entry) for a in t] for t in run(pos, prices).ticks]
        states[side] = pos
    assert runs[Side.SHORT] == runs[Side.LONG]
    long, short = states[Side.LONG], states[Side.SHORT]
    assert short.stop == 2 * entry - long.stop
    assert short.stop_role is long.stop_role
    assert (short.peak is None) == (long.peak is None)
    if long.peak is not None and short.peak is not None:
        assert short.peak == 2 * entry - long.peak
    for name in ("size", "mfe_pct", "mae_pct", "mfe_quote", "mae_quote", "realized_pnl"):
        assert getattr(short, name) == getattr(long, name), name
    for name in ("tp1_filled", "tp2_filled", "trailing_active", "closed"):
        assert getattr(short, name) == getattr(long, name), name


@PROPERTY
@given(
    st.floats(1.0, 50_000.0),
    st.lists(st.integers(-60, 80), min_size=1, max_size=60),
)
def test_default_config_short_mirrors_long_decisions(entry: float, grid: list[int]) -> None:
    # Moves on a 1/1024 grid never come within rounding of 1.5 %, 0.5 %, 1.2 %, 0.4 % or 3 %.
    runs = {}
    for side in Side:
        pos = new_position(fixed_plan(side, entry, 1.0, FixedPolicyConfig()))
        prices = [price_at_move(side, entry, j / 1024) for j in grid]
        runs[side] = run(pos, prices).ticks
    for long_tick, short_tick in zip(runs[Side.LONG], runs[Side.SHORT], strict=True):
        assert len(long_tick) == len(short_tick)
        for a, b in zip(long_tick, short_tick, strict=True):
            assert type(a) is type(b)
            if isinstance(a, Close) and isinstance(b, Close):
                assert (a.size, a.reason) == (b.size, b.reason)
                assert math.isclose(
                    favorable_move(Side.LONG, entry, a.trigger_price),
                    favorable_move(Side.SHORT, entry, b.trigger_price),
                    abs_tol=1e-12,
                )
            elif isinstance(a, MoveStop) and isinstance(b, MoveStop):
                assert (a.role, a.reason) == (b.role, b.reason)
                assert math.isclose(
                    favorable_move(Side.LONG, entry, a.new),
                    favorable_move(Side.SHORT, entry, b.new),
                    abs_tol=1e-12,
                )
