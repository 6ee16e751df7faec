"""Plan rows in bulk: `engine.policy`'s formulas over arrays of trades, for one parameter set.

Building an `ExitPlan` per (trade, parameter set) through `plan_for` costs tens of microseconds
(pydantic dumps into `params`), more than the simulation itself, so the backtest computes the
levels for all trades of a set at once with numpy. Every expression below is the one in
`engine.policy` with the same operands in the same order (IEEE arithmetic is the same in numpy
and CPython), and the same validation refuses the same entries; tests/backtest holds the two
to bit-equality, refusals included. `plan_row` turns a single `ExitPlan` into a row, for the
tests and the journal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cockpit.backtest.kernel import (
    ATR,
    BE_TRIG,
    ENTRY,
    LOCK_STOP,
    LOCK_TRIG,
    PLAN_FIELDS,
    RUNNER_FRAC,
    SIGN,
    SIZE,
    STOP,
    TP1,
    TP1_FRAC,
    TP2,
    TP2_FRAC,
    TRAIL_MULT,
)
from cockpit.backtest.tables import F64
from cockpit.config import (
    POLICY_NAMES,
    AtrConfig,
    DirectionBiasConfig,
    FixedPolicyConfig,
    QualityTiersConfig,
)
from cockpit.domain import ExitPlan
from cockpit.engine.policy import RUNNER_EPS, base_asset


@dataclass(frozen=True)
class ParamSet:
    """One policy with all its parameters: a column of the backtest's results."""

    policy: str
    fixed: FixedPolicyConfig = field(default_factory=FixedPolicyConfig)
    tiers: QualityTiersConfig = field(default_factory=QualityTiersConfig)
    atr: AtrConfig = field(default_factory=AtrConfig)
    bias: bool = False
    bias_cfg: DirectionBiasConfig = field(default_factory=DirectionBiasConfig)
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.policy not in POLICY_NAMES:
            raise ValueError(
                f"unknown policy {self.policy!r}; choose from {', '.join(POLICY_NAMES)}"
            )

    @property
    def label(self) -> str:
        """The policy and what the set changes, e.g. `fixed tp1_pct=1 bias`."""
        parts = [self.policy, *(f"{k}={_short(v)}" for k, v in self.overrides.items())]
        if self.bias:
            parts.append("bias")
        return " ".join(parts)

    def params_json(self) -> dict[str, Any]:
        """What a trades CSV row says about its set."""
        return {**self.overrides, "bias": self.bias}


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return f"[{len(value)} tiers]"
    return str(value)


def plan_row(plan: ExitPlan) -> F64:
    """One `ExitPlan` as a kernel row (NaN where the plan has no TP2, trail or ATR)."""
    row = np.full(PLAN_FIELDS, math.nan)
    row[SIGN] = float(plan.side.sign)
    row[ENTRY] = plan.entry
    row[SIZE] = plan.initial_size
    row[STOP] = plan.stop_loss
    row[BE_TRIG] = plan.breakeven_trigger
    row[LOCK_TRIG] = plan.profit_lock_trigger
    row[LOCK_STOP] = plan.profit_lock_stop
    row[TP1] = plan.tp1_price
    row[TP1_FRAC] = plan.tp1_fraction
    if plan.tp2_price is not None:
        row[TP2] = plan.tp2_price
    row[TP2_FRAC] = plan.tp2_fraction
    row[RUNNER_FRAC] = plan.runner_fraction
    if plan.trail_atr_mult is not None:
        row[TRAIL_MULT] = plan.trail_atr_mult
    if plan.atr is not None:
        row[ATR] = plan.atr
    return row


@dataclass(frozen=True, slots=True)
class Trades:
    """The entries of a backtest: side sign (+1/-1), entry price, ATR (NaN: none), score (NaN)."""

    sign: F64
    entry: F64
    atr: F64
    score: F64

    def __len__(self) -> int:
        return int(self.entry.shape[0])


def _price(sign: F64, entry: F64, move: F64) -> F64:
    """domain.price_at_move: entry * (1 + sign * move)."""
    return np.asarray(entry * (1.0 + sign * move), dtype=np.float64)


def _positive(x: F64) -> Any:
    return np.isfinite(x) & (x > 0.0)


