"""One position per (venue, symbol), as the venues net them (issue 12, DESIGN.md section 3).

A long and a short on one symbol net to nothing on a venue, and then neither can ever exit: every
reduce-only order finds nothing to reduce. So a second entry on a symbol is refused before any
order row, and a database written before the rule (two open positions on one symbol) is restored
with both flagged, each still closable, and no new entry on that symbol until they are resolved.
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
from cockpit.domain import Mode, Side, Tick
from cockpit.engine.policy import fixed_plan, open_position
from cockpit.session import OrderRejected, Session
from state.store import Store

SYMBOL = "SOL-PERP"
T0 = 1_750_000_000_000
NO_COSTS = PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0)


def ticks(prices: list[float]) -> Iterator[Tick]:
    for i, p in enumerate(prices):
        yield Tick(SYMBOL, T0 + 1000 * i, p)


def make(db: Path, prices: list[float]) -> tuple[Session, ReplayFeed]:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", paper=NO_COSTS)
    feed = ReplayFeed({SYMBOL: ticks(prices)}, speed=None, simulated=True, label="t", paused=True)
    return Session(settings, feed, PaperBroker(settings.paper), [SYMBOL], clock=lambda: T0), feed


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def test_two_entries_at_the_same_moment_open_one_position(tmp_path: Path) -> None:
    """A ticket and a signal (or two signals) arrive together: each check waits on the ATR
    candles before sending, so both used to pass the one-position rule and both were sent."""
    db = tmp_path / "race.db"
    session, feed = make(db, [100.0, 100.1])
    await session.start()
    try:
        await feed.step(1)
        results = await asyncio.gather(
            session.open_position(SYMBOL, Side.LONG, 30, 2),
            session.open_position(SYMBOL, Side.SHORT, 30, 2, who="webhook"),
            session.open_position(SYMBOL, Side.LONG, 30, 2, who="webhook"),
            return_exceptions=True,
        )
        opened = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, OrderRejected)]
        assert len(opened) == 1 and len(refused) == 2, results
        assert all("close it first" in str(r) for r in refused)
        assert session.latest.positions == opened
    finally:
        await session.stop()
    assert rows(db, "SELECT reason, status FROM orders") == [("entry", "filled")]


async def test_an_entry_against_an_open_position_is_refused_before_any_order(
    tmp_path: Path,
) -> None:
    db = tmp_path / "n.db"
    session, feed = make(db, [100.0, 100.1, 100.2])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        with pytest.raises(OrderRejected, match=f"already long {SYMBOL} #1: close it first"):
            await session.open_position(SYMBOL, Side.SHORT, 30, 2)
        with pytest.raises(OrderRejected, match="scaling in is not supported"):
            await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await feed.step(1)
        assert session.latest.positions == [pos] and pos.size == pos.initial_size
        # Said once each, in the log and the audit table.
        refused = [e.text for e in session.latest.events if "refused" in e.text]
        assert len(refused) == 2
        await session.close_position(1)
        assert pos.closed
        await session.open_position(SYMBOL, Side.SHORT, 30, 2)  # flat again: allowed
    finally:
        await session.stop()
    assert rows(db, "SELECT reason, status FROM orders ORDER BY id") == [
        ("entry", "filled"),
        ("manual_close", "filled"),
        ("entry", "filled"),
    ]
    assert [k for (k,) in rows(db, "SELECT kind FROM audit_events WHERE kind='refusal'")] == [
        "refusal",
        "refusal",
    ]


async def _legacy_hedged_db(db: Path) -> None:
    """Two open paper positions on one symbol, as an earlier version could leave them."""
    store = await Store.open(f"sqlite+aiosqlite:///{db}")
    try:
        for side in (Side.LONG, Side.SHORT):
            pos = open_position(
                fixed_plan(side, 100.0, 0.3, FixedPolicyConfig()),
                symbol=SYMBOL,
                leverage=2,
                opened_ms=T0,
                mode=Mode.SHADOW,
                venue="paper",
            )
            await store.record_adopted(pos)
    finally:
        await store.close()


async def test_a_legacy_hedge_is_restored_flagged_and_each_side_closes(tmp_path: Path) -> None:
    db = tmp_path / "legacy.db"
    await _legacy_hedged_db(db)
    session, feed = make(db, [100.0, 100.05, 100.1])
    await session.start()
    try:
        long, short = session.latest.positions
        assert (long.side, short.side) == (Side.LONG, Side.SHORT)
        assert session.venue_alerts() == {1: "hedged", 2: "hedged"}
        assert "holds 2 open positions on paper" in str(session.venue_note(1))
        assert any("nets them into one" in e.text for e in session.latest.events)
        await feed.step(1)
        with pytest.raises(OrderRejected, match="holds 2 open positions"):
            await session.open_position(SYMBOL, Side.LONG, 30, 2)
        await session.close_position(1)
        assert long.closed and not short.closed
        assert 2 not in session.venue_alerts(), "one left: no longer hedged"
        await feed.step(1)
        await session.close_position(2)
        assert short.closed
        await session.open_position(SYMBOL, Side.LONG, 30, 2)  # resolved: entries again
    finally:
        await session.stop()
    fills = rows(db, "SELECT trade_id, reason, size FROM fills WHERE reduce_only = 1 ORDER BY id")
    assert fills == [(1, "manual_close", 0.3), (2, "manual_close", 0.3)]
    assert not rows(db, "SELECT id FROM orders WHERE status = 'rejected'")
