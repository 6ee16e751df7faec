"""The session with every policy and the trader's hands on the runner: plans from the feed's
ATR, refusals before any order, manual stop moves / partial closes / trailing multiple, each
audited and written at once, and all of it intact after a restart."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import PaperConfig, Settings
from cockpit.domain import Candle, ExitReason, Side, StopRole, Tick
from cockpit.session import OrderRejected, Session

SYMBOL = "SOL-PERP"
BAR_MS = 15 * 60_000
T0 = 1_750_000_000_000 - 1_750_000_000_000 % BAR_MS  # on a 15m boundary
NO_COSTS = PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0)


def history(n: int = 20, true_range: float = 2.0) -> list[Candle]:
    """`n` 15m bars ending at T0, each with high - low = `true_range` around 100: ATR = 2."""
    half = true_range / 2
    return [
        Candle(SYMBOL, "15m", T0 - (n - i) * BAR_MS, 100.0, 100.0 + half, 100.0 - half, 100.0, 1.0)
        for i in range(n)
    ]


def ticks(prices: list[float]) -> Iterator[Tick]:
    for i, p in enumerate(prices):
        yield Tick(SYMBOL, T0 + 1000 * (i + 1), p)


def make(db: Path, prices: list[float], *, bars: bool = True) -> tuple[Session, ReplayFeed]:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", paper=NO_COSTS)
    feed = ReplayFeed(
        {SYMBOL: ticks(prices)},
        speed=None,
        simulated=True,
        label="t",
        paused=True,
        candle_history={SYMBOL: history()} if bars else None,
        start_ms=T0,
    )
    session = Session(settings, feed, PaperBroker(settings.paper), [SYMBOL], clock=lambda: T0)
    return session, feed


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def test_quality_tier_plan_uses_the_feeds_atr_and_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    session, feed = make(db, [100.0, 104.0, 108.0, 112.0, 106.9])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(
            SYMBOL, Side.LONG, 100.0, 2, policy="quality_tiers", quality_score=90.0
        )
        assert pos.plan.atr == pytest.approx(2.0)
        assert (pos.plan.tp1_price, pos.plan.tp2_price) == (
            pytest.approx(104.0),
            pytest.approx(108.0),
        )
        await feed.step(3)
        assert pos.trailing_active and pos.stop == pytest.approx(107.0)
        await feed.step(1)
        assert pos.closed
    finally:
        await session.stop()
    [(quality, atr, timeframe, plan_json, reason)] = rows(
        db, "SELECT quality_score, atr, timeframe, plan_json, exit_reason FROM trades"
    )
    assert (quality, atr, timeframe, reason) == (90.0, pytest.approx(2.0), "15m", "trailing_stop")
    plan = json.loads(str(plan_json))
    assert plan["params"]["tier"] == "high" and plan["trail_atr_mult"] == 2.5
    reasons = [r[0] for r in rows(db, "SELECT reason FROM fills ORDER BY id")]
    assert reasons == ["entry", "tp1", "tp2", "trailing_stop"]


async def test_a_refused_plan_sends_nothing_and_is_audited(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    session, feed = make(db, [100.0, 100.1], bars=False)
    await session.start()
    try:
        await feed.step(1)
        with pytest.raises(OrderRejected, match="no ATR"):
            await session.open_position(SYMBOL, Side.LONG, 50.0, 2, policy="atr_scaled")
        with pytest.raises(OrderRejected, match="below 60"):
            await session.open_position(
                SYMBOL, Side.LONG, 50.0, 2, policy="quality_tiers", quality_score=55.0
            )
        # fixed needs no ATR: it still opens, with the ATR recorded as unknown.
        await session.open_position(SYMBOL, Side.SHORT, 50.0, 2, policy="fixed")
    finally:
        await session.stop()
    assert [r[0] for r in rows(db, "SELECT reason FROM orders")] == ["entry"]
    assert rows(db, "SELECT atr, policy FROM trades") == [(None, "fixed")]
    refusals = rows(db, "SELECT kind, reason FROM audit_events WHERE kind = 'refusal'")
    assert len(refusals) == 2 and "below 60" in str(refusals[1][1])


async def test_manual_stop_moves_are_checked_audited_and_written_at_once(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    session, feed = make(db, [100.0, 101.3, 101.25])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 100.0, 2)
        await feed.step(1)  # 101.3: past the breakeven (100.5) and lock (101.2) triggers
        trade_id = pos.trade_id
        assert trade_id is not None and pos.stop_role is StopRole.PROFIT_LOCK
        locked = pos.stop
        with pytest.raises(OrderRejected, match="would fill at once"):
            await session.move_stop(trade_id, 101.5)
        with pytest.raises(OrderRejected, match="second confirmation"):
            await session.move_stop(trade_id, 100.0)
        assert pos.stop == locked
        await session.move_stop(trade_id, 100.0, confirm_loosen=True, why="give it room")
        # Written before the next tick, not at the next snapshot flush.
        assert rows(db, "SELECT stop_price, stop_role FROM trades") == [(100.0, "manual_stop")]
        await feed.step(1)  # 101.25 is past both triggers again: the loosened stop stands
        assert pos.stop == 100.0
    finally:
        await session.stop()
    moves = rows(db, "SELECT old_price, new_price, who, reason FROM stop_moves ORDER BY id")
    assert moves[-1][1:] == (100.0, "user", "manual loosen (confirmed): give it room")
    audit = rows(db, "SELECT kind, action, trade_id, detail_json FROM audit_events ORDER BY id")
    kinds = [a[0] for a in audit]
    assert kinds.count("refusal") == 2 and kinds[-1] == "manual_action"
    detail = json.loads(str(audit[-1][3]))
    assert detail["from"] == pytest.approx(locked) and detail["to"] == 100.0
    assert detail["loosened"] is True and audit[-1][2] == trade_id
    assert any("by user" in e.text for e in session.latest.events)


async def test_close_part_and_trailing_multiple_then_restart(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    session, feed = make(db, [100.0, 104.0, 108.0, 110.0])
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(
            SYMBOL, Side.LONG, 100.0, 2, policy="quality_tiers", quality_score=85.0
        )
        trade_id = pos.trade_id
        assert trade_id is not None
        with pytest.raises(OrderRejected, match="between 0 and 100"):
            await session.close_part(trade_id, 150.0)
        await feed.step(2)  # TP1 and TP2: a runner of 0.25 trails at 108 - 5 = 103
        await session.set_trail_mult(trade_id, 1.5)
        await feed.step(1)  # peak 110: 110 - 3 = 107
        assert pos.stop == pytest.approx(107.0)
        runner = pos.size
        await session.close_part(trade_id, 40.0)
        assert pos.size == pytest.approx(runner * 0.6)
        await session.move_stop(trade_id, 105.0, confirm_loosen=True)
        assert pos.trail_paused
        peak, stop, size = pos.peak, pos.stop, pos.size
    finally:
        await session.stop()

    again, feed2 = make(db, [109.0, 106.0, 104.9])
    await again.start()
    try:
        [restored] = again.latest.positions
        assert (restored.peak, restored.stop, restored.size) == (peak, stop, pytest.approx(size))
        assert restored.trail_paused and restored.trail_mult == 1.5
        assert restored.breakeven_done and restored.profit_lock_done
        await feed2.step(2)
        assert restored.stop == 105.0, "the paused trail and fired triggers stay quiet"
        await feed2.step(1)
        assert restored.closed
    finally:
        await again.stop()
    fills = rows(db, "SELECT reason FROM fills ORDER BY id")
    assert [f[0] for f in fills] == ["entry", "tp1", "tp2", "manual_close", "manual_stop"]
    assert rows(db, "SELECT exit_reason FROM trades") == [(ExitReason.MANUAL_STOP.value,)]
    actions = [a[0] for a in rows(db, "SELECT action FROM audit_events WHERE kind='manual_action'")]
    assert any("trailing multiple" in str(a) and "2.5 -> 1.5" in str(a) for a in actions)
    assert any("close 40 %" in str(a) for a in actions)
