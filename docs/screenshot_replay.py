"""Regenerate docs/cockpit-replay.svg and docs/replay-result.svg, the README's pictures of a
replay: the dashboard mid-file (the header on the data's time, with the progress), then the
run's result panel when the data has ended.

    uv run python docs/screenshot_replay.py

The candles are a seeded random walk written to a throwaway file (no market data needed); the
replay runs in a throwaway database, rendered headless at 150x44.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from adapters.replay import ReplayFeed
from cockpit.cli import replay_app
from cockpit.config import Settings
from cockpit.domain import FeedState, Side
from cockpit.screens.replay_result import ReplayResultScreen

OUT = Path(__file__).with_name("cockpit-replay.svg")
RESULT_OUT = Path(__file__).with_name("replay-result.svg")
START_MS = 1_746_364_800_000  # 2025-05-04 13:20 UTC
BARS = 1_440
SEED = 7


def write_candles(path: Path) -> None:
    rng = random.Random(SEED)
    price = 146.0
    lines = ["timestamp_ms,open,high,low,close,volume"]
    for i in range(BARS):
        close = price * (1 + rng.gauss(0.0001, 0.0025))
        high = max(price, close) * (1 + abs(rng.gauss(0, 0.0012)))
        low = min(price, close) * (1 - abs(rng.gauss(0, 0.0012)))
        lines.append(f"{START_MS + 60_000 * i},{price:.3f},{high:.3f},{low:.3f},{close:.3f},100")
        price = close
    path.write_text("\n".join(lines) + "\n")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "SOL-PERP-1m.csv"
        write_candles(csv)
        settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp}/replay.db")
        app = replay_app(settings, csv, "SOL-PERP", speed=None, paused=True)
        feed = app.session.feed
        assert isinstance(feed, ReplayFeed)
        session = app.session
        async with app.run_test(size=(150, 44)) as pilot:
            await feed.step(240)
            await session.open_position("SOL-PERP", Side.LONG, 30, 2)
            await feed.step(300)
            await session.open_position("SOL-PERP", Side.SHORT, 30, 2)
            await feed.step(200)
            await session.open_position("SOL-PERP", Side.LONG, 40, 2)
            await feed.step(90)
            await session.analytics_settled()
            await pilot.pause(0.5)
            app.save_screenshot(str(OUT))
            feed.resume()
            for _ in range(6_000):
                await pilot.pause(0.02)
                if isinstance(app.screen, ReplayResultScreen):
                    break
            assert feed.status.state is FeedState.DOWN
            await pilot.pause(0.5)
            app.save_screenshot(str(RESULT_OUT))
    print(f"wrote {OUT} and {RESULT_OUT}")


if __name__ == "__main__":
    asyncio.run(main())
