"""The compiled exit kernel: `cockpit.engine`'s decisions for many (trade, plan) rows at once.

Each row is one plan (levels in price, as `ExitPlan` holds them) on one path (bars `start` to
`end - 1` of the file). The kernel runs, per row, exactly what `engine.bars.bar_prices` +
`engine.exits.on_price` + `apply_fill` do when every close fills in full at its trigger price
(the session's and `reference.run_trade`'s way): the same comparisons in the same order on the
same floats, so fills, MFE/MAE and ambiguous-bar counts are bit-identical. The engine module
docstrings are the specification; the comments here only say where the kernel takes a shortcut.

The shortcut: a bar in which no level can be reached (the adverse extreme short of the stop, the
favorable extreme short of the next target, of an untriggered breakeven/profit-lock trigger and
of the runner's peak) changes nothing but MFE/MAE. `SparseTables` holds range maxima/minima of
the path in powers of two, so the next bar that can change anything is found by galloping and
halving (~2 log2 of the distance steps) and the skipped bars' extremes come from one range query.
The tables are built once per file and shared by every trade and parameter set.

Path kinds: `CANDLES` walks each bar as the engine's candle path does (open, extremes in the
assumed order with pessimistic or optimistic ambiguity, levels visited exactly, gaps filled at
the open); `CLOSES` feeds each bar's close as one tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from cockpit.backtest.tables import CLOSES, F64, I64, SparseTables, next_event, range_extremes

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]

# Plan row layout (float64). A missing TP2 / trail / ATR is NaN.
SIGN, ENTRY, SIZE, STOP, BE_TRIG, LOCK_TRIG, LOCK_STOP = 0, 1, 2, 3, 4, 5, 6
TP1, TP1_FRAC, TP2, TP2_FRAC, RUNNER_FRAC, TRAIL_MULT, ATR = 7, 8, 9, 10, 11, 12, 13
PLAN_FIELDS = 14

# Fill reasons: the stop's role (0-3) is its reason, as `ExitReason.for_stop`.
REASONS: tuple[str, ...] = (
    "stop_loss",
    "breakeven",
    "profit_lock",
    "trailing_stop",
    "tp1",
    "tp2",
    "end_of_data",
)
R_STOP_LOSS, R_BREAKEVEN, R_PROFIT_LOCK, R_TRAIL, R_TP1, R_TP2, R_END = 0, 1, 2, 3, 4, 5, 6
MAX_FILLS = 3  # TP1, TP2, then a stop or the end of the data

SIZE_EPS = 1e-12  # engine.exits.SIZE_EPS

# Mutable per-row state (float64 array, reused across rows).
S_STOP, S_ROLE, S_SIZE, S_TP1_DONE, S_TP2_DONE, S_TRAILING = 0, 1, 2, 3, 4, 5
S_BE_DONE, S_LOCK_DONE, S_PEAK, S_MFE, S_MAE, S_CLOSED, S_AMBIG, S_LAST, S_NFILLS = range(6, 15)
S_PNL = 15
STATE_FIELDS = 16


@njit(cache=True)
def _move(st: F64, s: float, new: float, role: int) -> None:  # pragma: no cover - compiled
    """engine.exits._move: tighten only."""
    old = st[S_STOP]
    if (new > old) if s > 0.0 else (new < old):
        st[S_STOP] = new
        st[S_ROLE] = role


@njit(cache=True)
def _trail(p: F64, st: F64, s: float, price: float) -> None:  # pragma: no cover - compiled
    """engine.exits._trail (never paused in a backtest, no manual multiple)."""
    peak = st[S_PEAK]
    if s * (price - peak) > 0.0:
        st[S_PEAK] = peak = price
    mult, atr = p[TRAIL_MULT], p[ATR]
    if not (math.isnan(mult) or math.isnan(atr)):
        trail = peak - s * (mult * atr)
        if s * (trail - st[S_STOP]) > 0.0:
            _move(st, s, trail, R_TRAIL)


@njit(cache=True)
def _start_runner(p: F64, st: F64, s: float, price: float) -> None:  # pragma: no cover
    """engine.exits._start_runner followed by the first _trail, as _target_done runs them."""
    st[S_TRAILING] = 1.0
    st[S_PEAK] = price
    _move(st, s, p[ENTRY], R_BREAKEVEN)
    _trail(p, st, s, price)


@njit(cache=True)
def _record(
    st: F64,
    row: int,
    bar: int,
    price: float,
    qty: float,
    reason: int,
    p: F64,
    f_bar: I64,
    f_price: F64,
    f_frac: F64,
    f_reason: I8,
) -> None:  # pragma: no cover - compiled
    n = int(st[S_NFILLS])
    frac = qty / p[SIZE]
    f_bar[row, n] = bar
    f_price[row, n] = price
    f_frac[row, n] = frac
    f_reason[row, n] = reason
    st[S_NFILLS] = n + 1
    st[S_PNL] += frac * (100.0 * (p[SIGN] * (price - p[ENTRY]) / p[ENTRY]))


@njit(cache=True)
def _book(
    p: F64,
    st: F64,
    row: int,
    bar: int,
    price: float,
    qty: float,
    reason: int,
    f_bar: I64,
    f_price: F64,
    f_frac: F64,
    f_reason: I8,
) -> None:  # pragma: no cover - compiled
    """engine.exits.apply_fill + _target_done for a close filled in full at `price`."""
    size0 = p[SIZE]
    dust = SIZE_EPS * (size0 if size0 > 1.0 else 1.0)
    left = st[S_SIZE] - qty
    if left <= dust:
        st[S_SIZE] = 0.0
        st[S_CLOSED] = 1.0
    else:
        st[S_SIZE] = left
    _record(st, row, bar, price, qty, reason, p, f_bar, f_price, f_frac, f_reason)
    if reason != R_TP1 and reason != R_TP2:
        return
    s = p[SIGN]
    if reason == R_TP1:
        st[S_TP1_DONE] = 1.0
        last_target = math.isnan(p[TP2])
    else:
        st[S_TP2_DONE] = 1.0
        last_target = True
    if st[S_CLOSED] != 0.0:
        return
    if reason == R_TP1:
        _move(st, s, p[ENTRY], R_BREAKEVEN)
    if last_target and p[RUNNER_FRAC] > 0.0 and st[S_TRAILING] == 0.0:
        _start_runner(p, st, s, st[S_LAST])


@njit(cache=True)
def _on_price(
    p: F64,
    st: F64,
    row: int,
    bar: int,
    price: float,
    f_bar: I64,
    f_price: F64,
    f_frac: F64,
    f_reason: I8,
) -> None:  # pragma: no cover - compiled
    """engine.exits.on_price, each decided close booked at once (in order) afterwards."""
    s = p[SIGN]
    entry = p[ENTRY]
    diff = s * (price - entry)
    st[S_LAST] = price
    if diff > 0.0:
        pct = 100.0 * (diff / entry)
        if pct > st[S_MFE]:
            st[S_MFE] = pct
    elif diff < 0.0:
        pct = 100.0 * (diff / entry)
        if pct < st[S_MAE]:
            st[S_MAE] = pct

    if s * (price - st[S_STOP]) <= 0.0:
        _book(p, st, row, bar, price, st[S_SIZE], int(st[S_ROLE]), f_bar, f_price, f_frac, f_reason)
        return

    tp2 = p[TP2]
    has2 = not math.isnan(tp2)
    hit1 = st[S_TP1_DONE] == 0.0 and s * (price - p[TP1]) >= 0.0
    hit2 = (
        has2
        and st[S_TP2_DONE] == 0.0
        and (hit1 or st[S_TP1_DONE] != 0.0)
        and s * (price - tp2) >= 0.0
    )
    q1 = 0.0
    q2 = 0.0
    if hit1 or hit2:
        size0 = p[SIZE]
        dust = SIZE_EPS * (size0 if size0 > 1.0 else 1.0)
        runner = p[RUNNER_FRAC] > 0.0
        left = st[S_SIZE]
        if hit1:
            final = (not runner) and ((not has2) or p[TP2_FRAC] == 0.0)
            qty = p[TP1_FRAC] * size0
            if final or qty >= left - dust:
                qty = left
            q1 = qty
            rest = left - qty
            left = 0.0 if rest <= dust else rest
        if hit2 and left > 0.0:
            qty = p[TP2_FRAC] * size0
            if (not runner) or qty >= left - dust:
                qty = left
            if qty > 0.0:
                q2 = qty
            else:  # a 0 % TP2 is done without an order: the runner starts now
                st[S_TP2_DONE] = 1.0
                if st[S_TRAILING] == 0.0:
                    _start_runner(p, st, s, price)
            rest = left - qty
            left = 0.0 if rest <= dust else rest
        if left == 0.0:
            if q1 > 0.0:
                _book(p, st, row, bar, price, q1, R_TP1, f_bar, f_price, f_frac, f_reason)
            if q2 > 0.0:
                _book(p, st, row, bar, price, q2, R_TP2, f_bar, f_price, f_frac, f_reason)
            return

    if st[S_BE_DONE] == 0.0 and s * (price - p[BE_TRIG]) >= 0.0:
        st[S_BE_DONE] = 1.0
        if s * (entry - st[S_STOP]) > 0.0:
            _move(st, s, entry, R_BREAKEVEN)
    if st[S_LOCK_DONE] == 0.0 and s * (price - p[LOCK_TRIG]) >= 0.0:
        st[S_LOCK_DONE] = 1.0
        lock = p[LOCK_STOP]
        if s * (lock - st[S_STOP]) > 0.0:
            _move(st, s, lock, R_PROFIT_LOCK)
    if st[S_TRAILING] != 0.0:
        _trail(p, st, s, price)

    if q1 > 0.0:
        _book(p, st, row, bar, price, q1, R_TP1, f_bar, f_price, f_frac, f_reason)
    if q2 > 0.0 and st[S_CLOSED] == 0.0:
        _book(p, st, row, bar, price, q2, R_TP2, f_bar, f_price, f_frac, f_reason)


@njit(cache=True)
def _next_target(p: F64, st: F64) -> float:  # pragma: no cover - compiled
    """engine.bars._next_target; NaN when none is pending."""
    if st[S_TP1_DONE] == 0.0:
        return float(p[TP1])
    if not math.isnan(p[TP2]) and st[S_TP2_DONE] == 0.0:
        return float(p[TP2])
    return math.nan


@njit(cache=True)
def _level_between(p: F64, st: F64, start: float, end: float) -> float:  # pragma: no cover
    """engine.bars._level_between; NaN when no level lies strictly between."""
    s = p[SIGN]
    if s * (end - start) < 0.0:
        stop = st[S_STOP]
        if s * (start - stop) > 0.0 and s * (end - stop) < 0.0:
            return float(stop)
        return math.nan
    target = _next_target(p, st)
    if not math.isnan(target) and s * (start - target) < 0.0 and s * (end - target) > 0.0:
        return target
    return math.nan


@njit(cache=True)
def _candle(
    p: F64,
    st: F64,
    row: int,
    bar: int,
    o: float,
    h: float,
    lo: float,
    c: float,
    optimistic: bool,
    f_bar: I64,
    f_price: F64,
    f_frac: F64,
    f_reason: I8,
) -> None:  # pragma: no cover - compiled
    """engine.bars.bar_prices for one bar, each price through _on_price."""
    s = p[SIGN]
    long = s > 0.0
    adverse_first = -1
    target = _next_target(p, st)
    if not math.isnan(target):
        adverse = lo if long else h
        favorable = h if long else lo
        stop = st[S_STOP]
        opens_through = s * (o - stop) <= 0.0 or s * (o - target) >= 0.0
        if not opens_through and s * (adverse - stop) <= 0.0 and s * (favorable - target) >= 0.0:
            st[S_AMBIG] += 1.0
            adverse_first = 0 if optimistic else 1
    low_first = (c >= o) if adverse_first < 0 else ((adverse_first == 1) == long)
    c1 = lo if low_first else h
    c2 = h if low_first else lo
    current = o
    _on_price(p, st, row, bar, o, f_bar, f_price, f_frac, f_reason)
    for k in range(3):
        corner = c1 if k == 0 else (c2 if k == 1 else c)
        while st[S_CLOSED] == 0.0:
            level = _level_between(p, st, current, corner)
            if math.isnan(level):
                break
            current = level
            _on_price(p, st, row, bar, level, f_bar, f_price, f_frac, f_reason)
        if st[S_CLOSED] != 0.0:
            return
        if corner != current:
            current = corner
            _on_price(p, st, row, bar, corner, f_bar, f_price, f_frac, f_reason)


@njit(cache=True)
def _favorable_level(p: F64, st: F64) -> float:  # pragma: no cover - compiled
    """The nearest favorable price at which something would change, +/-inf if none."""
    s = p[SIGN]
    best = math.inf * s
    target = _next_target(p, st)
    if not math.isnan(target) and s * (target - best) < 0.0:
        best = target
    if st[S_BE_DONE] == 0.0 and s * (p[BE_TRIG] - best) < 0.0:
        best = p[BE_TRIG]
    if st[S_LOCK_DONE] == 0.0 and s * (p[LOCK_TRIG] - best) < 0.0:
        best = p[LOCK_TRIG]
    if st[S_TRAILING] != 0.0 and s * (st[S_PEAK] - best) < 0.0:
        best = st[S_PEAK]
    return float(best)


@njit(cache=True)
def _skip(p: F64, st: F64, hi: F64, lo: F64, a: int, b: int) -> None:  # pragma: no cover
    """MFE/MAE over quiet bars [a, b): every price they show lies within their extremes, and
    the engine's percent is monotone in the price, so the extremes give the same numbers."""
    mx, mn = range_extremes(hi, lo, a, b)
    s = p[SIGN]
    entry = p[ENTRY]
    best = mx if s > 0.0 else mn
    worst = mn if s > 0.0 else mx
    diff = s * (best - entry)
    if diff > 0.0:
        pct = 100.0 * (diff / entry)
        if pct > st[S_MFE]:
            st[S_MFE] = pct
    diff = s * (worst - entry)
    if diff < 0.0:
        pct = 100.0 * (diff / entry)
        if pct < st[S_MAE]:
            st[S_MAE] = pct


