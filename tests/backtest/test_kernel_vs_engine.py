"""The compiled kernel gives the engine's fills, fill by fill, bit for bit.

Random plans (every shape `build_plan` accepts: one or two targets, 0 % TP2, runners with and
without a trail) on random candle paths whose prices often sit exactly on the plan's levels, so
equalities, gaps through levels, both targets in one bar and ambiguous bars come up all the time;
both path kinds, both ambiguity rules. Hand-built paths pin the cases that must never drift.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.domain import Candle, ExitPlan, Side
from cockpit.engine.policy import build_plan
from tests.backtest.paths import candles, engine_trade, kernel_trade

PROPERTY = settings(deadline=None, max_examples=150)


@st.composite
def plans(draw: st.DrawFn) -> ExitPlan:
    side = draw(st.sampled_from([Side.LONG, Side.SHORT]))
    entry = draw(st.sampled_from([100.0, 1.0, 147.23, 0.0123, 65_000.5]))
    size = draw(st.sampled_from([1.0, 0.37, 12.5]))
    stop = draw(st.floats(0.002, 0.05))
    be = draw(st.floats(0.001, 0.02))
    pl_trigger = draw(st.floats(0.002, 0.03))
    lock = draw(st.floats(0.0, 0.9)) * pl_trigger
    tp1 = draw(st.floats(0.002, 0.04))
    has_tp2 = draw(st.booleans())
    tp2 = tp1 * draw(st.floats(1.1, 3.0)) if has_tp2 else None
    tp1_fraction = draw(st.sampled_from([1.0, 0.75, 0.5, 0.33, 0.25]))
    tp2_fraction = (
        draw(st.sampled_from([0.0, 1.0 - tp1_fraction, (1.0 - tp1_fraction) / 2]))
        if has_tp2
        else 0.0
    )
    trail = draw(st.one_of(st.none(), st.floats(0.5, 4.0)))
    atr = (
        entry * draw(st.floats(0.0005, 0.02)) if trail is not None or draw(st.booleans()) else None
    )
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


def _levels(plan: ExitPlan) -> list[float]:
    levels = [
        plan.stop_loss,
        plan.breakeven_trigger,
        plan.profit_lock_trigger,
        plan.profit_lock_stop,
        plan.tp1_price,
        plan.entry,
    ]
    if plan.tp2_price is not None:
        levels.append(plan.tp2_price)
    return levels


@st.composite
def paths(draw: st.DrawFn, plan: ExitPlan) -> list[Candle]:
    """Bars around the entry: a random walk in steps up to 1.5 %, drifting with, against or
    neither way for the position, prices often snapped to a level (the engine's comparisons at
    equality are where a copy would drift)."""
    levels = _levels(plan)
    n = draw(st.integers(1, 40))
    drift = draw(st.sampled_from([-0.004, 0.0, 0.004])) * plan.side.sign
    price = plan.entry
    ohlc = []

    def point(base: float) -> float:
        if draw(st.integers(0, 2)) == 0:
            return draw(st.sampled_from(levels))
        return base * (1.0 + drift + draw(st.floats(-0.012, 0.012)))

    for _ in range(n):
        o = point(price)
        c = point(o)
        h = max(o, c, point(max(o, c)))
        lo = min(o, c, point(min(o, c)))
        ohlc.append((o, h, lo, c))
        price = c
    return candles(ohlc)


@st.composite
def cases(draw: st.DrawFn) -> tuple[ExitPlan, list[Candle], int, str, bool]:
    plan = draw(plans())
    bars = draw(paths(plan))
    start = draw(st.integers(0, min(3, len(bars))))
    kind = draw(st.sampled_from(["candles", "closes"]))
    optimistic = draw(st.booleans())
    return plan, bars, start, kind, optimistic


@PROPERTY
@given(cases())
def test_kernel_equals_engine_fill_by_fill(
    case: tuple[ExitPlan, list[Candle], int, str, bool],
) -> None:
    plan, bars, start, kind, optimistic = case
    got = kernel_trade(plan, bars, start, kind, optimistic=optimistic)
    want = engine_trade(plan, bars, start, kind, optimistic=optimistic)
    assert got == want


def _plan(side: Side, *, trail: float | None = None, tp2_fraction: float = 0.25) -> ExitPlan:
    return build_plan(
        side,
        100.0,
        1.0,
        policy="hand",
        stop_loss_move=0.015,
        breakeven_trigger_move=0.005,
        profit_lock_trigger_move=0.012,
        profit_lock_move=0.004,
        tp1_move=0.015,
        tp1_fraction=0.5,
        tp2_move=0.03,
        tp2_fraction=tp2_fraction,
        trail_atr_mult=trail,
        atr=1.0 if trail is not None else None,
    )


LONG = _plan(Side.LONG)
RUNNER = _plan(Side.LONG, trail=0.5, tp2_fraction=0.0)
HAND = {
    # gap through the stop at the open: filled at the open, below the stop
    "gap through the stop": (LONG, [(100.0, 100.2, 99.9, 100.1), (97.0, 97.5, 96.5, 97.2)]),
    # a high that only touches TP1 (past the lock trigger), then a low exactly at the stop
    "touch": (
        LONG,
        [(100.0, LONG.tp1_price, 99.9, 100.4), (100.4, 100.45, LONG.stop_loss, 100.2)],
    ),
    # highs exactly at the breakeven trigger (a skipped quiet bar must not hide it), then back
    # to the entry: out at breakeven
    "breakeven touch": (
        LONG,
        [
            (100.0, 100.2, 99.9, 100.1),
            (100.1, LONG.breakeven_trigger, 100.0, 100.3),
            (100.3, 100.4, 100.0, 100.2),
            (100.2, 100.3, 99.0, 99.1),
        ],
    ),
    # both targets in one bar, the runner trailing from there
    "both targets": (
        _plan(Side.LONG, trail=1.0),
        [(100.0, 103.5, 99.9, 103.2), (103.2, 103.4, 101.0, 101.5)],
    ),
    # trigger then stop in one bar (breakeven, then back through the entry)
    "trigger then stop": (
        _plan(Side.SHORT),
        [(100.0, 100.1, 99.4, 99.6), (99.6, 100.3, 99.3, 100.2)],
    ),
    # ambiguous: stop and TP1 in one bar, neither at the open
    "ambiguous": (LONG, [(100.0, 101.6, 98.4, 100.0)]),
    # trail at every tick after a 0 % TP2 starts the runner, then stopped by the trail
    "trail": (
        RUNNER,
        [
            (100.0, 101.6, 99.9, 101.5),
            (101.5, 102.5, 101.4, 102.4),
            (102.4, 103.0, 102.3, 102.9),
            (102.9, 103.6, 102.8, 103.5),
            (103.5, 103.6, 102.0, 102.1),
        ],
    ),
}


@pytest.mark.parametrize("name", list(HAND))
@pytest.mark.parametrize("kind", ["candles", "closes"])
@pytest.mark.parametrize("optimistic", [False, True])
def test_hand_built_paths_hit_every_rule(name: str, kind: str, optimistic: bool) -> None:
    plan, ohlc = HAND[name]
    bars = candles(ohlc)
    got = kernel_trade(plan, bars, 0, kind, optimistic=optimistic)
    assert got == engine_trade(plan, bars, 0, kind, optimistic=optimistic)


def test_the_hand_built_paths_do_what_they_say() -> None:
    """The cases above are only worth something if they reach the rules they name."""
    reasons = {
        name: [fill[3] for fill in engine_trade(plan, candles(ohlc), 0, "candles")[0]]
        for name, (plan, ohlc) in HAND.items()
    }
    assert reasons["gap through the stop"] == ["stop_loss"]
    gap_plan, gap_bars = HAND["gap through the stop"]
    assert engine_trade(gap_plan, candles(gap_bars), 0, "candles")[0][0][1] == 97.0  # the open
    assert reasons["touch"] == ["tp1", "profit_lock"]
    assert reasons["breakeven touch"] == ["breakeven"]
    assert reasons["both targets"] == ["tp1", "tp2", "trailing_stop"]
    assert reasons["trigger then stop"] == ["breakeven"]
    assert reasons["ambiguous"] == ["stop_loss"]
    assert engine_trade(LONG, candles(HAND["ambiguous"][1]), 0, "candles")[3] == 1
    assert reasons["trail"] == ["tp1", "trailing_stop"]
