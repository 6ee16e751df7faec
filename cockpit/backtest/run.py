"""Run a backtest: entries x parameter sets through the kernel, in chunks, in 1 or N processes.

Rows are laid out trade-major (every set of one trade side by side), so the sets of a trade run
on the same stretch of the path while it is in cache. Work is cut into chunks of trades; each
chunk is independent and deterministic, so 1 process and N processes give identical results
(chunks are put back in order). `progress` is called after each chunk with (trades done, total).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from cockpit.backtest import kernel
from cockpit.backtest.data import Market
from cockpit.backtest.kernel import Results
from cockpit.backtest.plans import ParamSet, Trades, build_rows
from cockpit.backtest.tables import F64, I64, SparseTables, sparse_tables

CHUNK_TRADES = 500

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Run:
    """A backtest over one file: the trades, the sets, and one result row per (trade, set).

    Row `t * len(sets) + s` is trade t under set s.
    """

    market: Market
    sets: tuple[ParamSet, ...]
    entries: I64
    trades: Trades
    rows: F64
    results: Results
    kind: int

    def row(self, trade: int, set_index: int) -> int:
        return trade * len(self.sets) + set_index


def plan_rows(market: Market, sets: Sequence[ParamSet], trades: Trades) -> F64:
    """Every (trade, set) plan row, trade-major."""
    per_set = [build_rows(ps, trades, market.symbol) for ps in sets]
    stacked = np.stack(per_set, axis=1)  # (trades, sets, fields)
    return np.ascontiguousarray(stacked.reshape(-1, kernel.PLAN_FIELDS))


def bounds(market: Market, entries: I64, n_sets: int, horizon: int | None) -> tuple[I64, I64]:
    """Each row's bars: from the bar after its entry to the end of the data (or the horizon)."""
    starts = entries + 1
    ends = np.full(entries.shape[0], len(market), dtype=np.int64)
    if horizon is not None:
        ends = np.minimum(ends, starts + horizon)
    return np.repeat(starts, n_sets), np.repeat(ends, n_sets)


_WORKER_TABLES: SparseTables | None = None


def _init_worker(arrays: tuple[F64, F64, F64, F64], kind: int) -> None:
    global _WORKER_TABLES
    _WORKER_TABLES = sparse_tables(*arrays, kind)


def _run_chunk(args: tuple[F64, I64, I64, bool]) -> Results:
    assert _WORKER_TABLES is not None
    rows, starts, ends, optimistic = args
    return kernel.run(_WORKER_TABLES, rows, starts, ends, optimistic=optimistic)


def concat(parts: Sequence[Results]) -> Results:
    """Chunk results back into one, in order."""
    return Results(
        *(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Results))
    )


def simulate(
    market: Market,
    rows: F64,
    starts: I64,
    ends: I64,
    *,
    kind: int,
    n_sets: int,
    optimistic: bool = False,
    workers: int = 1,
    progress: Progress | None = None,
) -> Results:
    """The kernel over every row, chunked by trades; identical whatever `workers` is."""
    n_trades = rows.shape[0] // max(n_sets, 1)
    step = CHUNK_TRADES * n_sets
    chunks = [
        (rows[a : a + step], starts[a : a + step], ends[a : a + step], optimistic)
        for a in range(0, rows.shape[0], step)
    ]
    arrays = (market.open, market.high, market.low, market.close)
    parts: list[Results] = []
    if workers <= 1 or len(chunks) <= 1:
        tables = sparse_tables(*arrays, kind)
        for i, (r, s, e, opt) in enumerate(chunks):
            parts.append(kernel.run(tables, r, s, e, optimistic=opt))
            if progress is not None:
                progress(min((i + 1) * CHUNK_TRADES, n_trades), n_trades)
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(arrays, kind)
        ) as pool:
            for i, part in enumerate(pool.map(_run_chunk, chunks)):
                parts.append(part)
                if progress is not None:
                    progress(min((i + 1) * CHUNK_TRADES, n_trades), n_trades)
    if not parts:
        return kernel.run(sparse_tables(*arrays, kind), rows, starts, ends)
    return concat(parts)


def backtest(
    market: Market,
    sets: Sequence[ParamSet],
    entries: I64,
    trades: Trades,
    *,
    kind: int,
    optimistic: bool = False,
    horizon: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> Run:
    """Every entry under every set on one file."""
    rows = plan_rows(market, sets, trades)
    starts, ends = bounds(market, entries, len(sets), horizon)
    results = simulate(
        market,
        rows,
        starts,
        ends,
        kind=kind,
        n_sets=len(sets),
        optimistic=optimistic,
        workers=workers,
        progress=progress,
    )
    return Run(market, tuple(sets), entries, trades, rows, results, kind)
