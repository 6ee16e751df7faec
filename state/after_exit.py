"""The extremes of the candles recorded after each trade's exit, for many trades at once.

"Missed after exit" asks, per trade, for the highest high and lowest low of the bars of its symbol
that open in [exit, exit + window). Asked of SQLite as one grouped join, every trade re-reads its
whole window (1,440 one-minute bars for 24 h): 100k trades took 12 s. Here each symbol's bars are
read once, sorted by open time, and every window is answered from them with a range-maximum
(range-minimum) computed level by level (the sparse-table doubling, keeping one level at a time,
so memory stays at one copy of the bars). The result is exactly the SQL's: same bars, same bounds.

`latest_bar_ms` tells the caller when a window is closed for good (a bar at or after its end is
recorded), so a cached answer never has to be recomputed; see `state.journal_reader`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Window:
    """One trade's question: bars of `symbol` opening in [start_ms, end_ms)."""

    key: int
    symbol: str
    start_ms: int
    end_ms: int


def series(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """The timeframes recorded per symbol, found by skipping along the primary key (one index
    probe per pair, where SELECT DISTINCT would read every bar)."""
    found: dict[str, list[str]] = {}
    row = conn.execute(
        "SELECT symbol, timeframe FROM candles ORDER BY symbol, timeframe LIMIT 1"
    ).fetchone()
    while row is not None:
        found.setdefault(row[0], []).append(row[1])
        row = conn.execute(
            "SELECT symbol, timeframe FROM candles WHERE symbol > ? OR "
            "(symbol = ? AND timeframe > ?) ORDER BY symbol, timeframe LIMIT 1",
            (row[0], row[0], row[1]),
        ).fetchone()
    return found


def latest_bar_ms(conn: sqlite3.Connection, symbol: str, timeframes: Sequence[str]) -> int | None:
    """Open time of the symbol's newest bar over all its timeframes (None: no bars)."""
    newest: int | None = None
    for timeframe in timeframes:
        row = conn.execute(
            "SELECT MAX(ts_ms) FROM candles WHERE symbol = ? AND timeframe = ?",
            (symbol, timeframe),
        ).fetchone()
        if row is not None and row[0] is not None:
            newest = int(row[0]) if newest is None else max(newest, int(row[0]))
    return newest


def extremes(
    conn: sqlite3.Connection, windows: Sequence[Window], recorded: dict[str, list[str]]
) -> dict[int, tuple[float | None, float | None]]:
    """(highest high, lowest low) of each window's bars, (None, None) where it has none."""
    out: dict[int, tuple[float | None, float | None]] = {}
    by_symbol: dict[str, list[Window]] = {}
    for window in windows:
        by_symbol.setdefault(window.symbol, []).append(window)
    for symbol, group in by_symbol.items():
        timeframes = recorded.get(symbol, [])
        ts, high, low = _bars(conn, symbol, timeframes, group)
        starts = np.fromiter((w.start_ms for w in group), np.int64, len(group))
        ends = np.fromiter((w.end_ms for w in group), np.int64, len(group))
        lo = np.searchsorted(ts, starts, side="left")
        hi = np.searchsorted(ts, ends, side="left")
        highs = range_reduce(high, lo, hi, np.maximum)
        lows = range_reduce(low, lo, hi, np.minimum)
        for i, window in enumerate(group):
            if hi[i] > lo[i]:
                out[window.key] = (float(highs[i]), float(lows[i]))
            else:
                out[window.key] = (None, None)
    return out


def _bars(
    conn: sqlite3.Connection, symbol: str, timeframes: Sequence[str], group: Sequence[Window]
) -> tuple[Ints, Floats, Floats]:
    """The symbol's bars (every timeframe) that can fall in any of the windows, by open time."""
    first = min(w.start_ms for w in group)
    last = max(w.end_ms for w in group)
    ts_parts: list[Ints] = []
    high_parts: list[Floats] = []
    low_parts: list[Floats] = []
    for timeframe in timeframes:
        cursor = conn.execute(
            "SELECT ts_ms, high, low FROM candles WHERE symbol = ? AND timeframe = ? "
            "AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms",
            (symbol, timeframe, first, last),
        )
        rows = cursor.fetchall()
        if not rows:
            continue
        table = np.array(rows, dtype=np.float64)  # open times in ms are exact below 2**53
        ts_parts.append(table[:, 0].astype(np.int64))
        high_parts.append(table[:, 1])
        low_parts.append(table[:, 2])
    if not ts_parts:
        empty = np.empty(0)
        return np.empty(0, dtype=np.int64), empty, empty
    ts = np.concatenate(ts_parts)
    order = np.argsort(ts, kind="stable")
    return ts[order], np.concatenate(high_parts)[order], np.concatenate(low_parts)[order]


def range_reduce(values: Floats, lo: Ints, hi: Ints, op: np.ufunc) -> Floats:
    """op (maximum or minimum) over values[lo[i]:hi[i]] for every i (empty ranges give nan).

    Level k holds op over the 2**k values starting at each index; a range of length L is the op of
    two overlapping level-floor(log2 L) entries. Levels are built one from the last and dropped,
    so only one is ever held besides the input.
    """
    result = np.full(lo.shape, np.nan)
    lengths = hi - lo
    filled = lengths > 0
    if not filled.any():
        return result
    levels = np.zeros(lo.shape, dtype=np.int64)
    levels[filled] = np.floor(np.log2(lengths[filled])).astype(np.int64)
    # floor(log2) in floating point can be one off near powers of two: correct it exactly
    levels[filled & (np.left_shift(1, levels) > lengths)] -= 1
    levels[filled & (np.left_shift(1, levels + 1) <= lengths)] += 1
    top = int(levels[filled].max())
    level = values
    for k in range(top + 1):
        pick = filled & (levels == k)
        if pick.any():
            span = 1 << k
            result[pick] = op(level[lo[pick]], level[hi[pick] - span])
        if k < top:
            span = 1 << k
            level = op(level[:-span], level[span:])
    return result
