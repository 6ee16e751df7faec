"""The compiled exit kernel: `cockpit.engine`'s decisions for many (trade, plan) rows at once.

Each row is one plan (levels in price, as `ExitPlan` holds them) on one path (bars `start` to
`end - 1` of the file). The kernel runs, per row, exactly what `engine.bars.bar_prices` +
`engine.exits.on_price` + `apply_fill` do when every close fills in full at its trigger price
(the session's and `reference.run_trade`'s way): the same comparisons in the same order on the
same floats, so fills, MFE/MAE and ambiguous-bar counts are bit-identical. The engine module
docstrings are the specification; the comments here only say where the kernel takes a shortcut.
No fastmath anywhere: reassociation, contraction into FMA or "no NaN" assumptions would change
the floats (NaN is how a plan says "no TP2" or "no trail").

Why it is flat: `trade` keeps a position's whole state in local scalars (registers), walks a
bar's prices (the open, levels crossed, the extremes, the close) in one loop and decides each
price inline; the helpers are inlined by numba (`inline="always"`: no call passes a dozen array
structs), and no array view or allocation is made per trade or price. MFE/MAE keep the most
favorable and adverse prices and divide once at the end (the percent is monotone in the price,
so it is the same number without a division per price). The rows driver `simulate` reads plan
rows; `grid_kernel.simulate_grid` builds each (trade, set) plan from numeric policy parameters
inside the compiled loop instead.

The shortcut: a bar in which no level can be reached (the adverse extreme short of the stop, the
favorable extreme short of the next target, of an untriggered breakeven/profit-lock trigger and
of the runner's peak) changes nothing but MFE/MAE. `SparseTables` holds range maxima/minima of
the path in powers of two, so `_gallop` finds the next bar that can change anything in ~2 log2 of
the distance steps and gathers the skipped bars' extremes on the way. The tables are built once
per file and shared by every trade and parameter set.

Path kinds: `CANDLES` walks each bar as the engine's candle path does (open, extremes in the
assumed order with pessimistic or optimistic ambiguity, levels visited exactly, gaps filled at
the open); `CLOSES` feeds each bar's close as one tick.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cockpit.backtest.results import I8, I32, Results
from cockpit.backtest.results import MAX_FILLS as MAX_FILLS
from cockpit.backtest.results import REASONS as REASONS
from cockpit.backtest.tables import CLOSES, F64, I64, SparseTables

# Plan row layout (float64). A missing TP2 / trail / ATR is NaN.
SIGN, ENTRY, SIZE, STOP, BE_TRIG, LOCK_TRIG, LOCK_STOP = 0, 1, 2, 3, 4, 5, 6
TP1, TP1_FRAC, TP2, TP2_FRAC, RUNNER_FRAC, TRAIL_MULT, ATR = 7, 8, 9, 10, 11, 12, 13
PLAN_FIELDS = 14

# Fill reasons (results.REASONS): the stop's role (0-3) is its reason, as `ExitReason.for_stop`.
R_STOP_LOSS, R_BREAKEVEN, R_PROFIT_LOCK, R_TRAIL, R_TP1, R_TP2, R_END = 0, 1, 2, 3, 4, 5, 6

SIZE_EPS = 1e-12  # engine.exits.SIZE_EPS


@njit(cache=True, inline="always")
def _trail(
    s: float, price: float, peak: float, stop: float, role: int, can_trail: bool, dist: float
) -> tuple[float, float, int]:  # pragma: no cover - compiled
    """engine.exits._trail (never paused in a backtest, no manual multiple): (peak, stop, role).

    `dist` is `mult * atr`, the engine's own product; a new stop passes `_move`'s tighten-only
    test exactly when it passes the trail's (s is +1 or -1, so s * x is exact)."""
    if s * (price - peak) > 0.0:
        peak = price
    if can_trail:
        trail = peak - s * dist
        if s * (trail - stop) > 0.0:
            stop = trail
            role = R_TRAIL
    return peak, stop, role


@njit(cache=True, inline="always")
def _start_runner(
    s: float, entry: float, price: float, stop: float, role: int, can_trail: bool, dist: float
) -> tuple[float, float, int]:  # pragma: no cover - compiled
    """engine.exits._start_runner then the first _trail: (peak, stop, role); trailing is on."""
    if (entry > stop) if s > 0.0 else (entry < stop):
        stop = entry
        role = R_BREAKEVEN
    return _trail(s, price, price, stop, role, can_trail, dist)


