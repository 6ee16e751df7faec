"""`cockpit replay` with its journal on PostgreSQL (issue 17 item 1): the same stop-out as
test_replay.py, written to a fresh database on the test server (skipped, saying why, without
one), on the account the settings name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from adapters.replay import ReplayFeed
from cockpit.cli import replay_app
from cockpit.config import Settings
from cockpit.domain import FeedState
from tests.ui.test_dashboard import SIZE, open_long, redraw
from tests.ui.test_replay import write_csv


async def test_replay_on_postgresql_stops_out_and_journals_it(tmp_path: Path, pg_url: str) -> None:
    csv = write_csv(tmp_path / "sol.csv")
    settings = Settings(db_url=pg_url, account="paper:replay")
    app = replay_app(settings, csv, "SOL-PERP", speed=None, paused=True)
    feed = app.session.feed
    assert isinstance(feed, ReplayFeed)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await redraw(app, pilot)
        trade_id = await open_long(app, pilot, notional="20")
        pos = app.session.latest.positions[0]
        feed.resume()
        for _ in range(3000):
            await asyncio.sleep(0.01)
            if feed.status.state is FeedState.DOWN:
                break
        await redraw(app, pilot)
        assert pos.closed
    conn = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    try:
        row = await conn.fetchrow(
            "SELECT exit_reason, exit_price, account FROM trades WHERE id = $1", trade_id
        )
        statuses = await conn.fetch("SELECT reason, status FROM orders ORDER BY id")
    finally:
        await conn.close()
    assert row is not None
    assert (row["exit_reason"], row["account"]) == ("stop_loss", "paper:replay")
    assert 97.9 < row["exit_price"] < 98.0
    assert [tuple(s) for s in statuses] == [("entry", "filled"), ("stop_loss", "filled")]
