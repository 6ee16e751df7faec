"""The PostgreSQL server stopped in the middle of a session (issue 17), on a real server of the
test's own (tests/pg_server.py: stopped with `pg_ctl stop -m fast`, which cuts every connection,
and started again on the same port).

While it is down the cockpit keeps managing the position in memory (ticks, stop moves), shows
the database as failing, and sends no order whose intent row it could not write; once the server
is back the held-back exit goes out and every held row is written. Same harness and rules as
test_execution_db_faults.py, with the fault being a real outage instead of a trigger.
"""

from __future__ import annotations

import asyncio

import asyncpg

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import Settings
from cockpit.domain import Side, StopRole, TargetState
from cockpit.session import Session
from tests import pg_server
from tests.cockpit.test_execution_db_faults import (
    LATE_TRIGGERS,
    NO_COSTS,
    SYMBOL,
    T0,
    history,
    price_time,
    ticks,
)
from widgets.header_bar import DB_FAILING, status_text


async def make(
    cluster: pg_server.Cluster, prices: list[float], **settings: object
) -> tuple[Session, ReplayFeed, str]:
    _name, url = await pg_server.create_database(cluster.admin_url)
    session, feed = session_on(url, prices, **settings)
    return session, feed, url


def session_on(url: str, prices: list[float], **settings: object) -> tuple[Session, ReplayFeed]:
    """A session of account paper:desk on `url`, its feed paused on `prices`."""
    config = Settings(db_url=url, paper=NO_COSTS, account="paper:desk", **settings)
    feed = ReplayFeed(
        {SYMBOL: ticks(prices)},
        speed=None,
        simulated=True,
        label="t",
        paused=True,
        candle_history={SYMBOL: history()},
        start_ms=T0,
    )
    session = Session(
        config, feed, PaperBroker(config.paper), [SYMBOL], clock=lambda: price_time(session)
    )
    return session, feed


async def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_server_down_tp1_is_held_back_and_goes_out_when_it_returns(
    own_server: pg_server.Cluster,
) -> None:
    session, feed, url = await make(
        own_server, [100.0, 101.6, 101.7, 101.8, 101.9, 102.0], policy=LATE_TRIGGERS
    )
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await asyncio.to_thread(own_server.pause)
        await feed.step(1)  # +1.6 %: TP1 decided, its intent row cannot be written
        assert pos.tp1_state is TargetState.ARMED and pos.size == pos.initial_size
        assert session.venue_alerts()[1] == "exit failing"
        assert "the database did not take the order" in str(session.venue_note(1))
        await feed.step(1)  # still down: the position is still managed in memory
        assert session.latest.last_tick[SYMBOL].price == 101.7
        assert pos.size == pos.initial_size, "nothing was sent without its intent row"
        await asyncio.to_thread(own_server.resume)
        await feed.step(3)  # backoff passed: TP1 goes out and fills
        assert pos.tp1_state is TargetState.FILLED and pos.size < pos.initial_size
        assert 1 not in session.venue_alerts()
    finally:
        await session.stop()
    assert await rows(url, "SELECT reason, status FROM orders ORDER BY id") == [
        ("entry", "filled"),
        ("tp1", "filled"),
    ]
    assert await rows(url, "SELECT DISTINCT account FROM orders") == [("paper:desk",)]


async def test_server_down_a_stop_move_holds_in_memory_and_is_written_when_it_returns(
    own_server: pg_server.Cluster,
) -> None:
    session, feed, url = await make(own_server, [100.0, 100.6, 100.7])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await asyncio.to_thread(own_server.pause)
        await feed.step(1)  # +0.6 %: the breakeven trigger moves the stop
        assert pos.stop == pos.entry and pos.stop_role is StopRole.BREAKEVEN
        assert session.latest.db_failing is not None
        assert DB_FAILING in status_text(session.feed_status, session.latest.db_failing).plain
        await asyncio.to_thread(own_server.resume)
        for _ in range(50):  # the first tries after the restart may meet a dead pooled conn
            if await session.router.durable.retry_now():
                break
        assert session.latest.db_failing is None
        await feed.step(1)
    finally:
        await session.stop()
    assert await rows(url, "SELECT role, reason FROM stop_moves") == [
        ("breakeven", "breakeven_trigger")
    ]
    assert await rows(url, "SELECT stop_role FROM trades") == [("breakeven",)]
