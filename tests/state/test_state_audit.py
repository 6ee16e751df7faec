"""Audit rows, mode-change reads, and SHADOW orders filled on paper (real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from cockpit.domain import Mode, Side
from state.db import create_engine_for
from state.migrate import HEAD_REVISION, current_revision, downgrade_to, upgrade_to_head
from state.store import Store
from tests.state.factories import (
    T0,
    entry_order,
    exit_order,
    fill_for,
    make_plan,
    make_position,
    open_trade,
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


async def test_shadow_and_live_orders_become_filled_and_shadow_ones_stay_paper(
    store: Store, journal_db: Path | str
) -> None:
    """A paper fill moves a SHADOW row `would_submit -> filled`: its mode (`shadow`) and venue
    still say it was a would-be submission, filled on paper."""
    for mode, status, cid, want in (
        (Mode.SHADOW, "would_submit", "ck-shadow", "filled"),
        (Mode.LIVE_SMALL, "intent", "ck-live", "filled"),
    ):
        order = entry_order(cid)
        order_id = await store.record_order_intent(order, mode=mode, venue="v", status=status)
        position = make_position(make_plan(Side.LONG, 150.0, 2.0), opened_ms=T0)
        position.trade_id = await store.record_open(order_id, fill_for(order, 150.0, T0), position)
        row = raw_one(journal_db, "SELECT status, mode FROM orders WHERE id = ?", (order_id,))
        assert row is not None and (row["status"], row["mode"]) == (want, mode.value)

        exit_ = exit_order(f"{cid}-x", position, 2.0, "manual_close")
        exit_id = await store.record_order_intent(exit_, mode=mode, venue="v", status=status)
        fill = fill_for(exit_, 151.0, T0 + 1_000)
        position.size = 0.0
        position.closed = True
        await store.record_exit_fill(exit_id, fill, position)
        row = raw_one(journal_db, "SELECT status FROM orders WHERE id = ?", (exit_id,))
        assert row is not None and row["status"] == want


async def test_failed_orders_are_failed_in_both_modes(store: Store, journal_db: Path | str) -> None:
    for mode, status, cid in ((Mode.SHADOW, "would_submit", "a"), (Mode.LIVE_SMALL, "intent", "b")):
        order_id = await store.record_order_intent(
            entry_order(cid), mode=mode, venue="v", status=status
        )
        await store.record_order_failed(order_id, "venue said no")
        row = raw_one(journal_db, "SELECT status, error FROM orders WHERE id = ?", (order_id,))
        assert row is not None and (row["status"], row["error"]) == ("failed", "venue said no")


async def test_audit_limit_and_equal_timestamps_newest_id_first(store: Store) -> None:
    ids = [await store.record_audit("manual_action", "user", f"a{i}", "r", 5_000) for i in range(3)]
    await store.record_mode_change(Mode.SHADOW, Mode.LIVE_SMALL, "user", "x", 5_000)
    await store.record_mode_change(Mode.LIVE_SMALL, Mode.SHADOW, "user", "y", 5_000)
    assert [r.id for r in await store.recent_audit(limit=2)] == [ids[2], ids[1]]
    assert [c.reason for c in await store.mode_changes(limit=1)] == ["y"]


async def test_audit_row_links_to_a_trade_and_rejects_an_unknown_one(store: Store) -> None:
    position = await open_trade(store)
    assert position.trade_id is not None
    audit_id = await store.record_audit(
        "manual_action", "user", "move stop", "manual", T0, trade_id=position.trade_id
    )
    [row] = await store.recent_audit()
    assert (row.id, row.trade_id, row.detail_json) == (audit_id, position.trade_id, None)
    with pytest.raises(IntegrityError):  # foreign keys are on
        await store.record_audit("refusal", "user", "x", "y", T0, trade_id=999_999)
    # The failed write did not stop the writer.
    await store.record_audit("confirmation", "user", "typed LIVE", "ok", T0 + 1)
    assert [r.kind for r in await store.recent_audit()] == ["confirmation", "manual_action"]


async def test_audit_rows_survive_a_reopen(db_url: str) -> None:
    store = await Store.open(db_url)
    await store.record_audit("refusal", "webhook", "open", "cooldown 60 s", T0, '{"left_s": 12}')
    await store.close()
    reopened = await Store.open(db_url)
    try:
        [row] = await reopened.recent_audit()
        assert (row.kind, row.who, row.detail_json) == ("refusal", "webhook", '{"left_s": 12}')
    finally:
        await reopened.close()


async def test_downgrade_to_0002_drops_only_the_audit_table(db_path: Path, db_url: str) -> None:
    store = await Store.open(db_url)
    await open_trade(store)
    await store.record_audit("refusal", "user", "open", "limit", T0)
    await store.close()

    engine = create_engine_for(db_url)
    try:
        await downgrade_to(engine, "0002")
        assert await current_revision(engine) == "0002"
        sql = "SELECT count(*) AS n FROM sqlite_master WHERE name = 'audit_events'"
        row = raw_one(db_path, sql)
        assert row is not None and row["n"] == 0
        await upgrade_to_head(engine)
        assert await current_revision(engine) == HEAD_REVISION
    finally:
        await engine.dispose()

    store = await Store.open(db_url)
    try:
        assert len(await store.open_positions()) == 1
        assert await store.recent_audit() == []
        await store.record_audit("refusal", "user", "open", "limit", T0)
        assert len(await store.recent_audit()) == 1
    finally:
        await store.close()
