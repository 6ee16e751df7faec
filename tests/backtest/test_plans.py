"""Plan rows built in bulk equal `plan_for`'s plans, level by level, refusals included."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.backtest.plans import ParamSet, Trades, build_rows, plan_row
from cockpit.config import FixedPolicyConfig, Settings
from cockpit.domain import Side
from cockpit.engine.policy import PlanRefused, plan_for


@st.composite
def fixed_configs(draw: st.DrawFn) -> FixedPolicyConfig:
    tp1 = draw(st.floats(0.2, 4.0))
    lock_trigger = draw(st.floats(0.2, 3.0))
    tp1_fraction = draw(st.sampled_from([1.0, 0.75, 0.5, 0.3]))
    return FixedPolicyConfig(
        stop_loss_pct=draw(st.floats(0.2, 5.0)),
        breakeven_trigger_pct=draw(st.floats(0.1, 2.0)),
        profit_lock_trigger_pct=lock_trigger,
        profit_lock_pct=lock_trigger * draw(st.floats(0.0, 0.9)),
        tp1_pct=tp1,
        tp1_fraction=tp1_fraction,
        tp2_pct=tp1 * draw(st.floats(1.1, 3.0)),
        tp2_fraction=draw(st.sampled_from([0.0, 1.0 - tp1_fraction])),
    )


@settings(deadline=None, max_examples=40)
@given(
    policy=st.sampled_from(["fixed", "atr_scaled", "quality_tiers"]),
    fixed=fixed_configs(),
    bias=st.booleans(),
    symbol=st.sampled_from(["SOLUSDT", "BTCUSDT"]),
    trades=st.lists(
        st.tuples(
            st.sampled_from([1.0, -1.0]),
            st.floats(0.5, 500.0),
            st.one_of(st.just(math.nan), st.floats(0.01, 20.0)),
            st.one_of(st.just(math.nan), st.floats(0.0, 100.0), st.just(60.0), st.just(-1.0)),
        ),
        min_size=20,
        max_size=60,
    ),
)
def test_bulk_rows_equal_plan_for(
    policy: str,
    fixed: FixedPolicyConfig,
    bias: bool,
    symbol: str,
    trades: list[tuple[float, float, float, float]],
) -> None:
    settings_ = Settings(policy=fixed)
    ps = ParamSet(policy, fixed=fixed, tiers=settings_.quality_tiers, atr=settings_.atr, bias=bias)
    arr = Trades(*(np.array(col, dtype=np.float64) for col in zip(*trades, strict=True)))
    rows = build_rows(ps, arr, symbol)
    for i, (sign, entry, atr, score) in enumerate(trades):
        try:
            if math.isnan(atr):
                raise PlanRefused("no ATR: the lab refuses every policy without one")
            plan = plan_for(
                settings_,
                policy=policy,
                symbol=symbol,
                side=Side.LONG if sign > 0 else Side.SHORT,
                entry=entry,
                size=1.0,
                atr=atr,
                quality_score=None if math.isnan(score) else score,
                direction_bias=bias,
            )
        except PlanRefused:
            assert math.isnan(rows[i, 1]), (i, rows[i])
            continue
        want = plan_row(plan)
        np.testing.assert_array_equal(rows[i], want)


def test_bulk_rows_equal_plan_for_on_many_random_trades() -> None:
    """A seeded batch large enough to meet the rare entries where an expression written in
    another order rounds its price differently (about 1 in 150 for a reordered ATR target)."""
    rng = np.random.default_rng(20260502)
    n = 1500
    settings_ = Settings()
    trades = Trades(
        np.where(rng.random(n) < 0.5, 1.0, -1.0),
        rng.uniform(1.0, 500.0, n),
        rng.uniform(0.01, 20.0, n),
        rng.uniform(55.0, 100.0, n),
    )
    for policy in ("fixed", "atr_scaled", "quality_tiers"):
        for bias in (False, True):
            ps = ParamSet(policy, bias=bias)
            rows = build_rows(ps, trades, "SOL-PERP")
            for i in range(n):
                try:
                    plan = plan_for(
                        settings_,
                        policy=policy,
                        symbol="SOL-PERP",
                        side=Side.LONG if trades.sign[i] > 0 else Side.SHORT,
                        entry=float(trades.entry[i]),
                        size=1.0,
                        atr=float(trades.atr[i]),
                        quality_score=float(trades.score[i]),
                        direction_bias=bias,
                    )
                except PlanRefused:
                    assert math.isnan(rows[i, 1])
                    continue
                np.testing.assert_array_equal(rows[i], plan_row(plan))