@njit(cache=True, inline="always")
def _book(
    row: int,
    bar: int,
    price: float,
    qty: float,
    reason: int,
    s: float,
    entry: float,
    size0: float,
    dust: float,
    has2: bool,
    runner: bool,
    can_trail: bool,
    dist: float,
    size: float,
    tp1_done: bool,
    tp2_done: bool,
    trailing: bool,
    stop: float,
    role: int,
    peak: float,
    nf: int,
    pnl: float,
    f_bar: I64,
    f_price: F64,
    f_frac: F64,
    f_reason: I8,
) -> tuple[float, bool, bool, bool, bool, float, int, float, int, float]:  # pragma: no cover
    """engine.exits.apply_fill + _target_done for a close filled in full at `price`, and the
    fill written to the row's outputs. Returns the changed state:
    (size, closed, tp1_done, tp2_done, trailing, stop, role, peak, n_fills, pnl)."""
    closed = False
    left = size - qty
    if left <= dust:
        size = 0.0
        closed = True
    else:
        size = left
    frac = qty / size0
    f_bar[row, nf] = bar
    f_price[row, nf] = price
    f_frac[row, nf] = frac
    f_reason[row, nf] = reason
    nf += 1
    pnl += frac * (100.0 * (s * (price - entry) / entry))
    if reason != R_TP1 and reason != R_TP2:
        return size, closed, tp1_done, tp2_done, trailing, stop, role, peak, nf, pnl
    if reason == R_TP1:
        tp1_done = True
        last_target = not has2
    else:
        tp2_done = True
        last_target = True
    if closed:
        return size, closed, tp1_done, tp2_done, trailing, stop, role, peak, nf, pnl
    if reason == R_TP1 and ((entry > stop) if s > 0.0 else (entry < stop)):
        stop = entry
        role = R_BREAKEVEN
    if last_target and runner and not trailing:
        trailing = True
        peak, stop, role = _start_runner(s, entry, price, stop, role, can_trail, dist)
    return size, closed, tp1_done, tp2_done, trailing, stop, role, peak, nf, pnl


@njit(cache=True, inline="always")
def _gallop(
    hi: F64, lo: F64, j: int, end: int, long: bool, fav: float, stop: float
) -> tuple[int, float, float]:  # pragma: no cover - compiled
    """First bar in [j, end) whose extremes reach `fav` or `stop` (else end), with the max and
    min of the quiet bars before it (-inf/+inf when there are none).

    Galloping, then binary lifting: quiet blocks of 1, 2, 4, ... bars are stepped over until one
    is not quiet (or would pass the end), then the halving blocks below it find the bar. The
    blocks stepped over are disjoint and cover [j, result), so their extremes are the window's.
    """
    levels = hi.shape[0]
    pos = j
    k = 0
    mx_acc = -math.inf
    mn_acc = math.inf
    while k < levels:
        w = 1 << k
        if pos + w > end:
            break
        mx = hi[k, pos]
        mn = lo[k, pos]
        if not ((mx < fav and mn > stop) if long else (mn > fav and mx < stop)):
            break
        mx_acc = mx if mx > mx_acc else mx_acc
        mn_acc = mn if mn < mn_acc else mn_acc
        pos += w
        k += 1
    kk = min(k, levels - 1)
    while kk >= 0:
        w = 1 << kk
        if pos + w <= end:
            mx = hi[kk, pos]
            mn = lo[kk, pos]
            if (mx < fav and mn > stop) if long else (mn > fav and mx < stop):
                mx_acc = mx if mx > mx_acc else mx_acc
                mn_acc = mn if mn < mn_acc else mn_acc
                pos += w
        kk -= 1
    return pos, mx_acc, mn_acc


