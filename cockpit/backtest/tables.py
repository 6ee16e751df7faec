"""Range maxima and minima of a file in powers of two: the kernel's way past quiet bars.

`hi[k, i]` is the max of the favorable-side extremes of bars i .. i + 2**k - 1 (the highs on the
candle path, the closes on the closes path), `lo` the min of the other side. Built once per file
and path kind (O(n log n)), shared by every trade and parameter set: `next_event` finds the first
bar reaching a level, `range_extremes` the extremes of any window in O(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

CANDLES, CLOSES = 0, 1
PATH_KINDS = {"candles": CANDLES, "closes": CLOSES}


@dataclass(frozen=True, slots=True)
class SparseTables:
    """Range maxima and minima in powers of two over a file's favorable/adverse extremes.

    `hi[k, i]` is the max of `high[i : i + 2**k]` (candles) or of the closes (closes path);
    `lo` the min. Rows past the end of the data hold nothing meaningful and are never read.
    """

    open: F64
    high: F64
    low: F64
    close: F64
    hi: F64
    lo: F64
    kind: int


def sparse_tables(open_: F64, high: F64, low: F64, close: F64, kind: int) -> SparseTables:
    """Build the tables for one file and path kind (O(n log n), once per file)."""
    o, h, lo_, c = (np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close))
    if kind == CLOSES:
        hi, lo = _build_tables(c, c)
    else:
        hi, lo = _build_tables(h, lo_)
    return SparseTables(o, h, lo_, c, hi, lo, kind)


@njit(cache=True)
def _build_tables(high: F64, low: F64) -> tuple[F64, F64]:  # pragma: no cover - compiled
    n = high.shape[0]
    levels = 1
    while (1 << levels) <= n:
        levels += 1
    hi = np.empty((levels, n), dtype=np.float64)
    lo = np.empty((levels, n), dtype=np.float64)
    hi[0, :] = high
    lo[0, :] = low
    for k in range(1, levels):
        half = 1 << (k - 1)
        for i in range(n - (1 << k) + 1):
            a, b = hi[k - 1, i], hi[k - 1, i + half]
            hi[k, i] = a if a >= b else b
            a, b = lo[k - 1, i], lo[k - 1, i + half]
            lo[k, i] = a if a <= b else b
    return hi, lo


@njit(cache=True)
def next_event(
    hi: F64, lo: F64, j: int, end: int, long: bool, fav: float, stop: float
) -> int:  # pragma: no cover - compiled
    """First bar in [j, end) whose extremes reach `fav` or `stop`, else end.

    Galloping, then binary lifting: quiet blocks of 1, 2, 4, ... bars are stepped over until one
    is not quiet (or would pass the end), then the halving blocks below it find the bar. Events
    are usually near, so this reads a few cache-close table cells instead of one per level.
    """
    levels = hi.shape[0]
    pos = j
    k = 0
    while k < levels:
        w = 1 << k
        if pos + w > end:
            break
        mx = hi[k, pos]
        mn = lo[k, pos]
        if not ((mx < fav and mn > stop) if long else (mn > fav and mx < stop)):
            break
        pos += w
        k += 1
    for kk in range(min(k, levels - 1), -1, -1):
        w = 1 << kk
        if pos + w <= end:
            mx = hi[kk, pos]
            mn = lo[kk, pos]
            if (mx < fav and mn > stop) if long else (mn > fav and mx < stop):
                pos += w
    return pos


@njit(cache=True)
def range_extremes(hi: F64, lo: F64, a: int, b: int) -> tuple[float, float]:  # pragma: no cover
    """(max, min) over bars [a, b), b > a, in O(1)."""
    n = b - a
    k = 0
    while (2 << k) <= n:
        k += 1
    mx = max(hi[k, a], hi[k, b - (1 << k)])
    mn = min(lo[k, a], lo[k, b - (1 << k)])
    return mx, mn


@njit(cache=True)
def _window_extremes(
    hi: F64, lo: F64, starts: I64, ends: I64, mx: F64, mn: F64
) -> None:  # pragma: no cover - compiled
    for r in range(starts.shape[0]):
        a, b = starts[r], ends[r]
        if b > a:
            mx[r], mn[r] = range_extremes(hi, lo, a, b)
        else:
            mx[r] = math.nan
            mn[r] = math.nan


def window_extremes(tables: SparseTables, starts: I64, ends: I64) -> tuple[F64, F64]:
    """(max, min) of the tables' extremes over each window [starts[r], ends[r]) (NaN: empty)."""
    mx = np.empty(starts.shape[0])
    mn = np.empty(starts.shape[0])
    _window_extremes(
        tables.hi,
        tables.lo,
        np.ascontiguousarray(starts, dtype=np.int64),
        np.ascontiguousarray(ends, dtype=np.int64),
        mx,
        mn,
    )
    return mx, mn