def build_rows(ps: ParamSet, trades: Trades, symbol: str, size: float = 1.0) -> F64:
    """Plan rows of every trade under `ps`; a refused entry's row has ENTRY = NaN.

    Refused as `plan_for` refuses: no ATR (every policy, the lab's rule: all policies trade the
    same entries), no baseline for the asset, a score outside 0-100 or below the lowest tier,
    and any level `build_plan` would reject.
    """
    n = len(trades)
    sign, entry, atr = trades.sign, trades.entry, trades.atr
    fx = ps.fixed
    ok = np.isfinite(atr) & (atr > 0.0)
    mult = np.ones(n)
    if ps.bias:
        mult = np.where(sign > 0.0, ps.bias_cfg.long_mult, ps.bias_cfg.short_mult)
    if ps.policy == "fixed":
        f = np.ones(n)
    else:
        baseline = ps.atr.baseline.get(base_asset(symbol))
        if baseline is None:
            ok &= False
            baseline = 1.0
        with np.errstate(invalid="ignore"):
            f = np.minimum(np.maximum(atr / baseline, ps.atr.factor_min), ps.atr.factor_max)
    trail = np.full(n, math.nan)
    plan_atr = np.full(n, math.nan) if ps.policy == "fixed" else atr.copy()
    if ps.policy == "quality_tiers":
        stop, tp1, tp1f, tp2, tp2f, trail, ok = _tier_moves(ps, trades, f, mult, ok)
    else:
        if ps.policy == "fixed":
            stop = np.full(n, fx.stop_loss_pct / 100.0)
            tp1 = fx.tp1_pct / 100.0 * mult
            tp2 = fx.tp2_pct / 100.0 * mult
        else:
            stop = fx.stop_loss_pct / 100.0 * f
            tp1 = fx.tp1_pct / 100.0 * f * mult
            tp2 = fx.tp2_pct / 100.0 * f * mult
        tp1f = np.full(n, fx.tp1_fraction)
        tp2f = np.full(n, fx.tp2_fraction)
    if ps.policy == "fixed":
        be = np.full(n, fx.breakeven_trigger_pct / 100.0)
        lt = np.full(n, fx.profit_lock_trigger_pct / 100.0)
        lm = np.full(n, fx.profit_lock_pct / 100.0)
    else:
        be = fx.breakeven_trigger_pct / 100.0 * f
        lt = fx.profit_lock_trigger_pct / 100.0 * f
        lm = fx.profit_lock_pct / 100.0 * f
    ok &= _valid(sign, stop, be, lt, lm, tp1, tp1f, tp2, tp2f, f)
    total = tp1f + tp2f
    runner = 1.0 - total
    runner = np.where(runner < RUNNER_EPS, 0.0, runner)
    ok &= total <= 1.0 + RUNNER_EPS

    rows = np.full((n, PLAN_FIELDS), math.nan)
    rows[:, SIGN] = sign
    rows[:, ENTRY] = np.where(ok, entry, math.nan)
    rows[:, SIZE] = size
    rows[:, STOP] = _price(sign, entry, -stop)
    rows[:, BE_TRIG] = _price(sign, entry, be)
    rows[:, LOCK_TRIG] = _price(sign, entry, lt)
    rows[:, LOCK_STOP] = _price(sign, entry, lm)
    rows[:, TP1] = _price(sign, entry, tp1)
    rows[:, TP1_FRAC] = tp1f
    rows[:, TP2] = _price(sign, entry, tp2)  # NaN moves stay NaN: no TP2
    rows[:, TP2_FRAC] = tp2f
    rows[:, RUNNER_FRAC] = runner
    rows[:, TRAIL_MULT] = trail
    rows[:, ATR] = plan_atr
    return rows


def _valid(
    sign: F64,
    stop: F64,
    be: F64,
    lt: F64,
    lm: F64,
    tp1: F64,
    tp1f: F64,
    tp2: F64,
    tp2f: F64,
    f: F64,
) -> Any:
    """engine.policy.build_plan's checks, elementwise (True where a plan can be built)."""
    with np.errstate(invalid="ignore"):
        ok = _positive(stop) & ~((stop >= 1.0) & (sign > 0.0))
        ok &= _positive(be) & _positive(lt)
        ok &= np.isfinite(lm) & (lm >= 0.0) & (lm < lt)
        ok &= _positive(tp1) & (tp1f > 0.0) & (tp1f <= 1.0)
        single = np.isnan(tp2)
        ok &= np.where(single, tp2f == 0.0, _positive(tp2) & (tp2 > tp1) & (tp2f >= 0.0))
        ok &= _positive(f)
    return ok


def _tier_moves(
    ps: ParamSet, trades: Trades, f: F64, mult: F64, ok: Any
) -> tuple[F64, F64, F64, F64, F64, F64, Any]:
    """Per-trade tier levels (engine.policy.quality_tiers_plan) and the tier refusals."""
    n = len(trades)
    atr, entry, score = trades.atr, trades.entry, trades.score
    fx = ps.fixed
    stop = np.full(n, math.nan)
    tp1 = np.full(n, math.nan)
    tp2 = np.full(n, math.nan)
    tp1f = np.full(n, math.nan)
    tp2f = np.full(n, math.nan)
    trail = np.full(n, math.nan)
    with np.errstate(invalid="ignore"):
        ok = ok & np.isfinite(score) & (score >= 0.0) & (score <= 100.0)
    taken = np.zeros(n, dtype=bool)
    for tier in ps.tiers.tiers:  # best first, as quality_tier_for
        with np.errstate(invalid="ignore"):
            here = ~taken & (score >= tier.min_score)
        taken |= here
        if tier.stop_atr is not None:
            stop = np.where(here, tier.stop_atr * atr / entry, stop)
        else:
            stop = np.where(here, fx.stop_loss_pct / 100.0 * f, stop)
        tp1 = np.where(here, tier.tp1_atr * atr / entry * mult, tp1)
        if tier.tp2_atr is not None:
            tp2 = np.where(here, tier.tp2_atr * atr / entry * mult, tp2)
        tp1f = np.where(here, tier.tp1_fraction, tp1f)
        tp2f = np.where(here, tier.tp2_fraction, tp2f)
        if tier.trail_atr is not None:
            trail = np.where(here, tier.trail_atr, trail)
    ok = ok & taken
    return stop, tp1, tp1f, tp2, tp2f, trail, ok