@njit(cache=True)
def simulate(
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    hi: F64,
    lo: F64,
    kind: int,
    plans: F64,
    starts: I64,
    ends: I64,
    optimistic: bool,
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
    """Run every row of `plans` on bars [starts[r], ends[r]); outputs are written per row.

    A row whose entry (plans[r, ENTRY]) is NaN is a refused entry: left with 0 fills. A position
    still open after its last bar closes there at the close, reason end_of_data.
    """
    st = np.zeros(STATE_FIELDS, dtype=np.float64)
    for r in range(plans.shape[0]):
        p = plans[r]
        n_fills[r] = 0
        if math.isnan(p[ENTRY]):
            mfe[r] = 0.0
            mae[r] = 0.0
            ambiguous[r] = 0
            pnl[r] = 0.0
            continue
        st[:] = 0.0
        st[S_STOP] = p[STOP]
        st[S_SIZE] = p[SIZE]
        st[S_LAST] = p[ENTRY]
        s = p[SIGN]
        long = s > 0.0
        j = starts[r]
        end = ends[r]
        while j < end and st[S_CLOSED] == 0.0:
            k = next_event(hi, lo, j, end, long, _favorable_level(p, st), st[S_STOP])
            if k > j:
                _skip(p, st, hi, lo, j, k)
                j = k
                if j >= end:
                    break
            if kind == CLOSES:
                _on_price(p, st, r, j, close[j], f_bar, f_price, f_frac, f_reason)
            else:
                _candle(
                    p,
                    st,
                    r,
                    j,
                    open_[j],
                    high[j],
                    low[j],
                    close[j],
                    optimistic,
                    f_bar,
                    f_price,
                    f_frac,
                    f_reason,
                )
            j += 1
        if st[S_CLOSED] == 0.0:
            last = end - 1
            price = close[last] if last >= 0 else p[ENTRY]
            _record(st, r, last, price, st[S_SIZE], R_END, p, f_bar, f_price, f_frac, f_reason)
        n_fills[r] = int(st[S_NFILLS])
        mfe[r] = st[S_MFE]
        mae[r] = st[S_MAE]
        ambiguous[r] = int(st[S_AMBIG])
        pnl[r] = st[S_PNL]


@dataclass(slots=True)
class Results:
    """Per-row outputs of `run`; fills beyond `n_fills[r]` are unused."""

    fill_bar: I64
    fill_price: F64
    fill_frac: F64
    fill_reason: I8
    n_fills: I8
    mfe_pct: F64
    mae_pct: F64
    ambiguous: I32
    pnl_pct: F64

    def fills(self, r: int) -> list[tuple[int, float, float, str]]:
        """Row r's fills as (bar index, price, fraction of initial size, reason)."""
        return [
            (
                int(self.fill_bar[r, i]),
                float(self.fill_price[r, i]),
                float(self.fill_frac[r, i]),
                REASONS[int(self.fill_reason[r, i])],
            )
            for i in range(int(self.n_fills[r]))
        ]


def run(
    tables: SparseTables,
    plans: F64,
    starts: I64,
    ends: I64,
    *,
    optimistic: bool = False,
) -> Results:
    """Simulate every plan row (see `simulate`); `starts`/`ends` bound each row's bars."""
    n = plans.shape[0]
    res = Results(
        fill_bar=np.zeros((n, MAX_FILLS), dtype=np.int64),
        fill_price=np.zeros((n, MAX_FILLS), dtype=np.float64),
        fill_frac=np.zeros((n, MAX_FILLS), dtype=np.float64),
        fill_reason=np.zeros((n, MAX_FILLS), dtype=np.int8),
        n_fills=np.zeros(n, dtype=np.int8),
        mfe_pct=np.zeros(n, dtype=np.float64),
        mae_pct=np.zeros(n, dtype=np.float64),
        ambiguous=np.zeros(n, dtype=np.int32),
        pnl_pct=np.zeros(n, dtype=np.float64),
    )
    if n == 0:
        return res
    simulate(
        tables.open,
        tables.high,
        tables.low,
        tables.close,
        tables.hi,
        tables.lo,
        tables.kind,
        np.ascontiguousarray(plans, dtype=np.float64),
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        optimistic,
        res.fill_bar,
        res.fill_price,
        res.fill_frac,
        res.fill_reason,
        res.n_fills,
        res.mfe_pct,
        res.mae_pct,
        res.ambiguous,
        res.pnl_pct,
    )
    return res
