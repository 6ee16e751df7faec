"""An account lock lost with its connection (issue 17), on a real PostgreSQL server.

The lock holder watches its lock's connection; once it is gone the cockpit refuses entries with
"account lock lost", tries to take the lock back, and resumes entries only once it holds it
again. If another cockpit took the account meanwhile, the first stands down for good: no order,
no exit, never the lock again while the other holds it. The tests drive every check themselves
(`check_every_s` and the retry delay are an hour): nothing here depends on timing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from cockpit.domain import Side
from cockpit.session import OrderRejected, Session
from state.advisory_lock import COCKPIT_KEY, AccountInUse, AdvisoryLock, LockState, account_key
from tests import pg_server
from tests.cockpit.test_execution_db_faults import SYMBOL
from tests.cockpit.test_session_postgres_down import rows, session_on
from tests.waiting import CEILING_S, until
from widgets.header_bar import ACCOUNT_LOCK_LOST, status_text

ACCOUNT = "paper:desk"  # session_on's
HOUR_S = 3600.0  # no check and no retry happens unless the test asks for it


def dsn(url: str) -> str:
    return url.replace("+asyncpg", "")


def own_lock(url: str) -> AdvisoryLock:
    return AdvisoryLock(url, ACCOUNT, check_every_s=HOUR_S, retry_initial_s=HOUR_S)


async def holders(url: str) -> list[int]:
    """The backend pids that hold the account's advisory lock right now."""
    conn = await asyncpg.connect(dsn(url))
    try:
        found = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = $1 AND objid = $2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            COCKPIT_KEY,
            account_key(ACCOUNT),
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in found]


async def cut_lock_connection(url: str) -> None:
    """What a dropped connection does to the holder: its backend ends, the server frees the lock."""
    [pid] = await holders(url)
    conn = await asyncpg.connect(dsn(url))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def eventually(attempt: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until `attempt()` is true (a condition that needs the database), with the ceiling."""
    try:
        async with asyncio.timeout(CEILING_S):
            while not await attempt():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out after {CEILING_S}s waiting for {what}") from None


async def take_when_free(url: str) -> AdvisoryLock:
    """A second cockpit's lock on the account, taken as soon as the server has freed it."""
    lock = own_lock(url)

    async def taken() -> bool:
        try:
            await asyncio.to_thread(lock.acquire)
        except AccountInUse:
            return False
        return True

    await eventually(taken, "the server to free the account")
    return lock


async def test_a_second_cockpit_takes_a_lost_account_and_the_first_stands_down(
    pg_url: str,
) -> None:
    first_lock = own_lock(pg_url)
    await asyncio.to_thread(first_lock.acquire)
    first, first_feed = session_on(pg_url, [100.0, 100.6, 90.0])
    first.account_lock.lock = first_lock
    second_lock: AdvisoryLock | None = None
    second: Session | None = None
    try:
        await first.start()
        await first_feed.step(1)
        pos = await first.open_position(SYMBOL, Side.LONG, 30, 2)
        await cut_lock_connection(pg_url)
        second_lock = await take_when_free(pg_url)  # a second cockpit starts on the account
        second, second_feed = session_on(pg_url, [100.0, 90.0])
        second.account_lock.lock = second_lock
        await second.start()
        assert [p.trade_id for p in second.book.positions] == [pos.trade_id]

        status = await first_lock.check()  # the first notices, tries to take it back: refused
        assert status.state is LockState.TAKEN
        assert status.holder is not None and status.holder.pid == os.getpid()
        await until(lambda: first.latest.account_lock is not None, what="the first to hear it")
        said = str(first.latest.account_lock)
        assert said.startswith("account lock lost") and f"pid {os.getpid()}" in said
        lost, taken = first.alerts.notes  # an alert each: the lock lost, then who took it
        assert (lost.rule, taken.rule, taken.text) == ("account_lock", "account_lock", said)
        with pytest.raises(OrderRejected, match="account lock lost"):
            await first.open_position(SYMBOL, Side.SHORT, 30, 2)
        with pytest.raises(OrderRejected, match="account lock lost"):
            await first.close_position(pos.trade_id)
        stop = pos.stop
        await first_feed.step(1)  # +0.6 %: would move the stop to breakeven; not any more here
        assert pos.stop == stop
        await first_feed.step(1)  # through the stop: the first no longer acts on the position
        assert not pos.closed
        assert not [e.text for e in first.latest.events if "exit" in e.text]

        await second_feed.step(2)  # the second manages it: its stop closes the trade
        assert second.book.positions == []
        for _ in range(3):  # however often the first tries, the account stays the second's
            assert (await first_lock.check()).state is LockState.TAKEN
            assert (await second_lock.check()).state is LockState.HELD
        assert len(await holders(pg_url)) == 1 and second_lock.held and not first_lock.held
    finally:
        await first.stop()
        first_lock.release()
        if second is not None:
            await second.stop()
        if second_lock is not None:
            second_lock.release()
    exits = await rows(pg_url, "SELECT reason FROM orders WHERE reduce_only ORDER BY id")
    assert len(exits) == 1, f"one exit of the trade, by the second cockpit: {exits}"
    assert await rows(pg_url, "SELECT count(*) FROM stop_moves") == [(0,)]
    actions = await rows(pg_url, "SELECT action FROM audit_events WHERE kind = 'account_lock'")
    assert ("account lock lost to another cockpit",) in actions
    refused = await rows(pg_url, "SELECT reason FROM audit_events WHERE kind = 'refusal'")
    assert any(str(r[0]).startswith("account lock lost") for r in refused)


async def test_a_server_restart_stops_entries_until_the_lock_is_taken_back(
    own_server: pg_server.Cluster,
) -> None:
    _name, url = await pg_server.create_database(own_server.admin_url)
    lock = own_lock(url)
    await asyncio.to_thread(lock.acquire)
    session, feed = session_on(url, [100.0, 100.1, 100.2, 100.3])
    session.account_lock.lock = lock
    try:
        await session.start()
        await feed.step(1)
        await asyncio.to_thread(own_server.pause)
        status = await lock.check()
        assert status.state is LockState.LOST and not lock.held
        await until(lambda: session.latest.account_lock is not None, what="the lock's loss")
        header = status_text(session.feed_status, None, None, session.latest.account_lock)
        assert ACCOUNT_LOCK_LOST in header.plain
        assert [n.rule for n in session.alerts.notes] == ["account_lock"]
        with pytest.raises(OrderRejected, match="account lock lost"):
            await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await feed.step(1)  # prices still flow in while the lock is lost
        assert session.latest.last_tick[SYMBOL].price == 100.1

        await asyncio.to_thread(own_server.resume)
        assert (await lock.check()).state is LockState.HELD and lock.held
        await until(lambda: session.latest.account_lock is None, what="entries allowed again")

        async def written() -> bool:  # the first tries may meet a dead pooled connection
            return await session.router.durable.retry_now()

        await eventually(written, "the held audit rows to be written")
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        assert pos.trade_id is not None
    finally:
        await session.stop()
        lock.release()
    actions = await rows(url, "SELECT action FROM audit_events WHERE kind = 'account_lock'")
    assert actions == [("account lock lost",), ("account lock taken back",)]
    refused = await rows(url, "SELECT reason FROM audit_events WHERE kind = 'refusal'")
    assert len(refused) == 1 and str(refused[0][0]).startswith("account lock lost")
