"""A replay a trader can learn from (issue 14 item 5): the data's time, no entry after the end,
each replay of a file starts clean.

Tried as a new user would: a position opened during a replay was stamped with the wall clock
(months after its own fills), one could be opened on the frozen last price after the file ended,
and it was then restored into the next replay of the same file, where it "filled" on prices from
weeks before its entry. Real SQLite files and the real replay feed; no UI needed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from adapters.replay import ReplayFeed
from cockpit.cli import replay_app
from cockpit.config import Settings
from cockpit.domain import FeedState, Side
from cockpit.session import OrderRejected, Session
from tests.cockpit.test_execution_db_faults import fail_inserts, heal
from tests.waiting import until

T0 = 1_750_000_000_000 - 1_750_000_000_000 % 60_000
# a quiet walk around 100 that never reaches a -1.5 % stop or a +1.5 % target
CLOSES = [100.0, 100.1, 100.2, 100.1, 100.0, 99.9, 100.0, 100.1, 100.2, 100.3]


def write_csv(path: Path) -> Path:
    lines = ["timestamp_ms,open,high,low,close,volume"]
    for i, close in enumerate(CLOSES):
        prev = CLOSES[i - 1] if i else close
        high, low = max(prev, close) + 0.05, min(prev, close) - 0.05
        lines.append(f"{T0 + 60_000 * i},{prev},{high},{low},{close},1")
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(tmp_path: Path, *, resume: bool = False) -> tuple[Session, ReplayFeed]:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    csv = tmp_path / "sol.csv"
    if not csv.exists():
        write_csv(csv)
    app = replay_app(settings, csv, "SOL-PERP", speed=None, paused=True, resume=resume)
    feed = app.session.feed
    assert isinstance(feed, ReplayFeed)
    return app.session, feed


def rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "r.db") as db:
        return list(db.execute(sql))


async def test_the_replay_runs_on_the_data_s_time(tmp_path: Path) -> None:
    session, feed = replay(tmp_path)
    await session.start()
    try:
        await feed.step(5)
        data_now = feed.market_ms
        assert data_now is not None
        assert session.clock() == data_now, "the session's clock is the data's, not the wall's"
        pos = await session.open_position("SOL-PERP", Side.LONG, 20, 1)
        assert pos.opened_ms == data_now
    finally:
        await session.stop()
    (entry_ts,) = rows(tmp_path, "SELECT entry_ts_ms FROM trades")[0]
    fills = [ts for (ts,) in rows(tmp_path, "SELECT ts_ms FROM fills")]
    assert T0 <= entry_ts <= T0 + 60_000 * len(CLOSES)
    assert all(ts >= entry_ts for ts in fills), "no fill is stamped before its entry"


async def test_no_entry_once_the_file_has_ended(tmp_path: Path) -> None:
    session, feed = replay(tmp_path)
    await session.start()
    try:
        feed.resume()
        await feed_finished(feed)
        with pytest.raises(OrderRejected, match="replay finished"):
            await session.open_position("SOL-PERP", Side.LONG, 20, 1)
        assert not session.latest.positions
    finally:
        await session.stop()
    assert rows(tmp_path, "SELECT count(*) FROM orders") == [(0,)]
    refusals = rows(tmp_path, "SELECT reason FROM audit_events WHERE kind = 'refusal'")
    assert refusals and "replay finished" in str(refusals[0][0])


async def test_a_new_replay_of_the_file_starts_clean(tmp_path: Path) -> None:
    session, feed = replay(tmp_path)
    await session.start()
    try:
        await feed.step(3)
        await session.open_position("SOL-PERP", Side.LONG, 20, 1)
        await feed.step(3)  # the first run stops here, the position still open
        last_ts, last_price = feed.market_ms, session.latest.last_tick["SOL-PERP"].price
    finally:
        await session.stop()

    session, feed = replay(tmp_path)
    await session.start()
    try:
        assert not session.latest.positions, "the earlier run's position is not carried over"
        assert any("end_of_data" in e.text for e in session.latest.events)
    finally:
        await session.stop()
    closed = rows(tmp_path, "SELECT exit_reason, exit_ts_ms, exit_price, status FROM trades")
    assert len(closed) == 1
    reason, exit_ts, exit_price, status = closed[0]
    assert (reason, exit_ts, status) == ("end_of_data", last_ts, "closed")
    assert exit_price == pytest.approx(last_price, rel=2e-3)  # at that run's last price, less costs


async def test_resume_carries_the_open_position_into_the_new_run(tmp_path: Path) -> None:
    session, feed = replay(tmp_path)
    await session.start()
    try:
        await feed.step(3)
        pos = await session.open_position("SOL-PERP", Side.LONG, 20, 1)
    finally:
        await session.stop()
    session, feed = replay(tmp_path, resume=True)
    await session.start()
    try:
        assert [p.trade_id for p in session.latest.positions] == [pos.trade_id]
    finally:
        await session.stop()
    assert rows(tmp_path, "SELECT status FROM trades") == [("open",)]


async def feed_finished(feed: ReplayFeed) -> None:
    await until(lambda: feed.status.state is FeedState.DOWN, what="the end of the replay")


async def test_the_end_of_the_data_says_what_this_run_came_to(tmp_path: Path) -> None:
    """Two runs of one file in one database: the summary counts the second run's trades only."""
    for run in range(2):
        session, feed = replay(tmp_path)
        await session.start()
        try:
            await feed.step(2)
            pos = await session.open_position("SOL-PERP", Side.LONG, 20, 1)
            await feed.step(1)
            await session.close_position(pos.trade_id)
            if run == 1:
                await session.open_position("SOL-PERP", Side.SHORT, 20, 1)
            feed.resume()
            await feed_finished(feed)
            summary = await said(session, "replay finished: ")
        finally:
            await session.stop()
    assert summary.startswith("replay finished: 1 trade(s), win rate ")
    assert "exits: manual_close 1" in summary
    assert "1 position(s) still open" in summary
    assert rows(tmp_path, "SELECT count(*) FROM trades") == [(3,)]


