"""The journal on SQLite and on a local PostgreSQL, side by side (issue 17 item 5).

    uv run python bench/journal_engines.py [--commits 300] [--positions 1 10 50] [--flushes 30]

Per engine, through the real `Store`:
- commits/s: awaited single-row writes (an audit row each: one transaction and one commit per
  call, as an order intent is) one after the other;
- flush ms: one throttled snapshot flush of N dirty positions (one executemany UPDATE);
- update us: `Store.update_position`, the only store call on the per-tick path: it marks the
  position dirty and returns, so it must cost the same on both engines (no round trip per tick).
The PostgreSQL side is a throwaway cluster started here with the server's default durability
(fsync on), or the server at COCKPIT_BENCH_PG_URL (an admin URL that may CREATE DATABASE);
without either it is skipped, saying why. Ratios are PostgreSQL / SQLite measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from state.store import Store  # noqa: E402
from tests import pg_server  # noqa: E402
from tests.state.factories import T0, open_trade  # noqa: E402


async def measure(url: str, commits: int, sizes: list[int], flushes: int) -> dict[str, float]:
    store = await Store.open(url, flush_interval_s=3600.0)
    out: dict[str, float] = {}
    try:
        start = time.perf_counter()
        for i in range(commits):
            await store.record_audit("bench", "bench", f"write {i}", "bench", T0 + i)
        out["commits/s"] = commits / (time.perf_counter() - start)
        positions = [
            await open_trade(store, f"b{i}", ts_ms=T0 + i, size=1.0) for i in range(max(sizes))
        ]
        for n in sizes:
            costs = []
            for k in range(flushes):
                for p in positions[:n]:
                    p.mfe_pct = k / 100
                    store.update_position(p)
                start = time.perf_counter()
                await store.flush()
                costs.append(time.perf_counter() - start)
            out[f"flush {n} ms"] = statistics.median(costs) * 1000
        calls = 20_000
        start = time.perf_counter()
        for k in range(calls):
            store.update_position(positions[k % len(positions)])
        out["update us"] = (time.perf_counter() - start) / calls * 1e6
        await store.flush()
    finally:
        await store.close()
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--positions", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--flushes", type=int, default=30)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        lite = await measure(
            f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            args.commits,
            args.positions,
            args.flushes,
        )
    pg: dict[str, float] | None = None
    why = ""
    cluster = None
    admin = os.environ.get("COCKPIT_BENCH_PG_URL")
    try:
        if admin is None:
            cluster = await asyncio.to_thread(pg_server.start_cluster, fast=False)
            admin = cluster.admin_url
        name, url = await pg_server.create_database(admin)
        try:
            pg = await measure(url, args.commits, args.positions, args.flushes)
        finally:
            await pg_server.drop_database(admin, name)
    except Exception as exc:
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
    print(f"{'figure':<16} {'sqlite':>10} {'postgresql':>12} {'pg/sqlite':>10}")
    for key, value in lite.items():
        other = "" if pg is None else f"{pg[key]:>12.2f}"
        ratio = "" if pg is None else f"{pg[key] / value:>10.2f}"
        print(f"{key:<16} {value:>10.2f} {other:>12} {ratio:>10}")
    if pg is None:
        print(f"postgresql: skipped ({why})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
