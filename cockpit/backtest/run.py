"""Run a backtest: entries x parameter sets through the kernel, in chunks, here or elsewhere.

Rows are laid out trade-major (every set of one trade side by side), so the sets of a trade run
on the same stretch of the path while it is in cache. Work is cut into chunks of trades; each
chunk is independent and deterministic (every row is computed alone, from the same inputs), so
one process, N threads, N local processes (`workers`) and a Dask cluster (`scheduler`, see
`cluster.py`) give identical results; chunks are put back in order. `progress` is called after
each chunk with (trades done, total).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from cockpit.backtest import kernel
from cockpit.backtest.chunks import Chunk, chunks_of, concat, run_chunk
from cockpit.backtest.data import Market
from cockpit.backtest.grid_kernel import SetParams
from cockpit.backtest.plans import ParamSet, Trades, build_rows, encode
from cockpit.backtest.results import Results
from cockpit.backtest.tables import F64, I64, SparseTables, sparse_tables

CHUNK_TRADES = 500

__all__ = ["CHUNK_TRADES", "Chunk", "Run", "backtest", "chunks_of", "concat", "run_chunk"]

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


def trade_bounds(market: Market, entries: I64, horizon: int | None) -> tuple[I64, I64]:
    """Each trade's bars: from the bar after its entry to the end of the data (or the horizon)."""
    starts = np.asarray(entries + 1, dtype=np.int64)
    ends = np.full(entries.shape[0], len(market), dtype=np.int64)
    if horizon is not None:
        ends = np.minimum(ends, starts + horizon)
    return starts, ends


def bounds(market: Market, entries: I64, n_sets: int, horizon: int | None) -> tuple[I64, I64]:
    """Each row's bars (trade-major rows, `n_sets` per trade), as `trade_bounds`."""
    starts, ends = trade_bounds(market, entries, horizon)
    return np.repeat(starts, n_sets), np.repeat(ends, n_sets)


_WORKER_TABLES: SparseTables | None = None


def _init_worker(arrays: tuple[F64, F64, F64, F64], kind: int) -> None:
    global _WORKER_TABLES
    _WORKER_TABLES = sparse_tables(*arrays, kind)


def _run_sets_chunk(args: tuple[SetParams, Chunk, bool]) -> Results:
    assert _WORKER_TABLES is not None
    sets, chunk, optimistic = args
    return run_chunk(_WORKER_TABLES, sets, chunk, optimistic)


def _run_chunk(args: tuple[F64, I64, I64, bool]) -> Results:
    assert _WORKER_TABLES is not None
    rows, starts, ends, optimistic = args
    return kernel.run(_WORKER_TABLES, rows, starts, ends, optimistic=optimistic)


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


def simulate_sets(
    market: Market,
    sets: Sequence[ParamSet],
    trades: Trades,
    starts: I64,
    ends: I64,
    *,
    kind: int,
    optimistic: bool = False,
    workers: int = 1,
    threads: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Results:
    """Every trade (bars [starts[t], ends[t])) under every set, plans built in the kernel.

    In this process (`threads` threads), in `workers` local processes, or on the Dask cluster at
    `scheduler` ("local": a LocalCluster started here); the same results whichever.
    """
    n_trades = len(trades)
    encoded = encode(sets, market.symbol)
    # Threads share a chunk's trades: bigger chunks keep them busy between two progress ticks.
    chunk_trades = CHUNK_TRADES * (4 * threads if threads > 1 else 1)
    chunks = chunks_of(trades, starts, ends, chunk_trades)
    arrays = (market.open, market.high, market.low, market.close)
    done = 0

    def tick(part: Results) -> None:
        nonlocal done
        done = min(done + chunk_trades, n_trades)
        if progress is not None:
            progress(done, n_trades)

    parts: list[Results] = []
    if scheduler is not None:
        from cockpit.backtest.cluster import run_on_cluster

        parts = run_on_cluster(scheduler, arrays, kind, encoded, chunks, optimistic, tick)
    elif workers <= 1 or len(chunks) <= 1:
        tables = sparse_tables(*arrays, kind)
        for chunk in chunks:
            parts.append(run_chunk(tables, encoded, chunk, optimistic, threads))
            tick(parts[-1])
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(arrays, kind)
        ) as pool:
            jobs = [(encoded, chunk, optimistic) for chunk in chunks]
            for part in pool.map(_run_sets_chunk, jobs):
                parts.append(part)
                tick(part)
    if not parts:
        return Results.empty(0)
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
    threads: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Run:
    """Every entry under every set on one file (see `simulate_sets` for where it runs)."""
    starts, ends = trade_bounds(market, entries, horizon)
    results = simulate_sets(
        market,
        sets,
        trades,
        starts,
        ends,
        kind=kind,
        optimistic=optimistic,
        workers=workers,
        threads=threads,
        scheduler=scheduler,
        progress=progress,
    )
    rows = plan_rows(market, sets, trades)
    return Run(market, tuple(sets), entries, trades, rows, results, kind)
