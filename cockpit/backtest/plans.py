"""Parameter sets, trades, and plan rows in bulk for one parameter set.

Building an `ExitPlan` per (trade, parameter set) through `plan_for` costs tens of microseconds
(pydantic dumps into `params`), more than the simulation itself, so the backtest computes the
levels of all trades at once in compiled code (`grid_kernel.levels`: `engine.policy`'s
expressions with the same operands in the same order, the same refusals); tests/backtest holds
`build_rows` to `plan_for` bit for bit, refusals included. `plan_row` turns a single `ExitPlan`
into a row, for the tests and the journal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cockpit.backtest.grid_kernel import (
    P_BASELINE,
    P_BE,
    P_FMAX,
    P_FMIN,
    P_LM,
    P_LONG_MULT,
    P_LT,
    P_NTIERS,
    P_POLICY,
    P_RUNNER_EPS,
    P_SHORT_MULT,
    P_STOP,
    P_TP1,
    P_TP1F,
    P_TP2,
    P_TP2F,
    POLICY_CODES,
    SET_FIELDS,
    TIER_FIELDS,
    SetParams,
    fill_rows,
)
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
from cockpit.backtest.param_set import ParamSet as ParamSet
from cockpit.backtest.tables import F64
from cockpit.domain import ExitPlan
from cockpit.engine.policy import RUNNER_EPS, base_asset


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

    def columns(self) -> tuple[F64, F64, F64, F64]:
        """(sign, entry, atr, score), the compiled drivers' argument order."""
        return self.sign, self.entry, self.atr, self.score


def build_rows(ps: ParamSet, trades: Trades, symbol: str, size: float = 1.0) -> F64:
    """Plan rows of every trade under `ps`; a refused entry's row has ENTRY = NaN.

    Refused as `plan_for` refuses (see `grid_kernel.levels`, which computes the levels: the
    same code the grid simulation runs).
    """
    sp = encode([ps], symbol)
    rows = np.empty((len(trades), PLAN_FIELDS))
    sign, entry, atr, score = (np.ascontiguousarray(a, dtype=np.float64) for a in trades.columns())
    fill_rows(sp.params, sp.tiers, 0, sign, entry, atr, score, float(size), rows)
    return rows


def _opt(value: float | None) -> float:
    return math.nan if value is None else float(value)


def encode(sets: Sequence[ParamSet], symbol: str) -> SetParams:
    """The sets as numbers; the ATR baseline is the symbol's asset's (NaN: none, refused)."""
    n_tiers = max((len(ps.tiers.tiers) for ps in sets), default=0)
    params = np.zeros((len(sets), SET_FIELDS))
    tiers = np.full((len(sets), max(n_tiers, 1), TIER_FIELDS), math.nan)
    for i, ps in enumerate(sets):
        fx = ps.fixed
        p = params[i]
        p[P_POLICY] = POLICY_CODES[ps.policy]
        p[P_STOP] = fx.stop_loss_pct / 100.0
        p[P_BE] = fx.breakeven_trigger_pct / 100.0
        p[P_LT] = fx.profit_lock_trigger_pct / 100.0
        p[P_LM] = fx.profit_lock_pct / 100.0
        p[P_TP1] = fx.tp1_pct / 100.0
        p[P_TP2] = fx.tp2_pct / 100.0
        p[P_TP1F] = fx.tp1_fraction
        p[P_TP2F] = fx.tp2_fraction
        p[P_LONG_MULT] = ps.bias_cfg.long_mult if ps.bias else 1.0
        p[P_SHORT_MULT] = ps.bias_cfg.short_mult if ps.bias else 1.0
        p[P_BASELINE] = _opt(ps.atr.baseline.get(base_asset(symbol)))
        p[P_FMIN] = ps.atr.factor_min
        p[P_FMAX] = ps.atr.factor_max
        p[P_NTIERS] = len(ps.tiers.tiers)
        p[P_RUNNER_EPS] = RUNNER_EPS
        for k, tier in enumerate(ps.tiers.tiers):  # best first, as quality_tier_for
            tiers[i, k] = (
                tier.min_score,
                _opt(tier.stop_atr),
                tier.tp1_atr,
                _opt(tier.tp2_atr),
                tier.tp1_fraction,
                tier.tp2_fraction,
                _opt(tier.trail_atr),
            )
    return SetParams(params, tiers)
