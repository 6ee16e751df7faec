"""Orders: the intent row is durable before the call returns; bad writes fail loudly, alone."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from cockpit.domain import Mode, PositionState, Side
from cockpit.orders import IllegalTransition
from state.db import create_engine_for
from state.errors import NotFoundError, StoreClosedError
from state.migrate import downgrade_to, upgrade_to
from state.records import OrderStatus
from state.store import Store
from tests.state.factories import (
    T0,
    FakeClock,
    entry_order,
    exit_order,
    fill_for,
    make_plan,
    make_position,
    open_trade,
    raw_connect,
    raw_one,
)


async def test_intent_is_committed_before_record_order_intent_returns(
    store: Store, journal_db: Path | str, clock: FakeClock
) -> None:
    order = entry_order("ck-intent-1", Side.SHORT, 0.5)
    order_id = await store.record_order_intent(order, mode=Mode.LIVE_SMALL, venue="drift")
    # Nothing else has happened yet: a separate connection (another process) must see it now.
    row = raw_one(journal_db, "SELECT * FROM orders WHERE id = ?", (order_id,))
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


async def test_failed_order_keeps_the_brokers_words(store: Store, journal_db: Path | str) -> None:
    order_id = await store.record_order_intent(entry_order("ck-f"), mode=Mode.SHADOW, venue="p")
    await store.record_order_failed(order_id, "insufficient collateral")
    row = raw_one(journal_db, "SELECT status, error FROM orders WHERE id = ?", (order_id,))
    assert row is not None
    assert (row["status"], row["error"]) == ("failed", "insufficient collateral")


async def test_failing_write_raises_to_caller_and_writer_keeps_working(
    store: Store, journal_db: Path | str
) -> None:
    await store.record_order_intent(entry_order("ck-dup"), mode=Mode.SHADOW, venue="paper")
    with pytest.raises(IntegrityError):
        await store.record_order_intent(entry_order("ck-dup"), mode=Mode.SHADOW, venue="paper")
    with pytest.raises(NotFoundError):
        await store.record_order_failed(12345, "no such order")
    # The failed transactions left nothing behind and the writer still commits.
    second = await store.record_order_intent(entry_order("ck-2"), mode=Mode.SHADOW, venue="p")
    count = raw_one(journal_db, "SELECT COUNT(*) FROM orders")
    assert count is not None and count[0] == 2
    assert raw_one(journal_db, "SELECT id FROM orders WHERE id = ?", (second,)) is not None


async def test_fill_must_belong_to_the_order(store: Store, journal_db: Path | str) -> None:
    order_id = await store.record_order_intent(entry_order("ck-a"), mode=Mode.SHADOW, venue="p")
    wrong = fill_for(entry_order("ck-b"), 150.0, T0)
    position = make_position(make_plan())
    with pytest.raises(ValueError, match="does not belong"):
        await store.record_open(order_id, wrong, position)
    count = raw_one(journal_db, "SELECT COUNT(*) FROM trades")
    assert count is not None and count[0] == 0  # the whole transaction rolled back


async def test_features_are_validated_before_anything_is_queued(store: Store) -> None:
    order = entry_order("ck-feat")
    order_id = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
    position = make_position(make_plan())
    with pytest.raises(ValueError, match="unknown signal features: qualty"):
        await store.record_open(order_id, fill_for(order, 150.0, T0), position, {"qualty": 80})
    with pytest.raises(TypeError, match="rsi must be a number"):
        await store.record_open(order_id, fill_for(order, 150.0, T0), position, {"rsi": "55"})


async def test_features_land_on_the_trade(store: Store, journal_db: Path | str) -> None:
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
    row = raw_one(journal_db, "SELECT * FROM trades WHERE id = ?", (position.trade_id,))
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


# ---------------------------------------------------------------------- the lifecycle table
def _trade_id(position: PositionState) -> int:
    assert position.trade_id is not None
    return position.trade_id


ROW = "SELECT status, error, trigger_price, tx_sig, updated_at_ms FROM orders WHERE id = ?"


async def _row_at(store: Store, cid: str, *path: OrderStatus, venue: str = "drift") -> int:
    """A live order row walked along `path` (each step a legal write)."""
    order_id = await store.record_order_intent(entry_order(cid), mode=Mode.LIVE_SMALL, venue=venue)
    for status in path:
        await store.record_order_state(order_id, status, trigger_price=147.0, tx_sig=f"sig-{cid}")
    return order_id


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((OrderStatus.OPEN, OrderStatus.CANCELLED), OrderStatus.OPEN),
        ((OrderStatus.FAILED,), OrderStatus.SUBMITTED),
        ((OrderStatus.SUBMITTED, OrderStatus.FILLED), OrderStatus.FAILED),
        ((OrderStatus.SUBMITTED,), OrderStatus.INTENT),
        ((OrderStatus.SUBMITTED,), OrderStatus.WOULD_SUBMIT),
    ],
    ids=["cancelled->open", "failed->submitted", "filled->failed", "submitted->intent", "sub->ws"],
)
async def test_an_illegal_transition_raises_is_logged_and_leaves_the_row(
    store: Store,
    journal_db: Path | str,
    caplog: pytest.LogCaptureFixture,
    path: tuple[OrderStatus, ...],
    illegal: OrderStatus,
) -> None:
    order_id = await _row_at(store, "ck-ill", *path)
    before = tuple(raw_one(journal_db, ROW, (order_id,)) or ())
    with caplog.at_level(logging.ERROR, logger="state.store"), pytest.raises(IllegalTransition):
        await store.record_order_state(
            order_id, illegal, error="should not land", trigger_price=1.0, tx_sig="other"
        )
    assert tuple(raw_one(journal_db, ROW, (order_id,)) or ()) == before
    [record] = [r for r in caplog.records if r.name == "state.store"]
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert f"order {order_id}" in text and f"{path[-1].value} -> {illegal.value}" in text
    # The writer goes on: a legal write right after it lands.
    await store.record_order_intent(entry_order("ck-after"), mode=Mode.SHADOW, venue="paper")


async def test_failed_rejected_and_expired_helpers_check_the_table(
    store: Store, journal_db: Path | str
) -> None:
    failed = await _row_at(store, "ck-fail", OrderStatus.SUBMITTED)
    await store.record_order_failed(failed, "lost")
    with pytest.raises(IllegalTransition, match="failed -> failed"):
        await store.record_order_failed(failed, "again")
    rejected = await _row_at(store, "ck-rej")
    await store.record_order_rejected(rejected, "insufficient collateral")
    expired = await _row_at(store, "ck-exp", OrderStatus.SUBMITTED)
    await store.record_order_expired(expired, "blockhash expired")
    with pytest.raises(IllegalTransition, match="intent -> expired"):  # never on a venue
        await store.record_order_expired(await _row_at(store, "ck-exp2"), "no")
    rows = [
        raw_one(journal_db, "SELECT status, error FROM orders WHERE id = ?", (i,))
        for i in (failed, rejected, expired)
    ]
    assert [(r["status"], r["error"]) for r in rows if r is not None] == [
        ("failed", "lost"),
        ("rejected", "insufficient collateral"),
        ("expired", "blockhash expired"),
    ]


async def test_a_filled_order_cannot_be_filled_twice(store: Store, journal_db: Path | str) -> None:
    position = await open_trade(store)
    exit_ = exit_order("ck-twice", position, 1.0, "tp1")
    exit_id = await store.record_order_intent(
        exit_, mode=Mode.SHADOW, venue="paper", status="would_submit"
    )
    position.size = 1.0
    await store.record_exit_fill(exit_id, fill_for(exit_, 152.0, T0 + 1), position)
    with pytest.raises(IllegalTransition, match="filled -> filled"):
        await store.record_exit_fill(exit_id, fill_for(exit_, 152.0, T0 + 2), position)
    fills = await store.fills_for(_trade_id(position))
    assert len(fills) == 2  # the entry and the one exit fill: the second left nothing behind


async def test_a_paper_fill_moves_would_submit_to_filled(
    store: Store, journal_db: Path | str
) -> None:
    order = entry_order("ck-paper")
    order_id = await store.record_order_intent(
        order, mode=Mode.SHADOW, venue="paper", status="would_submit"
    )
    await store.record_open(order_id, fill_for(order, 150.0, T0), make_position(make_plan()))
    row = raw_one(journal_db, "SELECT status, mode, venue FROM orders WHERE id = ?", (order_id,))
    assert row is not None
    # Still recognisable as a would-be submission: SHADOW mode, paper venue.
    assert (row["status"], row["mode"], row["venue"]) == ("filled", "shadow", "paper")


async def test_a_fill_on_an_intent_row_records_the_submission_it_proves(
    store: Store, journal_db: Path | str
) -> None:
    """A broker that sends and fills in one call leaves the row at intent until the fill; the
    fill proves it was submitted, and each step (intent -> submitted -> filled) is checked."""
    position = await open_trade(store)  # the factory's intent row, filled
    assert position.trade_id is not None
    [order] = await store.orders_for(position.trade_id)
    assert order.status is OrderStatus.FILLED


async def test_intent_json_is_stored_with_the_intent_row(store: Store) -> None:
    payload = '{"on_fill": "open", "plan": {"stop_loss": 147.75}}'
    order_id = await store.record_order_intent(
        entry_order("ck-json"), mode=Mode.LIVE_SMALL, venue="drift", intent_json=payload
    )
    plain = await store.record_order_intent(entry_order("ck-nojson"), mode=Mode.SHADOW, venue="p")
    rows = {r.id: r for r in await store.unfinished_orders()}
    assert rows[order_id].intent_json == payload
    assert rows[plain].intent_json is None


async def test_unfinished_orders_are_the_live_rows_but_resting_stops(store: Store) -> None:
    intent = await _row_at(store, "ck-u-intent")
    shadow = await store.record_order_intent(
        entry_order("ck-u-ws"), mode=Mode.SHADOW, venue="paper", status="would_submit"
    )
    submitted = await _row_at(store, "ck-u-sub", OrderStatus.SUBMITTED)
    accepted = await _row_at(store, "ck-u-acc", OrderStatus.SUBMITTED, OrderStatus.ACCEPTED)
    partial = await _row_at(store, "ck-u-part", OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
    await _row_at(store, "ck-u-open", OrderStatus.OPEN)  # a resting stop: not unfinished
    await _row_at(store, "ck-u-done", OrderStatus.SUBMITTED, OrderStatus.FILLED)
    await _row_at(store, "ck-u-failed", OrderStatus.FAILED)
    assert [r.id for r in await store.unfinished_orders()] == [
        intent,
        shadow,
        submitted,
        accepted,
        partial,
    ]
    assert [r.id for r in await store.unfinished_orders("paper")] == [shadow]
    assert [r.id for r in await store.unfinished_orders("drift")] == [
        intent,
        submitted,
        accepted,
        partial,
    ]


async def test_resolve_order_ends_a_dangling_row_through_the_table(
    store: Store, journal_db: Path | str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    shadow = await store.record_order_intent(
        entry_order("ck-kill"), mode=Mode.SHADOW, venue="paper", status="would_submit"
    )
    reason = "the cockpit stopped before this order was sent"
    await store.resolve_order(shadow, OrderStatus.FAILED, reason)
    row = raw_one(
        journal_db, "SELECT status, error, updated_at_ms FROM orders WHERE id = ?", (shadow,)
    )
    assert row is not None
    assert (row["status"], row["error"], row["updated_at_ms"]) == ("failed", reason, clock.now)
    assert await store.unfinished_orders() == []
    # Only to a final state, and only along the table.
    live = await _row_at(store, "ck-kill-2", OrderStatus.SUBMITTED)
    with pytest.raises(ValueError, match="final"):
        await store.resolve_order(live, OrderStatus.OPEN, "no")
    with caplog.at_level(logging.ERROR, logger="state.store"), pytest.raises(IllegalTransition):
        await store.resolve_order(shadow, OrderStatus.CANCELLED, "twice")
    row = raw_one(journal_db, "SELECT status, error FROM orders WHERE id = ?", (shadow,))
    assert row is not None and (row["status"], row["error"]) == ("failed", reason)
    with pytest.raises(NotFoundError):
        await store.resolve_order(9999, OrderStatus.FAILED, "no such row")


async def test_migration_0007_turns_placed_rows_into_submitted(db_path: Path, db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        await upgrade_to(engine, "0006")
    finally:
        await engine.dispose()
    conn = raw_connect(db_path)
    try:
        conn.execute(
            "INSERT INTO orders (client_order_id, symbol, side, size, reduce_only, reason, "
            "leverage, mode, venue, status, created_at_ms, updated_at_ms, order_type, "
            "user_order_id, tx_sig) VALUES ('ck-old', 'SOL-PERP', 'buy', 1.0, 0, 'entry', 2.0, "
            "'live_small', 'drift', 'placed', 1, 1, 'market', 7, 'sig-old')"
        )
        conn.commit()
    finally:
        conn.close()

    store = await Store.open(db_url)
    try:
        [row] = await store.venue_orders("drift")
        assert (row.client_order_id, row.status, row.intent_json) == (
            "ck-old",
            OrderStatus.SUBMITTED,
            None,
        )
        assert [r.id for r in await store.unfinished_orders("drift")] == [row.id]
    finally:
        await store.close()

    engine = create_engine_for(db_url)
    try:
        await downgrade_to(engine, "0006")
    finally:
        await engine.dispose()
    conn = raw_connect(db_path)
    try:
        assert conn.execute("SELECT status FROM orders").fetchall()[0][0] == "placed"
        columns = {r[1] for r in conn.execute("PRAGMA table_info(orders)")}
    finally:
        conn.close()
    assert "intent_json" not in columns
