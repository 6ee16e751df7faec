"""update_position: per-tick calls coalesce into one throttled UPDATE per trade."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from cockpit.domain import Mode, PositionState, StopRole
from state.store import Store
from tests.state.factories import T0, exit_order, fill_for, open_trade, raw_one
from tests.waiting import CEILING_S, until


@contextmanager
def trade_updates(store: Store) -> Iterator[list[float]]:
    """Monotonic times at which an UPDATE of the trades table reached the database."""
    seen: list[float] = []

    def on_execute(*args: Any) -> None:
        statement: str = args[2]
        if statement.lstrip().upper().startswith("UPDATE TRADES"):
            seen.append(time.monotonic())

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def committed_value(
    journal_db: Path | str, trade_id: int | None, column: str, want: float
) -> float:
    """The column's value once another connection sees `want` (the UPDATE is seen by the
    statement hook before its COMMIT lands), or whatever it holds after a generous deadline."""
    deadline = time.monotonic() + CEILING_S
    value = stored(journal_db, trade_id)[column]
    while value != want and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        value = stored(journal_db, trade_id)[column]
    return float(value)


def tick(position: PositionState, i: int) -> None:
    """What the engine does on a price: extremes and last price move."""
    position.last_price = 150.0 + i * 0.01
    position.mfe_pct = i * 0.01
    position.mfe_quote = i * 0.02
    position.mae_pct = -0.1
    position.peak = 150.0 + i * 0.01


def stored(journal_db: Path | str, trade_id: int | None) -> Any:
    row = raw_one(journal_db, "SELECT * FROM trades WHERE id = ?", (trade_id,))
    assert row is not None
    return row


async def test_many_updates_coalesce_into_one_write_on_flush(
    store: Store, journal_db: Path | str
) -> None:
    position = await open_trade(store)
    with trade_updates(store) as updates:
        for i in range(1, 501):
            tick(position, i)
            store.update_position(position)
        await asyncio.sleep(0.05)
        assert updates == []  # 60 s interval: nothing written yet
        assert stored(journal_db, position.trade_id)["mfe_pct"] == 0.0
        await store.flush()
        assert len(updates) == 1
    row = stored(journal_db, position.trade_id)
    assert (row["last_price"], row["mfe_pct"], row["mfe_quote"], row["peak"]) == (
        150.0 + 5.0,
        5.0,
        10.0,
        155.0,
    )


async def test_throttled_flush_waits_for_the_interval(db_url: str, journal_db: Path | str) -> None:
    interval = 0.6
    store = await Store.open(db_url, flush_interval_s=interval)
    try:
        position = await open_trade(store)
        with trade_updates(store) as updates:
            first = time.monotonic()
            for i in range(1, 101):
                tick(position, i)
                store.update_position(position)
                await asyncio.sleep(0)
            await asyncio.sleep(0.1)
            if time.monotonic() - first < interval:  # only conclusive if we were not starved
                assert updates == []
                assert stored(journal_db, position.trade_id)["mfe_pct"] == 0.0
            deadline = time.monotonic() + CEILING_S
            while not updates and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert len(updates) == 1
            assert updates[0] - first >= interval - 0.01
        assert await committed_value(journal_db, position.trade_id, "mfe_pct", 1.0) == 1.0

        # The next burst starts a new interval.
        with trade_updates(store) as updates:
            tick(position, 200)
            store.update_position(position)
            deadline = time.monotonic() + CEILING_S
            while not updates and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert len(updates) == 1
        assert await committed_value(journal_db, position.trade_id, "mfe_pct", 2.0) == 2.0
    finally:
        await store.close()


async def test_a_flush_writes_the_position_as_it_is_then(
    store: Store, journal_db: Path | str
) -> None:
    """A mark, not a copy: the newest state is written, whatever came after the mark."""
    position = await open_trade(store)
    tick(position, 10)
    store.update_position(position)
    tick(position, 99)  # newer than the mark
    await store.flush()
    assert stored(journal_db, position.trade_id)["mfe_pct"] == 0.99


async def test_a_held_position_is_not_flushed_ahead_of_its_fill(
    store: Store, journal_db: Path | str
) -> None:
    """Between a fill booked on the position and the fill's row, a flush would write a size
    the journal has no fill for: a kill then would leave the two apart."""
    position = await open_trade(store)
    assert position.trade_id is not None
    tick(position, 5)
    store.update_position(position)
    store.hold(position.trade_id)
    position.size = 0.5  # the fill is booked in memory, its row not written yet
    await store.flush()
    assert stored(journal_db, position.trade_id)["size"] == 2.0
    store.release(position.trade_id)
    await store.flush()
    assert stored(journal_db, position.trade_id)["size"] == 0.5


async def test_close_flushes_pending_snapshots(db_url: str, journal_db: Path | str) -> None:
    store = await Store.open(db_url, flush_interval_s=3600.0)
    position = await open_trade(store)
    tick(position, 42)
    store.update_position(position)
    await store.close()
    assert stored(journal_db, position.trade_id)["mfe_pct"] == 0.42
    store.update_position(position)  # after close: dropped, never raises


async def test_positions_without_trade_id_are_ignored(store: Store) -> None:
    position = await open_trade(store)
    position.trade_id = None
    store.update_position(position)
    with trade_updates(store) as updates:
        await store.flush()
    assert updates == []


async def test_older_snapshot_never_overwrites_an_exit(
    store: Store, journal_db: Path | str
) -> None:
    position = await open_trade(store)
    tick(position, 5)
    store.update_position(position)  # waiting in the buffer, size 2.0
    order = exit_order("ck-out", position, position.size, "manual_close")
    order_id = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
    position.size, position.closed, position.realized_pnl = 0.0, True, 1.23
    await store.record_exit_fill(order_id, fill_for(order, 151.0, T0 + 1), position)
    await store.flush()
    row = stored(journal_db, position.trade_id)
    assert (row["status"], row["size"], row["realized_pnl"]) == ("closed", 0.0, 1.23)

    # Even a snapshot handed over after the close cannot reopen or rewrite the trade.
    reopened = PositionState(**{**_fields(position), "size": 9.0, "closed": False})
    store.update_position(reopened)
    await store.flush()
    row = stored(journal_db, position.trade_id)
    assert (row["status"], row["size"]) == ("closed", 0.0)


async def test_a_stop_move_and_a_later_flush_agree(store: Store, journal_db: Path | str) -> None:
    position = await open_trade(store)
    tick(position, 3)
    store.update_position(position)
    assert position.trade_id is not None
    # The engine moves the stop in memory, then records the move: a flush after it writes it too.
    position.stop, position.stop_role = 150.0, StopRole.BREAKEVEN
    await store.record_stop_move(
        position.trade_id, position.stop, 150.0, StopRole.BREAKEVEN, "be", "engine", T0
    )
    await store.flush()
    row = stored(journal_db, position.trade_id)
    assert (row["stop_price"], row["stop_role"], row["mfe_pct"]) == (150.0, "breakeven", 0.03)


@pytest.mark.sqlite_only  # the fault is SQLite's: NaN is stored as NULL (PostgreSQL keeps NaN)
async def test_failed_flush_raises_keeps_snapshot_and_recovers(
    store: Store, journal_db: Path | str
) -> None:
    position = await open_trade(store)
    position.mfe_pct = float("nan")  # SQLite stores NaN as NULL: NOT NULL constraint fails
    store.update_position(position)
    with pytest.raises(IntegrityError):
        await store.flush()
    with pytest.raises(IntegrityError):
        await store.flush()  # the snapshot was kept for a retry
    assert await store.record_order_intent(
        exit_order("ck-still-works", position, 1.0, "tp1"), mode=Mode.SHADOW, venue="paper"
    )
    position.mfe_pct = 0.7  # a newer, good snapshot replaces the failed one
    store.update_position(position)
    await store.flush()
    assert stored(journal_db, position.trade_id)["mfe_pct"] == 0.7


def _fields(position: PositionState) -> dict[str, Any]:
    return {name: getattr(position, name) for name in PositionState.__dataclass_fields__}


@pytest.mark.sqlite_only  # the fault is SQLite's: NaN is stored as NULL (PostgreSQL keeps NaN)
async def test_timer_flush_failure_is_logged_once_and_retried(
    db_url: str, journal_db: Path | str, caplog: pytest.LogCaptureFixture
) -> None:
    store = await Store.open(db_url, flush_interval_s=0.05)
    try:
        position = await open_trade(store)
        position.mfe_pct = float("nan")
        with caplog.at_level(logging.ERROR, logger="state"), trade_updates(store) as tries:
            store.update_position(position)
            # several retries, no new updates (each try is an UPDATE reaching the database)
            await until(lambda: len(tries) >= 4, what="four tries of the failing flush")
        failures = [r for r in caplog.records if "snapshot flush failed" in r.getMessage()]
        assert len(failures) == 1
        assert not [r for r in caplog.records if "nobody waiting" in r.getMessage()]
        position.mfe_pct = 0.5
        store.update_position(position)
        deadline = time.monotonic() + CEILING_S
        while stored(journal_db, position.trade_id)["mfe_pct"] != 0.5:
            assert time.monotonic() < deadline, "the writer stopped flushing"
            await asyncio.sleep(0.02)
    finally:
        await store.close()
