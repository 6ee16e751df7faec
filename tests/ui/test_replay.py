"""`cockpit replay FILE`: candles become ticks, a position is managed on them, the end is shown."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from textual.widgets import Static

from adapters.replay import ReplayFeed
from cockpit.cli import replay_app
from cockpit.config import Settings
from cockpit.domain import FeedState
from tests.ui.test_dashboard import SIZE, open_long, redraw

BARS = [
    # timestamp_ms, open, high, low, close, volume
    (1_750_000_000_000, 100.0, 100.2, 99.9, 100.1, 10),
    (1_750_000_060_000, 100.1, 100.3, 98.0, 98.5, 12),  # down bar: open, high, LOW, close
    (1_750_000_120_000, 98.5, 99.0, 98.2, 98.9, 8),
]


def write_csv(path: Path) -> Path:
    lines = ["timestamp_ms,open,high,low,close,volume"]
    lines += [",".join(str(v) for v in bar) for bar in BARS]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_replay_stops_out_on_the_bar_low_and_says_when_the_file_ends(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "sol.csv")
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    app = replay_app(settings, csv, "SOL-PERP", speed=None, paused=True)
    feed = app.session.feed
    assert isinstance(feed, ReplayFeed)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await redraw(app, pilot)
        assert "SOL-PERP 100.000" in str(app.screen.query_one("#header-price", Static).render())
        # the header clock is the data's time, with its date (the file is from June 2025)
        data_now = datetime.fromtimestamp((feed.market_ms or 0) / 1000, tz=UTC)
        clock = str(app.screen.query_one("#header-clock", Static).render())
        assert clock == data_now.strftime("%Y-%m-%d %H:%M:%S UTC")
        assert clock.startswith("2025-06-15")
        trade_id = await open_long(app, pilot, notional="20")
        pos = app.session.latest.positions[0]
        assert pos.stop < 98.6  # -1.5 % from about 100.0

        feed.resume()
        for _ in range(3000):
            await asyncio.sleep(0.01)
            if feed.status.state is FeedState.DOWN:
                break
        await redraw(app, pilot)
        assert pos.closed
        feed_text = str(app.screen.query_one("#header-feed", Static).render())
        assert "down" in feed_text and "replay finished" in feed_text

    with sqlite3.connect(tmp_path / "r.db") as db:
        reason, exit_price = db.execute(
            "SELECT exit_reason, exit_price FROM trades WHERE id = ?", (trade_id,)
        ).fetchone()
    assert reason == "stop_loss"
    # filled at the first price through the stop (the bar's low, 98.0), less costs: not at the stop
    assert 97.9 < exit_price < 98.0