async def said(session: Session, text: str) -> str:
    def lines() -> list[str]:
        return [e.text for e in session.latest.events if text in e.text]

    await until(lines, what=repr(text))
    return lines()[-1]


async def test_a_run_the_database_cannot_record_still_plays_and_sums_up(tmp_path: Path) -> None:
    """The run's record is a courtesy: with its table failing, the replay plays, trades are kept,
    the result is shown (without an id) and the failure is said; healed, the next run has one."""
    session, feed = replay(tmp_path)
    await session.start()  # creates the database
    await session.stop()
    await fail_inserts(tmp_path / "r.db", "replay_runs", "1")
    await fail_updates(tmp_path / "r.db")
    session, feed = replay(tmp_path)
    await session.start()
    try:
        await said(session, "this replay run could not be recorded: ")
        await feed.step(2)
        pos = await session.open_position("SOL-PERP", Side.LONG, 20, 1)
        await feed.step(1)
        await session.close_position(pos.trade_id)
        feed.resume()
        await feed_finished(feed)
        summary = await said(session, "replay finished: ")
    finally:
        await session.stop()
    assert summary.startswith("replay finished: 1 trade(s)") and "(run" not in summary
    result = session.latest.replay_result
    assert result is not None and result.run_id is None and result.trades == 1
    await heal(tmp_path / "r.db", "fault", "fault_update")
    session, feed = replay(tmp_path)
    await session.start()
    try:
        assert session.run.run_id is not None
    finally:
        await session.stop()
    assert rows(tmp_path, "SELECT count(*) FROM trades WHERE status = 'closed'") == [(1,)]


async def test_a_result_that_cannot_be_stored_is_still_shown(tmp_path: Path) -> None:
    session, feed = replay(tmp_path)
    await session.start()
    try:
        assert session.run.run_id == 1
        await fail_updates(tmp_path / "r.db")
        feed.resume()
        await feed_finished(feed)
        await said(session, "replay run 1: its result was not stored: ")
        result = session.latest.replay_result
        assert result is not None and result.run_id == 1 and result.trades == 0
    finally:
        await session.stop()
    assert rows(tmp_path, "SELECT status FROM replay_runs") == [("running",)]


async def fail_updates(db: Path) -> None:
    def create() -> None:
        with sqlite3.connect(db) as conn:
            conn.execute(
                "CREATE TRIGGER fault_update BEFORE UPDATE ON replay_runs "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
            )

    await asyncio.to_thread(create)
