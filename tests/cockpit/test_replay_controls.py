"""Replay controls a trader can learn with (issue 14 item 5): speeds 1, 10, 100, 1000 and max
changed while running with + and -, one bar at a time while paused, and the progress in the
feed status. Real replay feed over a real candle file, in the real app under Pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.replay import ReplayFeed, candle_replay
from cockpit.cli import replay_app
from cockpit.config import Settings
from cockpit.replay_controls import SPEEDS, faster, slower
from tests.cockpit.test_replay_runs import CLOSES, T0, write_csv
from tests.ui.test_dashboard import SIZE
from tests.waiting import pilot_until


def test_speeds_step_through_the_ladder_and_stop_at_its_ends(tmp_path: Path) -> None:
    feed = candle_replay(write_csv(tmp_path / "c.csv"), "SOL-PERP", speed=1.0, paused=True)
    seen = [feed.speed]
    for _ in range(6):
        faster(feed)
        seen.append(feed.speed)
    assert seen == [1.0, 10.0, 100.0, 1000.0, None, None, None]
    assert SPEEDS == (1.0, 10.0, 100.0, 1000.0, None)
    slower(feed)
    assert feed.speed == 1000.0
    feed.set_speed(37.0)  # off the ladder: the next rung in each direction
    slower(feed)
    assert feed.speed == 10.0
    feed.set_speed(37.0)
    faster(feed)
    assert feed.speed == 100.0


async def test_progress_shows_how_far_the_data_has_played(tmp_path: Path) -> None:
    feed = candle_replay(write_csv(tmp_path / "c.csv"), "SOL-PERP", speed=None, paused=True)
    assert feed.progress == 0.0
    seen: list[int] = []

    async def consume() -> None:
        async for tick in feed.ticks("SOL-PERP"):
            seen.append(tick.ts_ms)

    consumer = asyncio.create_task(consume())
    try:
        await feed.step(4 * 5)  # five bars of ten
        assert feed.market_ms == seen[-1] < T0 + 5 * 60_000
        assert feed.progress is not None and 0.4 < feed.progress < 0.5
        assert "50 %" in (feed.status.detail or "")
    finally:
        await feed.close()
        await consumer


async def test_keys_change_the_speed_and_step_one_bar(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    app = replay_app(settings, write_csv(tmp_path / "c.csv"), "SOL-PERP", speed=1.0, paused=True)
    feed = app.session.feed
    assert isinstance(feed, ReplayFeed)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("plus")
        await pilot_until(pilot, lambda: feed.speed == 10.0)
        await pilot.press("minus", "minus")
        await pilot_until(pilot, lambda: feed.speed == 1.0)
        await pilot.press("full_stop")  # one bar: its four ticks
        await pilot_until(pilot, lambda: feed.market_ms is not None)
        assert feed.market_ms is not None and feed.market_ms < T0 + 60_000
        first_bar = app.session.latest.last_tick["SOL-PERP"]
        assert first_bar.price == CLOSES[0]  # the bar's close, its fourth tick
        await pilot.press("full_stop")
        await pilot_until(
            pilot, lambda: app.session.latest.last_tick["SOL-PERP"].ts_ms >= T0 + 60_000
        )
        assert app.session.latest.last_tick["SOL-PERP"].price == CLOSES[1]
        assert feed.paused
