"""Policies as numbers: each (trade, parameter set) plan built inside the compiled loop.

Building the plan rows of a grid with numpy costs about as much as simulating them (dozens of
array passes per set, and a 14-float row per trade and set in memory). Here a parameter set is a
short row of numbers (`encode`: the policy's code, its percent moves already divided by 100, the
bias multipliers, the ATR baseline and clamp, and a table of quality tiers), and `levels` turns
(set, trade) into the plan's prices with `engine.policy`'s expressions, same operands in the same
order (IEEE arithmetic is the same compiled and in CPython, and nothing here uses fastmath), and
refuses what `plan_for` refuses. `simulate_grid` feeds them straight to `kernel.trade`; no plan row
is stored. `plans.build_rows` writes the same levels as rows (for reports and tests), so one
implementation serves both and tests/backtest/test_plans.py holds it to `plan_for`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit, prange

from cockpit.backtest import kernel
from cockpit.backtest.results import I8, I32, Results
from cockpit.backtest.tables import F64, I64, SparseTables

# Set row layout (float64).
P_POLICY, P_STOP, P_BE, P_LT, P_LM, P_TP1, P_TP2, P_TP1F, P_TP2F = 0, 1, 2, 3, 4, 5, 6, 7, 8
P_LONG_MULT, P_SHORT_MULT, P_BASELINE, P_FMIN, P_FMAX, P_NTIERS = 9, 10, 11, 12, 13, 14
P_RUNNER_EPS = 15  # engine.policy.RUNNER_EPS, a value here so no cached code holds an old one
SET_FIELDS = 16
# Tier row layout (float64); a missing stop_atr / tp2_atr / trail_atr is NaN.
T_MIN, T_STOP_ATR, T_TP1_ATR, T_TP2_ATR, T_TP1F, T_TP2F, T_TRAIL = 0, 1, 2, 3, 4, 5, 6
TIER_FIELDS = 7
FIXED, ATR_SCALED, QUALITY_TIERS = 0, 1, 2
PARALLEL_BLOCK = 32  # trades per block handed to a thread
POLICY_CODES = {"fixed": FIXED, "atr_scaled": ATR_SCALED, "quality_tiers": QUALITY_TIERS}


@dataclass(frozen=True, slots=True)
class SetParams:
    """Parameter sets as numbers for one symbol: `params[s]`, `tiers[s, :params[s, P_NTIERS]]`."""

    params: F64
    tiers: F64

    def __len__(self) -> int:
        return int(self.params.shape[0])


@njit(cache=True, inline="always")
def _positive(x: float) -> bool:  # pragma: no cover - compiled
    return math.isfinite(x) and x > 0.0


@njit(cache=True, inline="always")
def levels(
    params: F64, tiers: F64, si: int, sign: float, entry: float, atr: float, score: float
) -> tuple[
    bool, float, float, float, float, float, float, float, float, float, float, float
]:  # pragma: no cover - compiled
    """Set `si`'s plan for one trade, as `plan_for` builds it (and the lab's refusals):
    (ok, stop, breakeven trigger, lock trigger, lock stop, tp1, tp1 fraction, tp2 (NaN: none),
    tp2 fraction, runner fraction, trail multiple (NaN), plan ATR (NaN for fixed)).

    Refused (ok False) as `plan_for` refuses: no ATR (every policy: all policies trade the same
    entries), no baseline for the asset, a score outside 0-100 or below the lowest tier, and any
    level `build_plan` would reject."""
    policy = int(params[si, P_POLICY])
    ok = math.isfinite(atr) and atr > 0.0
    mult = params[si, P_LONG_MULT] if sign > 0.0 else params[si, P_SHORT_MULT]
    f = 1.0
    if policy != FIXED:
        baseline = params[si, P_BASELINE]
        if math.isnan(baseline):
            ok = False
            baseline = 1.0
        f = atr / baseline
        if f < params[si, P_FMIN]:
            f = params[si, P_FMIN]
        if f > params[si, P_FMAX]:
            f = params[si, P_FMAX]
    trail = math.nan
    plan_atr = math.nan if policy == FIXED else atr
    if policy == QUALITY_TIERS:
        stop = math.nan
        tp1 = math.nan
        tp2 = math.nan
        tp1f = math.nan
        tp2f = math.nan
        ok = ok and math.isfinite(score) and score >= 0.0 and score <= 100.0
        taken = False
        for k in range(int(params[si, P_NTIERS])):
            if score >= tiers[si, k, T_MIN]:
                taken = True
                if not math.isnan(tiers[si, k, T_STOP_ATR]):
                    stop = tiers[si, k, T_STOP_ATR] * atr / entry
                else:
                    stop = params[si, P_STOP] * f
                tp1 = tiers[si, k, T_TP1_ATR] * atr / entry * mult
                if not math.isnan(tiers[si, k, T_TP2_ATR]):
                    tp2 = tiers[si, k, T_TP2_ATR] * atr / entry * mult
                tp1f = tiers[si, k, T_TP1F]
                tp2f = tiers[si, k, T_TP2F]
                trail = tiers[si, k, T_TRAIL]
                break
        ok = ok and taken
    elif policy == FIXED:
        stop = params[si, P_STOP]
        tp1 = params[si, P_TP1] * mult
        tp2 = params[si, P_TP2] * mult
        tp1f = params[si, P_TP1F]
        tp2f = params[si, P_TP2F]
    else:
        stop = params[si, P_STOP] * f
        tp1 = params[si, P_TP1] * f * mult
        tp2 = params[si, P_TP2] * f * mult
        tp1f = params[si, P_TP1F]
        tp2f = params[si, P_TP2F]
    if policy == FIXED:
        be = params[si, P_BE]
        lt = params[si, P_LT]
        lm = params[si, P_LM]
    else:
        be = params[si, P_BE] * f
        lt = params[si, P_LT] * f
        lm = params[si, P_LM] * f
    # engine.policy.build_plan's checks
    ok = ok and _positive(stop) and not (stop >= 1.0 and sign > 0.0)
    ok = ok and _positive(be) and _positive(lt)
    ok = ok and math.isfinite(lm) and lm >= 0.0 and lm < lt
    ok = ok and _positive(tp1) and tp1f > 0.0 and tp1f <= 1.0
    if math.isnan(tp2):
        ok = ok and tp2f == 0.0
    else:
        ok = ok and _positive(tp2) and tp2 > tp1 and tp2f >= 0.0
    ok = ok and _positive(f)
    total = tp1f + tp2f
    eps = params[si, P_RUNNER_EPS]
    runner = 1.0 - total
    if runner < eps:
        runner = 0.0
    ok = ok and total <= 1.0 + eps
    return (
        ok,
        entry * (1.0 + sign * -stop),  # domain.price_at_move
        entry * (1.0 + sign * be),
        entry * (1.0 + sign * lt),
        entry * (1.0 + sign * lm),
        entry * (1.0 + sign * tp1),
        tp1f,
        entry * (1.0 + sign * tp2),  # a NaN move stays NaN: no TP2
        tp2f,
        runner,
        trail,
        plan_atr,
    )


@njit(cache=True)
def fill_rows(
    params: F64,
    tiers: F64,
    si: int,
    sign: F64,
    entry: F64,
    atr: F64,
    score: F64,
    size: float,
    rows: F64,
) -> None:  # pragma: no cover - compiled
    """Set `si`'s plan rows (kernel layout; a refused entry's ENTRY is NaN) for every trade."""
    for t in range(sign.shape[0]):
        ok, stop, be, lt, lm, tp1, tp1f, tp2, tp2f, runner, trail, plan_atr = levels(
            params, tiers, si, sign[t], entry[t], atr[t], score[t]
        )
        row = rows[t]
        row[kernel.SIGN] = sign[t]
        row[kernel.ENTRY] = entry[t] if ok else math.nan
        row[kernel.SIZE] = size
        row[kernel.STOP] = stop
        row[kernel.BE_TRIG] = be
        row[kernel.LOCK_TRIG] = lt
        row[kernel.LOCK_STOP] = lm
        row[kernel.TP1] = tp1
        row[kernel.TP1_FRAC] = tp1f
        row[kernel.TP2] = tp2
        row[kernel.TP2_FRAC] = tp2f
        row[kernel.RUNNER_FRAC] = runner
        row[kernel.TRAIL_MULT] = trail
        row[kernel.ATR] = plan_atr


def _dependency_salt() -> str:
    """A digest of kernel.py. numba's cache key covers a function's own file, bytecode and
    closure values, not the compiled functions it calls from other modules: without this, a
    changed `kernel.trade` would keep running inside a stale cached `_grid`."""
    return hashlib.sha256(Path(kernel.__file__).read_bytes()).hexdigest()


def _make_grid(salt: str) -> Callable[..., None]:
    """The grid driver, with `salt` as a closure value (so in its cache key)."""

    def _grid(
        open_: F64,
        high: F64,
        low: F64,
        close: F64,
        hi: F64,
        lo: F64,
        kind: int,
        optimistic: bool,
        params: F64,
        tiers: F64,
        sign: F64,
        entry: F64,
        atr: F64,
        score: F64,
        starts: I64,
        ends: I64,
        f_bar: I64,
        f_price: F64,
        f_frac: F64,
        f_reason: I8,
        n_fills: I8,
        mfe: F64,
        mae: F64,
        ambiguous: I32,
        pnl: F64,
    ) -> None:  # pragma: no cover - compiled
        """Trade t under set s on bars [starts[t], ends[t]) into row t * n_sets + s (size 1)."""
        if not salt:  # never: the salt only has to be part of the function
            return
        n_sets = params.shape[0]
        for t in prange(sign.shape[0]):
            for si in range(n_sets):
                r = t * n_sets + si
                ok, stop, be, lt, lm, tp1, tp1f, tp2, tp2f, runner, trail, plan_atr = levels(
                    params, tiers, si, sign[t], entry[t], atr[t], score[t]
                )
                if not ok:
                    n_fills[r] = 0
                    mfe[r] = 0.0
                    mae[r] = 0.0
                    ambiguous[r] = 0
                    pnl[r] = 0.0
                    continue
                kernel.trade(
                    open_, high, low, close, hi, lo, kind, optimistic,
                    sign[t], entry[t], 1.0, stop, be, lt, lm, tp1, tp1f, tp2, tp2f, runner, trail,
                    plan_atr, starts[t], ends[t], r,
                    f_bar, f_price, f_frac, f_reason, n_fills, mfe, mae, ambiguous, pnl,
                )  # fmt: skip

    return _grid


_SALT = _dependency_salt()
_grid_serial = njit(cache=True)(_make_grid(_SALT))
_grid_parallel = njit(cache=True, parallel=True)(_make_grid(_SALT))


def simulate_grid(
    tables: SparseTables,
    sets: SetParams,
    sign: F64,
    entry: F64,
    atr: F64,
    score: F64,
    starts: I64,
    ends: I64,
    *,
    optimistic: bool = False,
    threads: int = 1,
) -> Results:
    """Every trade under every set, row t * len(sets) + s; `threads` > 1 splits the trades
    over that many threads of this process (each row is written by one thread only, so the
    results do not depend on it). Sizes are 1: fills are fractions of the initial size."""
    n = sign.shape[0] * len(sets)
    res = Results.empty(n)
    if n == 0:
        return res
    args = (
        tables.open,
        tables.high,
        tables.low,
        tables.close,
        tables.hi,
        tables.lo,
        tables.kind,
        optimistic,
        sets.params,
        sets.tiers,
        np.ascontiguousarray(sign, dtype=np.float64),
        np.ascontiguousarray(entry, dtype=np.float64),
        np.ascontiguousarray(atr, dtype=np.float64),
        np.ascontiguousarray(score, dtype=np.float64),
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        *res.outputs(),
    )
    if threads <= 1:
        _grid_serial(*args)
        return res
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))))
    try:
        # Small blocks of trades handed out as threads free up: on a shared machine one
        # thread may be slowed down, and a static half each would leave the other waiting.
        with numba.parallel_chunksize(PARALLEL_BLOCK):
            _grid_parallel(*args)
    finally:
        numba.set_num_threads(before)
    return res
