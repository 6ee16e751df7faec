"""`--scheduler ADDRESS`: a backtest's chunks run on a Dask cluster (the `cockpit[cluster]` extra).

For a grid that outgrows one machine. The candle arrays go to every worker once (scattered with
`broadcast=True`); each task is one chunk of trades under every parameter set, and a worker keeps
the sparse tables of a file it has already built (keyed by a digest of the arrays and the path
kind), so a file's tables are built once per worker process, not once per task. Results come back
in submission order, so they are identical to one process and to `--workers N` (every row is
computed alone from the same inputs by the same compiled code). A worker that dies mid-grid
loses only its running tasks; the scheduler runs them again elsewhere (Dask's own retry).

`ADDRESS` is a scheduler address (`tcp://HOST:PORT`) or `local`: a `LocalCluster` of one
process per core on 127.0.0.1, started and stopped for this run.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from cockpit.backtest.chunks import Chunk, run_chunk
from cockpit.backtest.grid_kernel import SetParams
from cockpit.backtest.results import Results
from cockpit.backtest.tables import F64, SparseTables, sparse_tables

MISSING = (
    "--scheduler needs the cluster extra: pip install 'cockpit[cluster]' "
    "(or uv sync --extra cluster)"
)

_TABLES: dict[tuple[str, int], SparseTables] = {}
_TABLES_LOCK = threading.Lock()
_KEEP = 4  # files whose tables a worker keeps


def digest(arrays: Sequence[F64]) -> str:
    """A name for a file's arrays, the same on every machine."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def _tables(key: str, arrays: Sequence[F64], kind: int) -> SparseTables:
    """The worker's tables of this file and kind, built on first use."""
    with _TABLES_LOCK:
        found = _TABLES.get((key, kind))
    if found is not None:
        return found
    built = sparse_tables(arrays[0], arrays[1], arrays[2], arrays[3], kind)
    with _TABLES_LOCK:
        while len(_TABLES) >= _KEEP:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[(key, kind)] = built
    return built


def _task(
    key: str, arrays: Sequence[F64], kind: int, sets: SetParams, chunk: Chunk, optimistic: bool
) -> Results:
    """One chunk on a worker (single-threaded: a worker's threads are Dask's to use)."""
    return run_chunk(_tables(key, arrays, kind), sets, chunk, optimistic)


def require_dask() -> None:
    """ValueError(MISSING) (one line, exit 2 in the CLI) when the extra is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ValueError(MISSING) from None


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """A Dask client for `address`; `local`: a LocalCluster on 127.0.0.1 for the block.

    ValueError (one line) when the extra is missing or the scheduler cannot be reached."""
    require_dask()
    from distributed import Client, LocalCluster

    if address == "local":
        with (
            LocalCluster(
                host="127.0.0.1",
                threads_per_worker=1,
                dashboard_address=None,
                processes=True,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise ValueError(f"--scheduler {address}: cannot reach the scheduler: {exc}") from None
    with client:
        yield client


def run_on_cluster(
    address: str | Any,
    arrays: Sequence[F64],
    kind: int,
    sets: SetParams,
    chunks: Sequence[Chunk],
    optimistic: bool,
    done: Callable[[Results], None],
) -> list[Results]:
    """Every chunk as a task on the cluster at `address` (or an open `distributed.Client`);
    `done` is called once per finished chunk; the parts come back in chunk order."""
    if isinstance(address, str):
        with connect(address) as client:
            return run_on_cluster(client, arrays, kind, sets, chunks, optimistic, done)
    client = address
    from distributed import as_completed

    key = digest(arrays)
    data = client.scatter(list(arrays), broadcast=True)
    futures = [
        client.submit(_task, key, data, kind, sets, chunk, optimistic, pure=False)
        for chunk in chunks
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    parts: list[Results | None] = [None] * len(futures)
    for future in as_completed(futures):
        part = future.result()
        parts[index[future.key]] = part
        done(part)
    return [p for p in parts if p is not None]
