"""Orders: the intent row is durable before the call returns; bad writes fail loudly, alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from cockpit.domain import Mode, Side
from state.errors import NotFoundError, StoreClosedError
from state.records import OrderStatus
from state.store import Store
from tests.state.factories import (
    T0,
    FakeClock,
    entry_order,
    fill_for,
    make_plan,
    make_position,
    open_trade,
    raw_one,
)


async def test_intent_is_committed_before_record_order_intent_returns(
    store: Store, db_path: Path, clock: FakeClock
) -> None:
    order = entry_order("ck-intent-1", Side.SHORT, 0.5)
    order_id = await store.record_order_intent(order, mode=Mode.LIVE_SMALL, venue="drift")
    # Nothing else has happened yet: a separate connection (another process) must see it now.
    row = raw_one(db_path, "SELECT * FROM orders WHERE id = ?", (order_id,))
    assert row is not None
    assert row["client_order_id"] == "ck-intent-1"
    assert row["status"] == "intent"
    assert row["side"] == "sell"
    assert row["size"] == 0.5
    assert row["reduce_only"] == 0
    assert row["mode"] == "live_small"
    assert row["venue"] == "drift"
    assert row["trade_id"] is None
    assert row["created_at_ms"] == row["updated_at_ms"] == clock.now


async def test_shadow_orders_can_be_stored_as_would_submit(store: Store) -> None:
    position = await open_trade(store)
    assert position.trade_id is not None
    [order] = await store.orders_for(position.trade_id)
    assert order.status is OrderStatus.FILLED
    oid = await store.record_order_intent(
        entry_order("ck-ws"), mode=Mode.SHADOW, venue="paper", status="would_submit"
    )
    with pytest.raises(ValueError, match="intent or would_submit"):
        await store.record_order_intent(
            entry_order("ck-bad"), mode=Mode.SHADOW, venue="paper", status="filled"
        )
    assert oid > order.id


async def test_failed_order_keeps_the_brokers_words(store: Store, db_path: Path) -> None:
    order_id = await store.record_order_intent(entry_order("ck-f"), mode=Mode.SHADOW, venue="p")
    await store.record_order_failed(order_id, "insufficient collateral")
    row = raw_one(db_path, "SELECT status, error FROM orders WHERE id = ?", (order_id,))
    assert row is not None
    assert (row["status"], row["error"]) == ("failed", "insufficient collateral")


async def test_failing_write_raises_to_caller_and_writer_keeps_working(
    store: Store, db_path: Path
) -> None:
    await store.record_order_intent(entry_order("ck-dup"), mode=Mode.SHADOW, venue="paper")
    with pytest.raises(IntegrityError):
        await store.record_order_intent(entry_order("ck-dup"), mode=Mode.SHADOW, venue="paper")
    with pytest.raises(NotFoundError):
        await store.record_order_failed(12345, "no such order")
    # The failed transactions left nothing behind and the writer still commits.
    second = await store.record_order_intent(entry_order("ck-2"), mode=Mode.SHADOW, venue="p")
    count = raw_one(db_path, "SELECT COUNT(*) FROM orders")
    assert count is not None and count[0] == 2
    assert raw_one(db_path, "SELECT id FROM orders WHERE id = ?", (second,)) is not None


async def test_fill_must_belong_to_the_order(store: Store, db_path: Path) -> None:
    order_id = await store.record_order_intent(entry_order("ck-a"), mode=Mode.SHADOW, venue="p")
    wrong = fill_for(entry_order("ck-b"), 150.0, T0)
    position = make_position(make_plan())
    with pytest.raises(ValueError, match="does not belong"):
        await store.record_open(order_id, wrong, position)
    count = raw_one(db_path, "SELECT COUNT(*) FROM trades")
    assert count is not None and count[0] == 0  # the whole transaction rolled back


async def test_features_are_validated_before_anything_is_queued(store: Store) -> None:
    order = entry_order("ck-feat")
    order_id = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
    position = make_position(make_plan())
    with pytest.raises(ValueError, match="unknown signal features: qualty"):
        await store.record_open(order_id, fill_for(order, 150.0, T0), position, {"qualty": 80})
    with pytest.raises(TypeError, match="rsi must be a number"):
        await store.record_open(order_id, fill_for(order, 150.0, T0), position, {"rsi": "55"})


async def test_features_land_on_the_trade(store: Store, db_path: Path) -> None:
    features: dict[str, object] = {
        "quality_score": 82,
        "atr": 2.1,
        "adx": 27.5,
        "rsi": None,
        "regime": "trend",
        "strategy": "breakout",
        "timeframe": "15m",
        "ab_group": "B",
    }
    position = await open_trade(store, features=features)
    row = raw_one(db_path, "SELECT * FROM trades WHERE id = ?", (position.trade_id,))
    assert row is not None
    assert row["quality_score"] == 82.0
    assert row["atr"] == 2.1
    assert row["rsi"] is None
    assert row["volume_ratio"] is None
    assert (row["regime"], row["strategy"], row["timeframe"], row["ab_group"]) == (
        "trend",
        "breakout",
        "15m",
        "B",
    )


async def test_concurrent_writers_are_serialised(store: Store) -> None:
    ids = await asyncio.gather(
        *(
            store.record_order_intent(entry_order(f"ck-{i}"), mode=Mode.SHADOW, venue="paper")
            for i in range(50)
        )
    )
    assert sorted(ids) == list(range(1, 51))
    assert ids == sorted(ids)  # committed in submission order


async def test_writes_after_close_are_refused(db_url: str) -> None:
    store = await Store.open(db_url)
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreClosedError):
        await store.record_alert("info", "too late", T0)
    with pytest.raises(StoreClosedError):
        await store.closed_trades()
    await store.flush()  # nothing to do, not an error
