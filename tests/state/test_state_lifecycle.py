"""A trade from intent to close, and the audit rows around it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cockpit.domain import ExitReason, Mode, Side, StopRole
from state.records import OrderStatus, TradeStatus
from state.store import Store
from tests.state.factories import T0, exit_order, fill_for, open_trade, raw_one


async def test_full_trade_lifecycle(store: Store, journal_db: Path | str) -> None:
    position = await open_trade(store, "ck-in", side=Side.LONG, entry=150.0, size=2.0, ts_ms=T0)
    trade_id = position.trade_id
    assert trade_id is not None
    row = raw_one(journal_db, "SELECT * FROM trades WHERE id = ?", (trade_id,))
    assert row is not None
    assert (row["status"], row["size"], row["entry_price"], row["entry_ts_ms"]) == (
        "open",
        2.0,
        150.0,
        T0,
    )
    assert row["plan_json"] == position.plan.to_json()
    assert row["policy"] == "fixed"

    # TP1: 75 % at 152.25
    tp1 = exit_order("ck-tp1", position, 1.5, ExitReason.TP1.value)
    tp1_id = await store.record_order_intent(tp1, mode=Mode.SHADOW, venue="paper")
    position.size, position.tp1_filled = 0.5, True
    position.stop, position.stop_role = 150.0, StopRole.BREAKEVEN
    position.realized_pnl, position.fees = 1.5 * 2.25, position.fees + 0.05
    position.mfe_pct, position.mfe_quote, position.last_price = 1.5, 4.5, 152.25
    await store.record_exit_fill(tp1_id, fill_for(tp1, 152.25, T0 + 60_000), position)
    row = raw_one(journal_db, "SELECT * FROM trades WHERE id = ?", (trade_id,))
    assert row is not None
    assert (row["status"], row["size"], row["tp1_filled"], row["stop_role"]) == (
        "open",
        0.5,
        1,
        "breakeven",
    )
    assert row["exit_price"] is None

    # The runner stops out at breakeven.
    sl = exit_order("ck-sl", position, 0.5, ExitReason.BREAKEVEN.value)
    sl_id = await store.record_order_intent(sl, mode=Mode.SHADOW, venue="paper")
    position.size, position.closed = 0.0, True
    position.fees += 0.05
    await store.record_exit_fill(sl_id, fill_for(sl, 149.9, T0 + 120_000), position)

    [summary] = await store.closed_trades()
    assert summary.id == trade_id
    assert summary.status is TradeStatus.CLOSED
    assert summary.side is Side.LONG
    assert summary.exit_price == pytest.approx((1.5 * 152.25 + 0.5 * 149.9) / 2.0)
    assert summary.exit_reason == "breakeven"
    assert summary.exit_ts_ms == T0 + 120_000
    assert summary.entry_ts_ms == T0
    assert summary.realized_pnl == pytest.approx(3.375)
    assert summary.fees == pytest.approx(0.15)
    assert summary.mfe_pct == 1.5
    assert summary.initial_size == 2.0
    assert await store.open_positions() == []

    fills = await store.fills_for(trade_id)
    assert [(f.client_order_id, f.reduce_only, f.reason) for f in fills] == [
        ("ck-in", False, "entry"),
        ("ck-tp1", True, "tp1"),
        ("ck-sl", True, "breakeven"),
    ]
    orders = await store.orders_for(trade_id)
    assert [(o.client_order_id, o.status) for o in orders] == [
        ("ck-in", OrderStatus.FILLED),
        ("ck-tp1", OrderStatus.FILLED),
        ("ck-sl", OrderStatus.FILLED),
    ]
    assert all(o.trade_id == trade_id for o in orders)

    # A fill for a trade that is already closed is a bug upstream: refused, nothing written.
    late = exit_order("ck-late", position, 0.1, "manual_close")
    late_id = await store.record_order_intent(late, mode=Mode.SHADOW, venue="paper")
    with pytest.raises(ValueError, match="already closed"):
        await store.record_exit_fill(late_id, fill_for(late, 150.0, T0 + 180_000), position)
    assert len(await store.fills_for(trade_id)) == 3


async def test_exit_fill_needs_a_recorded_trade(store: Store) -> None:
    position = await open_trade(store)
    orphan = replace(position, trade_id=None)
    order = exit_order("ck-x", position, 1.0, "manual_close")
    order_id = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
    with pytest.raises(ValueError, match="no trade_id"):
        await store.record_exit_fill(order_id, fill_for(order, 151.0, T0), orphan)


async def test_closed_trades_newest_exit_first(store: Store) -> None:
    for i, exit_ts in enumerate([T0 + 3_000, T0 + 1_000, T0 + 2_000]):
        position = await open_trade(store, f"ck-in-{i}", ts_ms=T0)
        order = exit_order(f"ck-out-{i}", position, position.size, "manual_close")
        oid = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
        position.size, position.closed = 0.0, True
        await store.record_exit_fill(oid, fill_for(order, 151.0, exit_ts), position)
    trades = await store.closed_trades()
    assert [t.exit_ts_ms for t in trades] == [T0 + 3_000, T0 + 2_000, T0 + 1_000]
    assert [t.exit_ts_ms for t in await store.closed_trades(limit=1)] == [T0 + 3_000]


async def test_stop_move_is_audited_and_durable_on_the_trade(
    store: Store, journal_db: Path | str
) -> None:
    position = await open_trade(store)
    assert position.trade_id is not None
    await store.record_stop_move(
        position.trade_id, 147.75, 150.0, StopRole.BREAKEVEN, "+0.5% reached", "engine", T0 + 5
    )
    await store.record_stop_move(
        position.trade_id, 150.0, 149.0, StopRole.MANUAL_STOP, "loosened", "user", T0 + 9
    )
    moves = await store.stop_moves_for(position.trade_id)
    assert [(m.old_price, m.new_price, m.role, m.who) for m in moves] == [
        (147.75, 150.0, StopRole.BREAKEVEN, "engine"),
        (150.0, 149.0, StopRole.MANUAL_STOP, "user"),
    ]
    [restored] = await store.open_positions()
    assert (restored.stop, restored.stop_role) == (149.0, StopRole.MANUAL_STOP)


async def test_mode_changes_alerts_settings_signals(store: Store, journal_db: Path | str) -> None:
    await store.record_mode_change(
        Mode.SHADOW, Mode.LIVE_SMALL, "user", "typed LIVE", T0, '{"max_notional_usdt": 50}'
    )
    row = raw_one(journal_db, "SELECT * FROM mode_changes")
    assert row is not None
    assert (row["from_mode"], row["to_mode"], row["who"], row["limits_json"]) == (
        "shadow",
        "live_small",
        "user",
        '{"max_notional_usdt": 50}',
    )

    await store.record_alert("warning", "feed stale", T0)
    await store.record_alert("error", "order failed", T0 + 1)
    await store.record_alert("warning", "same ms", T0 + 1)
    alerts = await store.recent_alerts()
    assert [a.message for a in alerts] == ["same ms", "order failed", "feed stale"]
    assert [a.message for a in await store.recent_alerts(limit=1)] == ["same ms"]

    assert await store.get_setting("policy") is None
    await store.set_setting("policy", "fixed")
    await store.set_setting("policy", "atr_scaled")
    assert await store.get_setting("policy") == "atr_scaled"

    signal_id = await store.record_signal(
        "SOL-PERP",
        Side.SHORT,
        T0,
        accepted=False,
        reject_reason="quality 55 below 60",
        features={"quality_score": 55},
    )
    row = raw_one(journal_db, "SELECT * FROM signals WHERE id = ?", (signal_id,))
    assert row is not None
    assert (row["accepted"], row["reject_reason"], row["quality_score"], row["side"]) == (
        0,
        "quality 55 below 60",
        55.0,
        "short",
    )
