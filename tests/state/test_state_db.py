"""Engine setup: the file and its directory appear, and every connection gets the PRAGMAs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from state.db import create_engine_for, sqlite_file_path
from state.store import Store
from tests.state.factories import raw_one


async def test_open_creates_file_in_wal_mode_with_foreign_keys(db_path: Path, db_url: str) -> None:
    assert not db_path.parent.exists()
    store = await Store.open(db_url)
    try:
        assert db_path.exists()
        async with store.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    finally:
        await store.close()
    # WAL is persistent in the file: any later reader sees it too.
    row = raw_one(db_path, "PRAGMA journal_mode")
    assert row is not None and row[0] == "wal"


@pytest.mark.sqlite_only
async def test_every_pooled_connection_gets_the_pragmas(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        async with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
                assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(store: Store) -> None:
    async with store.engine.connect() as conn:
        try:
            await conn.execute(
                text(
                    "INSERT INTO stop_moves (trade_id, ts_ms, old_price, new_price, role, reason, "
                    "who) VALUES (999, 1, 1.0, 2.0, 'stop_loss', 'x', 'test')"
                )
            )
        except IntegrityError as exc:
            assert "foreign key" in str(exc).lower()
        else:
            raise AssertionError("an orphan stop move was accepted")


def test_sqlite_file_path_only_for_real_files(tmp_path: Path) -> None:
    assert sqlite_file_path(make_url("sqlite+aiosqlite://")) is None
    assert sqlite_file_path(make_url("sqlite+aiosqlite:///:memory:")) is None
    assert sqlite_file_path(make_url("sqlite+aiosqlite:///file:x?mode=memory&uri=true")) is None
    path = tmp_path / "a" / "b.db"
    assert sqlite_file_path(make_url(f"sqlite+aiosqlite:///{path}")) == path
