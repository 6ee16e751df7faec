"""How long from `cockpit demo` to a live dashboard? Target: under 2 s.

    uv run python bench/startup.py [--runs 5]

Each run is a fresh interpreter (as a trader's start is) that imports the app, builds the demo
session on a throwaway database, starts it headless and stops at the first dashboard refresh
that shows a price. Printed per phase, in seconds since the interpreter began importing: imports
done, dashboard on screen, first price on it; and the total wall time including interpreter
start-up and shutdown. The first run also creates and migrates the database (and may compile
bytecode); later runs reuse both, as a trader's second start does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import asyncio, json, sys, time
t0 = time.perf_counter()
from adapters.paper import PaperBroker
from adapters.replay import simulated_market
from cockpit.app import CockpitApp
from cockpit.config import Settings
from cockpit.screens.dashboard import DashboardScreen
from cockpit.session import Session
t_import = time.perf_counter() - t0

async def main() -> float:
    settings = Settings(db_url=sys.argv[1])
    now = int(time.time() * 1000)
    feed = simulated_market(start_ms=now - now % 60000, seed=1, speed=1.0)
    session = Session(settings, feed, PaperBroker(settings.paper), ["SOL-PERP"])
    app = CockpitApp(session)
    async with app.run_test(size=(150, 44)) as pilot:
        while not isinstance(app.screen, DashboardScreen):
            await asyncio.sleep(0.005)
        t_screen = time.perf_counter() - t0
        while not session.latest.last_tick:
            await asyncio.sleep(0.005)
        app.screen.refresh_view()
        await pilot.pause()
        return t_screen, time.perf_counter() - t0

t_screen, t_live = asyncio.run(main())
print(json.dumps({"imports": t_import, "screen": t_screen, "live": t_live}))
"""


def run_once(db_url: str) -> dict[str, float]:
    start = time.perf_counter()
    # A trader's Python caches bytecode; a sandbox may forbid it (PYTHONDONTWRITEBYTECODE), which
    # makes every start compile SQLAlchemy and Textual from source. Measure the normal case.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, db_url], capture_output=True, text=True, check=True, env=env
    )
    total = time.perf_counter() - start
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    figures["total"] = total
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        runs = [run_once(db_url) for _ in range(args.runs)]
    print(f"{'run':>4} {'imports s':>10} {'screen s':>9} {'live s':>8} {'total s':>8}")
    for i, r in enumerate(runs, 1):
        print(
            f"{i:>4} {r['imports']:>10.3f} {r['screen']:>9.3f} {r['live']:>8.3f} {r['total']:>8.3f}"
        )
    warm = runs[1:] or runs
    median_live = statistics.median(r["live"] for r in warm)
    print(
        f"median time to a live dashboard (warm database): {median_live:.3f} s "
        f"(target < 2 s: {'met' if median_live < 2 else 'NOT met'}); "
        "total also counts interpreter start and shutdown"
    )


if __name__ == "__main__":
    main()
