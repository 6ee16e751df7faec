"""Audit rows, mode-change reads, and SHADOW orders that stay `would_submit` (real SQLite)."""

from __future__ import annotations

from pathlib import Path

from cockpit.domain import Mode, Side
from state.store import Store
from tests.state.factories import (
    T0,
    entry_order,
    exit_order,
    fill_for,
    make_plan,
    make_position,
    raw_one,
)


async def test_audit_rows_round_trip_newest_first(store: Store) -> None:
    first = await store.record_audit("refusal", "user", "open long SOL-PERP", "over 50 USDT", 1_000)
    second = await store.record_audit(
        "mode_change", "user", "shadow -> live_small", "typed LIVE", 2_000, '{"max_leverage": 2}'
    )
    rows = await store.recent_audit()
    assert [r.id for r in rows] == [second, first]
    assert rows[0].detail_json == '{"max_leverage": 2}'
    assert (rows[1].kind, rows[1].who, rows[1].reason) == ("refusal", "user", "over 50 USDT")


async def test_mode_changes_newest_first(store: Store) -> None:
    await store.record_mode_change(Mode.SHADOW, Mode.LIVE_SMALL, "user", "typed LIVE", 1_000, "{}")
    await store.record_mode_change(Mode.LIVE_SMALL, Mode.SHADOW, "user", "m", 2_000)
    changes = await store.mode_changes()
    assert [(c.from_mode, c.to_mode) for c in changes] == [
        ("live_small", "shadow"),
        ("shadow", "live_small"),
    ]
    assert changes[1].limits_json == "{}"


async def test_shadow_orders_stay_would_submit_and_live_ones_become_filled(
    store: Store, db_path: Path
) -> None:
    for mode, status, cid, want in (
        (Mode.SHADOW, "would_submit", "ck-shadow", "would_submit"),
        (Mode.LIVE_SMALL, "intent", "ck-live", "filled"),
    ):
        order = entry_order(cid)
        order_id = await store.record_order_intent(order, mode=mode, venue="v", status=status)
        position = make_position(make_plan(Side.LONG, 150.0, 2.0), opened_ms=T0)
        position.trade_id = await store.record_open(order_id, fill_for(order, 150.0, T0), position)
        row = raw_one(db_path, "SELECT status FROM orders WHERE id = ?", (order_id,))
        assert row is not None and row["status"] == want

        exit_ = exit_order(f"{cid}-x", position, 2.0, "manual_close")
        exit_id = await store.record_order_intent(exit_, mode=mode, venue="v", status=status)
        fill = fill_for(exit_, 151.0, T0 + 1_000)
        position.size = 0.0
        position.closed = True
        await store.record_exit_fill(exit_id, fill, position)
        row = raw_one(db_path, "SELECT status FROM orders WHERE id = ?", (exit_id,))
        assert row is not None and row["status"] == want


async def test_failed_orders_are_failed_in_both_modes(store: Store, db_path: Path) -> None:
    for mode, status, cid in ((Mode.SHADOW, "would_submit", "a"), (Mode.LIVE_SMALL, "intent", "b")):
        order_id = await store.record_order_intent(
            entry_order(cid), mode=mode, venue="v", status=status
        )
        await store.record_order_failed(order_id, "venue said no")
        row = raw_one(db_path, "SELECT status, error FROM orders WHERE id = ?", (order_id,))
        assert row is not None and (row["status"], row["error"]) == ("failed", "venue said no")
