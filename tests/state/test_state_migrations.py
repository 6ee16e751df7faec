"""Schema versions: an old database upgrades in place, and head is exactly the models."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from cockpit.domain import StopRole
from state.db import create_engine_for
from state.migrate import (
    HEAD_REVISION,
    current_revision,
    downgrade_to,
    script_head,
    upgrade_to,
    upgrade_to_head,
)
from state.models import Base
from state.store import Store
from tests.conftest import ENGINES
from tests.state.factories import T0, open_trade, raw_connect


def _diff(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def schema_diff(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


def index_names(db_path: Path) -> set[str]:
    conn = raw_connect(db_path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        return {row[0] for row in rows}
    finally:
        conn.close()


def test_head_constant_matches_the_scripts() -> None:
    assert script_head() == HEAD_REVISION


async def test_fresh_database_at_head_matches_models(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        assert await current_revision(engine) is None
        await upgrade_to_head(engine)
        assert await current_revision(engine) == HEAD_REVISION
        assert await schema_diff(engine) == []
        await upgrade_to_head(engine)  # idempotent
        assert await current_revision(engine) == HEAD_REVISION
    finally:
        await engine.dispose()


async def test_comparison_does_see_a_difference_at_0001(db_url: str) -> None:
    """Guards the test above: at 0001 the trade_id indexes (0002), the audit table (0003), the
    phases table (0010), the signals' external id index (0012), the ledger (0011) and the replay
    runs (0016) are missing, and the diff says so."""
    engine = create_engine_for(db_url)
    try:
        await upgrade_to(engine, "0001")
        diff = await schema_diff(engine)
        added = {op[1].name for op in diff if op[0] == "add_index"}
        assert added == {
            "ix_fills_trade_id",
            "ix_orders_trade_id",
            "ix_stop_moves_trade_id",
            "ix_audit_events_ts_ms",
            "ix_signals_external_id",
            "ix_trades_account",  # 0013
            "ix_orders_account",
            "ix_audit_events_account",
            "ix_mode_changes_account",
            "ix_alerts_account",  # 0014
            "ix_signals_account",
            "ix_signals_account_external_id",
            "ix_replay_runs_account",  # 0016
            "ix_counterfactuals_trade_id",  # 0011
        }
        assert {op[1].name for op in diff if op[0] == "add_table"} == {
            "audit_events",
            "phases",
            "replay_runs",
            "counterfactuals",  # 0011
            "ledger_paths",
        }
    finally:
        await engine.dispose()


async def test_0001_database_with_data_upgrades_to_head_intact(db_path: Path, db_url: str) -> None:
    # The rows are written through today's store, then the schema is rolled back to 0001 (every
    # downgrade keeps data in the 0001 columns): that is exactly what an install that never
    # upgraded has on disk, including the data its columns can hold.
    old = await Store.open(db_url)
    position = await open_trade(old, "ck-old-1", ts_ms=T0)
    assert position.trade_id is not None
    await old.record_stop_move(
        position.trade_id, 147.75, 150.0, StopRole.BREAKEVEN, "be", "engine", T0
    )
    await old.record_alert("warning", "written at 0001", T0)
    await old.set_setting("ui.theme", "dark")
    await old.close()
    engine = create_engine_for(db_url)
    try:
        await downgrade_to(engine, "0001")
        assert await current_revision(engine) == "0001"
    finally:
        await engine.dispose()
    assert "ix_fills_trade_id" not in index_names(db_path)
    conn = raw_connect(db_path)
    try:
        trade_columns = {row[1] for row in conn.execute("PRAGMA table_info(trades)")}
    finally:
        conn.close()
    assert "breakeven_done" not in trade_columns

    store = await Store.open(db_url)
    try:
        assert await current_revision(store.engine) == HEAD_REVISION
        assert await schema_diff(store.engine) == []
        restored = await store.open_positions()
        assert len(restored) == 1
        assert restored[0].trade_id == position.trade_id
        assert restored[0].stop == 150.0
        assert restored[0].plan == position.plan
        # Columns added after 0001 come back with their defaults.
        assert (restored[0].breakeven_done, restored[0].trail_mult) == (False, None)
        assert [f.client_order_id for f in await store.fills_for(position.trade_id)] == ["ck-old-1"]
        assert [m.new_price for m in await store.stop_moves_for(position.trade_id)] == [150.0]
        assert [a.message for a in await store.recent_alerts()] == ["written at 0001"]
        assert await store.get_setting("ui.theme") == "dark"
    finally:
        await store.close()
    assert {"ix_fills_trade_id", "ix_orders_trade_id", "ix_stop_moves_trade_id"} <= index_names(
        db_path
    )


async def _index_names(engine: AsyncEngine) -> set[str]:
    def names(sync: Connection) -> set[str]:
        inspector = inspect(sync)
        return {
            str(index["name"])
            for table in inspector.get_table_names()
            for index in inspector.get_indexes(table)
        }

    async with engine.connect() as conn:
        return await conn.run_sync(names)


@pytest.mark.parametrize("db_engine", ENGINES, indirect=True)
async def test_downgrade_to_base_then_upgrade_again(any_db_url: str, db_engine: str) -> None:
    """Every revision's upgrade and downgrade, on both engines."""
    engine = create_engine_for(any_db_url)
    try:
        await upgrade_to_head(engine)
        await downgrade_to(engine, "0001")
        assert await current_revision(engine) == "0001"
        assert "ix_fills_trade_id" not in await _index_names(engine)
        await downgrade_to(engine, "base")
        assert await current_revision(engine) is None
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert set(tables) == {"alembic_version"}
        await upgrade_to_head(engine)
        assert await current_revision(engine) == HEAD_REVISION
        assert await schema_diff(engine) == []
    finally:
        await engine.dispose()


@pytest.mark.sqlite_only  # PostgreSQL's own test: several cockpits starting on a new database
async def test_cockpits_starting_together_on_a_new_postgresql_database_migrate_once(
    pg_url: str,
) -> None:
    """A desk's cockpits on different accounts hold different locks, so nothing but the
    migration lock keeps their migrations apart: without it, two CREATE TABLE alembic_version
    collide and a cockpit fails to start."""
    # Without the lock they hang or collide: a generous bound turns a hang into a failure.
    stores = await asyncio.wait_for(
        asyncio.gather(
            *(Store.open(pg_url, account=f"paper:{i}") for i in range(4)), return_exceptions=True
        ),
        timeout=300,
    )
    try:
        assert [s for s in stores if isinstance(s, BaseException)] == []
    finally:
        for store in stores:
            if isinstance(store, Store):
                await store.close()
    engine = create_engine_for(pg_url)
    try:
        assert await current_revision(engine) == HEAD_REVISION
    finally:
        await engine.dispose()
