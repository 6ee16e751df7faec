"""What does one dashboard redraw cost, with nothing new vs. a new price each time?

    uv run python bench/dashboard_redraw.py [--redraws N] [--size 160x45]

A headless cockpit (the UI test harness: a scripted paused feed, a real SQLite file) with one
closed and one open trade. Two runs of N calls of `DashboardScreen.refresh_view()` followed by
Textual's own repaint (`pilot.pause()`):

- unchanged: no new tick between redraws: every widget is asked, none should redraw;
- new price: one tick between redraws: the mark, P&L cells, strip and chart change.

Figures are milliseconds per redraw (median of 3 repeats); the ratio new/unchanged says what the
diffing saves. The other issue's target (<= 33 ms per redraw) is printed, never asserted.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cockpit.screens.dashboard import DashboardScreen
from tests.ui.harness import app_factory, rally
from tests.ui.scenes import closed_then_open


async def run(redraws: int, size: tuple[int, int]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        make = app_factory(f"sqlite+aiosqlite:///{tmp}/bench.db")
        app, feed = make(rally(steps=40 + 3 * redraws * 4))
        async with app.run_test(size=size) as pilot:
            await closed_then_open(app, feed, pilot)
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            quiet: list[float] = []
            moving: list[float] = []
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(redraws):
                    screen.refresh_view()
                    await pilot.pause()
                quiet.append((time.perf_counter() - start) / redraws * 1000)
                elapsed = 0.0
                for _ in range(redraws):
                    await feed.step(1)
                    start = time.perf_counter()
                    screen.refresh_view()
                    await pilot.pause()
                    elapsed += time.perf_counter() - start
                moving.append(elapsed / redraws * 1000)
            return statistics.median(quiet), statistics.median(moving)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redraws", type=int, default=40)
    parser.add_argument("--size", default="160x45")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    quiet, moving = asyncio.run(run(args.redraws, (width, height)))
    print(f"dashboard {width}x{height}, {args.redraws} redraws x 3 repeats (median)")
    print(f"  unchanged:  {quiet:7.2f} ms per redraw")
    print(f"  new price:  {moving:7.2f} ms per redraw")
    print(f"  ratio new/unchanged: {moving / quiet:.1f}x   (target of the other issue: <= 33 ms)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
