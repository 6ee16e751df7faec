"""A database that fails a write: nothing sent that is not recorded, nothing filled that is lost.

Faults are real: an SQLite trigger makes the chosen INSERT fail (as a locked or full disk would),
then is dropped to let the database recover (issue 12, DESIGN.md section 4).
- The TP1 intent row cannot be written: TP1 is not sent, stays armed with nothing else changed,
  and goes out once the database takes writes again (after its backoff).
- The TP1 fill cannot be written: the position shows it at once, the trader is told the database
  is failing, and the fill is written when the database recovers; `tp1_filled` never stands
  without its fill row.
- A stop move cannot be written: the stop holds in memory and its row follows later.
- A refused TP1 on a runner plan leaves the stop and the trail as they were.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import FixedPolicyConfig, PaperConfig, Settings
from cockpit.domain import Candle, Side, StopRole, TargetState, Tick
from cockpit.session import OrderRejected, Session
from widgets.header_bar import DB_FAILING, status_text

SYMBOL = "SOL-PERP"
BAR_MS = 15 * 60_000
T0 = 1_750_000_000_000 - 1_750_000_000_000 % BAR_MS
NO_COSTS = PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0)
# Triggers far beyond the targets, so the only stop move near TP1 is TP1's own.
LATE_TRIGGERS = FixedPolicyConfig(breakeven_trigger_pct=5.0, profit_lock_trigger_pct=6.0)


def ticks(prices: list[float]) -> Iterator[Tick]:
    for i, p in enumerate(prices):
        yield Tick(SYMBOL, T0 + 1000 * (i + 1), p)


def history() -> list[Candle]:
    """20 closed 15m bars with a true range of 2: ATR = 2."""
    return [
        Candle(SYMBOL, "15m", T0 - (20 - i) * BAR_MS, 100.0, 101.0, 99.0, 100.0, 1.0)
        for i in range(20)
    ]


def make(db: Path, prices: list[float], **settings: object) -> tuple[Session, ReplayFeed]:
    config = Settings(db_url=f"sqlite+aiosqlite:///{db}", paper=NO_COSTS, **settings)
    feed = ReplayFeed(
        {SYMBOL: ticks(prices)},
        speed=None,
        simulated=True,
        label="t",
        paused=True,
        candle_history={SYMBOL: history()},
        start_ms=T0,
    )
    # Price time is the clock, so a retry's backoff passes with the ticks.
    session = Session(
        config, feed, PaperBroker(config.paper), [SYMBOL], clock=lambda: price_time(session)
    )
    return session, feed


def price_time(session: Session) -> int:
    return max((t.ts_ms for t in session.latest.last_tick.values()), default=T0)


async def fail_inserts(db: Path, table: str, when: str, name: str = "fault") -> None:
    """In a thread: the store's writer may be mid-transaction, waiting on this event loop.
    `name` names the trigger, so several tables can fail at once."""
    await asyncio.to_thread(_create_fault, db, table, when, name)


async def heal(db: Path, *names: str) -> None:
    await asyncio.to_thread(_drop_fault, db, names or ("fault",))


def _create_fault(db: Path, table: str, when: str, name: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
        )


def _drop_fault(db: Path, names: tuple[str, ...]) -> None:
    with sqlite3.connect(db) as conn:
        for name in names:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def no_target_without_its_fill(db: Path) -> None:
    for target in ("tp1", "tp2"):
        flagged = rows(db, f"SELECT id FROM trades WHERE {target}_filled = 1")
        for (trade_id,) in flagged:
            fills = rows(
                db, f"SELECT id FROM fills WHERE trade_id={trade_id} AND reason='{target}'"
            )
            assert fills, f"trade {trade_id} says {target} filled without a {target} fill row"


async def test_a_failed_tp1_intent_write_sends_nothing_and_tp1_fills_later(tmp_path: Path) -> None:
    db = tmp_path / "intent.db"
    session, feed = make(db, [100.0, 101.6, 101.7, 101.8, 101.9], policy=LATE_TRIGGERS)
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await fail_inserts(db, "orders", "NEW.reason = 'tp1'")
        await feed.step(1)  # +1.6 %: TP1 decided, its row cannot be written
        assert pos.tp1_state is TargetState.ARMED and pos.size == pos.initial_size
        assert (pos.stop, pos.stop_role) == (pos.plan.stop_loss, StopRole.STOP_LOSS)
        assert session.venue_alerts()[1] == "exit failing"
        assert "the database did not take the order" in str(session.venue_note(1))
        await feed.step(1)  # still failing, inside the backoff: not tried, not said again
        failing = [e for e in session.latest.events if "exit (tp1) failed" in e.text]
        assert len(failing) == 1
        await heal(db)
        await feed.step(2)  # backoff passed: TP1 goes out and fills
        assert pos.tp1_state is TargetState.FILLED and pos.size < pos.initial_size
        assert pos.stop_role is StopRole.BREAKEVEN
        assert 1 not in session.venue_alerts()
    finally:
        await session.stop()
    assert rows(db, "SELECT reason, status FROM orders ORDER BY id") == [
        ("entry", "filled"),
        ("tp1", "filled"),
    ]
    no_target_without_its_fill(db)


async def test_a_failed_fill_write_is_kept_shown_and_written_later(tmp_path: Path) -> None:
    db = tmp_path / "fill.db"
    session, feed = make(db, [100.0, 101.6, 101.7], policy=LATE_TRIGGERS)
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await fail_inserts(db, "fills", "NEW.reason = 'tp1'")
        await feed.step(1)  # TP1 fills on paper, the fill cannot be written
        assert pos.tp1_filled and pos.size < pos.initial_size, "memory shows the fill"
        assert session.latest.db_failing is not None
        assert DB_FAILING in status_text(session.feed_status, session.latest.db_failing).plain
        assert any("database write failed" in e.text for e in session.latest.events)
        assert rows(db, "SELECT count(*) FROM fills WHERE reason='tp1'") == [(0,)]
        await heal(db)
        assert await session.router.durable.retry_now()
        assert session.latest.db_failing is None
        await feed.step(1)
    finally:
        await session.stop()
    assert rows(db, "SELECT reason FROM fills ORDER BY id") == [("entry",), ("tp1",)]
    [(size,)] = rows(db, "SELECT size FROM trades")
    assert size == rows(db, "SELECT 0.3 - sum(size) FROM fills WHERE reduce_only=1")[0][0]
    no_target_without_its_fill(db)


async def test_a_failed_stop_move_write_holds_in_memory_and_is_written_later(
    tmp_path: Path,
) -> None:
    db = tmp_path / "stop.db"
    session, feed = make(db, [100.0, 100.6, 100.7])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await fail_inserts(db, "stop_moves", "1")
        await feed.step(1)  # +0.6 %: the breakeven trigger moves the stop
        assert pos.stop == pos.entry and pos.stop_role is StopRole.BREAKEVEN
        assert rows(db, "SELECT count(*) FROM stop_moves") == [(0,)]
        await heal(db)
        assert await session.router.durable.retry_now()
        await feed.step(1)
    finally:
        await session.stop()
    assert rows(db, "SELECT role, reason FROM stop_moves") == [("breakeven", "breakeven_trigger")]
    assert rows(db, "SELECT stop_role FROM trades") == [("breakeven",)]


async def test_a_refused_tp1_on_a_runner_plan_leaves_stop_and_trail_alone(tmp_path: Path) -> None:
    db = tmp_path / "runner.db"
    # High tier: TP1 50 % at 2 x ATR (104), TP2 at 4 x ATR (108), a runner trailing 2.5 x ATR.
    session, feed = make(db, [100.0, 104.1, 104.2, 104.3, 104.4])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(
            SYMBOL, Side.LONG, 100, 2, policy="quality_tiers", quality_score=90
        )
        broker = session.broker
        assert isinstance(broker, PaperBroker)
        broker.adopt_position(SYMBOL, 0.0)  # the venue refuses the reduce-only TP1
        await feed.step(1)
        assert pos.tp1_state is TargetState.ARMED and pos.size == pos.initial_size
        assert not pos.trailing_active and pos.peak is None
        tp1_moves = rows(db, "SELECT id FROM stop_moves WHERE reason = 'tp1'")
        assert tp1_moves == [], "no breakeven move for a TP1 that never filled"
        broker.adopt_position(SYMBOL, pos.size)
        await feed.step(2)  # after the 1 s backoff it goes out and fills
        assert pos.tp1_state is TargetState.FILLED
        assert pos.size == pos.initial_size / 2
    finally:
        await session.stop()
    no_target_without_its_fill(db)


async def test_a_failed_entry_intent_write_opens_nothing_and_says_so_once(tmp_path: Path) -> None:
    db = tmp_path / "entry.db"
    session, feed = make(db, [100.0, 100.1])
    await session.start()
    try:
        await feed.step(1)
        await fail_inserts(db, "orders", "NEW.reason = 'entry'")
        with pytest.raises(OrderRejected, match="not sent: the database did not take the order"):
            await session.open_position(SYMBOL, Side.LONG, 30, 2)
        assert session.latest.positions == []
        assert len([e for e in session.latest.events if "not sent" in e.text]) == 1
        await heal(db)
        await session.open_position(SYMBOL, Side.LONG, 30, 2)
    finally:
        await session.stop()
    assert rows(db, "SELECT reason, status FROM orders") == [("entry", "filled")]


async def test_tp2_never_goes_out_while_tp1_is_held_back(tmp_path: Path) -> None:
    """TP1 failing and backing off, the price runs through TP2: TP2 waits for TP1 (a runner
    must not start trailing 75 % of the position while TP1 never filled)."""
    db = tmp_path / "order.db"
    session, feed = make(db, [100.0, 104.1, 104.2, 108.1, 108.2, 108.3, 108.4])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(
            SYMBOL, Side.LONG, 100, 2, policy="quality_tiers", quality_score=90
        )
        await fail_inserts(db, "orders", "NEW.reason = 'tp1'")
        await feed.step(2)  # TP1 fails twice: next try 2 s after the second failure
        await heal(db)
        await feed.step(1)  # 108.1: through TP2 while TP1 still waits out its backoff
        assert (pos.tp1_state, pos.tp2_state) == (TargetState.ARMED, TargetState.ARMED)
        assert not pos.trailing_active and pos.size == pos.initial_size
        await feed.step(3)
        assert (pos.tp1_state, pos.tp2_state) == (TargetState.FILLED, TargetState.FILLED)
        assert pos.trailing_active and pos.size == pytest.approx(pos.initial_size * 0.25)
    finally:
        await session.stop()
    assert [r for (r,) in rows(db, "SELECT reason FROM fills ORDER BY id")] == [
        "entry",
        "tp1",
        "tp2",
    ]