@njit(cache=True)
def trade(
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    hi: F64,
    lo: F64,
    kind: int,
    optimistic: bool,
    s: float,
    entry: float,
    size0: float,
    stop0: float,
    be_trig: float,
    lock_trig: float,
    lock_stop: float,
    tp1: float,
    tp1f: float,
    tp2: float,
    tp2f: float,
    runner_f: float,
    trail_mult: float,
    atr: float,
    start: int,
    end: int,
    row: int,
    f_bar: I64,
    f_price: F64,
    f_frac: F64,
    f_reason: I8,
    n_fills: I8,
    mfe_out: F64,
    mae_out: F64,
    ambiguous_out: I32,
    pnl_out: F64,
) -> None:  # pragma: no cover - compiled
    """One plan on bars [start, end), its outputs written at `row` (see module docstring).

    A position still open after its last bar closes there at the close, reason end_of_data.
    """
    long = s > 0.0
    has2 = not math.isnan(tp2)
    dust = SIZE_EPS * (size0 if size0 > 1.0 else 1.0)
    runner = runner_f > 0.0
    can_trail = not (math.isnan(trail_mult) or math.isnan(atr))
    dist = trail_mult * atr
    stop = stop0
    role = R_STOP_LOSS
    size = size0
    tp1_done = False
    tp2_done = False
    trailing = False
    be_done = False
    lock_done = False
    closed = False
    peak = 0.0
    best = entry  # the most favorable and adverse prices seen: MFE/MAE at the end
    worst = entry
    amb = 0
    nf = 0
    pnl = 0.0
    j = start
    while j < end and not closed:
        # engine.bars._next_target (NaN: none pending), then the nearest favorable price at
        # which anything would change (+/-inf if none): the event search's upper level.
        if not tp1_done:
            target = tp1
        elif has2 and not tp2_done:
            target = tp2
        else:
            target = math.nan
        fav = math.inf * s
        if not math.isnan(target) and s * (target - fav) < 0.0:
            fav = target
        if not be_done and s * (be_trig - fav) < 0.0:
            fav = be_trig
        if not lock_done and s * (lock_trig - fav) < 0.0:
            fav = lock_trig
        if trailing and s * (peak - fav) < 0.0:
            fav = peak
        k, mx, mn = _gallop(hi, lo, j, end, long, fav, stop)
        if k > j:
            # MFE/MAE over the quiet bars: every price they show lies within their extremes,
            # and the engine's percent is monotone in the price, so the extremes give the same
            # numbers.
            xb = mx if long else mn
            xw = mn if long else mx
            if s * (xb - best) > 0.0:
                best = xb
            if s * (xw - worst) < 0.0:
                worst = xw
            j = k
            if j >= end:
                break

        # The bar's prices, one at a time: engine.bars.bar_prices (candles) or the close.
        o = open_[j]
        c = close[j]
        c1 = c
        c2 = c
        if kind == CLOSES:
            price = c
            corner = 3  # nothing after the close
        else:
            h = high[j]
            lw = low[j]
            adverse_first = -1
            if not math.isnan(target):
                adverse = lw if long else h
                favorable = h if long else lw
                opens_through = s * (o - stop) <= 0.0 or s * (o - target) >= 0.0
                if (
                    not opens_through
                    and s * (adverse - stop) <= 0.0
                    and s * (favorable - target) >= 0.0
                ):
                    amb += 1
                    adverse_first = 0 if optimistic else 1
            low_first = (c >= o) if adverse_first < 0 else ((adverse_first == 1) == long)
            c1 = lw if low_first else h
            c2 = h if low_first else lw
            price = o
            corner = 0  # next: levels up to the first extreme, then it
        current = price
        while True:
            # engine.exits.on_price at `price`; decided closes booked in order afterwards.
            if s * (price - best) > 0.0:
                best = price
            elif s * (price - worst) < 0.0:
                worst = price
            q1 = 0.0
            q2 = 0.0
            if s * (price - stop) <= 0.0:
                q1 = size
                r1 = role
            else:
                r1 = R_TP1
                hit1 = not tp1_done and s * (price - tp1) >= 0.0
                hit2 = has2 and not tp2_done and (hit1 or tp1_done) and s * (price - tp2) >= 0.0
                left = 1.0
                if hit1 or hit2:
                    left = size
                    if hit1:
                        final = (not runner) and ((not has2) or tp2f == 0.0)
                        qty = tp1f * size0
                        if final or qty >= left - dust:
                            qty = left
                        q1 = qty
                        rest = left - qty
                        left = 0.0 if rest <= dust else rest
                    if hit2 and left > 0.0:
                        qty = tp2f * size0
                        if (not runner) or qty >= left - dust:
                            qty = left
                        if qty > 0.0:
                            q2 = qty
                        else:  # a 0 % TP2 is done without an order: the runner starts now
                            tp2_done = True
                            if not trailing:
                                trailing = True
                                peak, stop, role = _start_runner(
                                    s, entry, price, stop, role, can_trail, dist
                                )
                        rest = left - qty
                        left = 0.0 if rest <= dust else rest
                if left != 0.0:  # a position closed in full skips the triggers
                    if not be_done and s * (price - be_trig) >= 0.0:
                        be_done = True
                        if s * (entry - stop) > 0.0:
                            stop = entry
                            role = R_BREAKEVEN
                    if not lock_done and s * (price - lock_trig) >= 0.0:
                        lock_done = True
                        if s * (lock_stop - stop) > 0.0:
                            stop = lock_stop
                            role = R_PROFIT_LOCK
                    if trailing:
                        peak, stop, role = _trail(s, price, peak, stop, role, can_trail, dist)
            if q1 > 0.0:
                size, closed, tp1_done, tp2_done, trailing, stop, role, peak, nf, pnl = _book(
                    row, j, price, q1, r1, s, entry, size0, dust, has2, runner, can_trail, dist,
                    size, tp1_done, tp2_done, trailing, stop, role, peak, nf, pnl,
                    f_bar, f_price, f_frac, f_reason,
                )  # fmt: skip
            if q2 > 0.0 and not closed:
                size, closed, tp1_done, tp2_done, trailing, stop, role, peak, nf, pnl = _book(
                    row, j, price, q2, R_TP2, s, entry, size0, dust, has2, runner, can_trail,
                    dist, size, tp1_done, tp2_done, trailing, stop, role, peak, nf, pnl,
                    f_bar, f_price, f_frac, f_reason,
                )  # fmt: skip
            if closed:
                break
            # The next price of the candle walk: a level strictly between the current price
            # and the next extreme (engine.bars._level_between: the stop going against the
            # position, the next target going with it), else that extreme, then the next.
            found = False
            while corner < 3:
                goal = c1 if corner == 0 else (c2 if corner == 1 else c)
                level = math.nan
                if s * (goal - current) < 0.0:
                    if s * (current - stop) > 0.0 and s * (goal - stop) < 0.0:
                        level = stop
                else:
                    if not tp1_done:
                        nxt = tp1
                    elif has2 and not tp2_done:
                        nxt = tp2
                    else:
                        nxt = math.nan
                    if not math.isnan(nxt) and s * (current - nxt) < 0.0 and s * (goal - nxt) > 0.0:
                        level = nxt
                if not math.isnan(level):
                    price = level
                    found = True
                    break
                corner += 1
                if goal != current:
                    price = goal
                    found = True
                    break
            if not found:
                break
            current = price
        j += 1
    if not closed:
        last = end - 1
        price = close[last] if last >= 0 else entry
        frac = size / size0
        f_bar[row, nf] = last
        f_price[row, nf] = price
        f_frac[row, nf] = frac
        f_reason[row, nf] = R_END
        nf += 1
        pnl += frac * (100.0 * (s * (price - entry) / entry))
    n_fills[row] = nf
    diff = s * (best - entry)
    mfe_out[row] = 100.0 * (diff / entry) if diff > 0.0 else 0.0
    diff = s * (worst - entry)
    mae_out[row] = 100.0 * (diff / entry) if diff < 0.0 else 0.0
    ambiguous_out[row] = amb
    pnl_out[row] = pnl


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

    A row whose entry (plans[r, ENTRY]) is NaN is a refused entry: left with 0 fills.
    """
    for r in range(plans.shape[0]):
        if math.isnan(plans[r, ENTRY]):
            n_fills[r] = 0
            mfe[r] = 0.0
            mae[r] = 0.0
            ambiguous[r] = 0
            pnl[r] = 0.0
            continue
        trade(
            open_, high, low, close, hi, lo, kind, optimistic,
            plans[r, SIGN], plans[r, ENTRY], plans[r, SIZE], plans[r, STOP],
            plans[r, BE_TRIG], plans[r, LOCK_TRIG], plans[r, LOCK_STOP],
            plans[r, TP1], plans[r, TP1_FRAC], plans[r, TP2], plans[r, TP2_FRAC],
            plans[r, RUNNER_FRAC], plans[r, TRAIL_MULT], plans[r, ATR],
            starts[r], ends[r], r,
            f_bar, f_price, f_frac, f_reason, n_fills, mfe, mae, ambiguous, pnl,
        )  # fmt: skip


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
    res = Results.empty(n)
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
        *res.outputs(),
    )
    return res
