"""A backtest's unit of work: some consecutive trades under every parameter set.

Shared by the local runners (`run.py`) and the Dask tasks (`cluster.py`): a `Chunk` carries all
a worker needs but the file (sent once per worker) and the encoded sets; `run_chunk` simulates
it; `concat` puts the chunks' results back together in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cockpit.backtest.grid_kernel import SetParams, simulate_grid
from cockpit.backtest.plans import Trades
from cockpit.backtest.results import Results
from cockpit.backtest.tables import F64, I64, SparseTables


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some consecutive trades of a run, to be simulated under every set: a unit of work that
    carries everything but the file (sent once per worker) and the sets."""

    sign: F64
    entry: F64
    atr: F64
    score: F64
    starts: I64
    ends: I64

    def __len__(self) -> int:
        return int(self.sign.shape[0])


def chunks_of(trades: Trades, starts: I64, ends: I64, size: int) -> list[Chunk]:
    """Trades [0, size), [size, 2 size), ... as chunks (copies: a chunk is shipped alone)."""
    cols = (trades.sign, trades.entry, trades.atr, trades.score, starts, ends)
    return [Chunk(*(np.array(c[a : a + size]) for c in cols)) for a in range(0, len(trades), size)]


def run_chunk(
    tables: SparseTables, sets: SetParams, chunk: Chunk, optimistic: bool, threads: int = 1
) -> Results:
    """One chunk under every set (rows trade-major, as the whole run's)."""
    return simulate_grid(
        tables,
        sets,
        chunk.sign,
        chunk.entry,
        chunk.atr,
        chunk.score,
        chunk.starts,
        chunk.ends,
        optimistic=optimistic,
        threads=threads,
    )


def concat(parts: Sequence[Results]) -> Results:
    """Chunk results back into one, in order."""
    return Results(
        *(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(Results))
    )
