"""Every store test gets its own real database: a SQLite file under tmp_path (in a not-yet-existing
dir), and, for every test that does not read the SQLite file directly (`db_path`), also a fresh
PostgreSQL database (skipped with the reason where no server is available: tests/pg_server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from state.store import Store
from tests.conftest import ENGINES
from tests.state.factories import FakeClock


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cockpit.db"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run on both engines every test that reaches its database only through its URL."""
    names = metafunc.fixturenames
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        return
    if ("db_url" in names or "journal_db" in names) and "db_path" not in names:
        metafunc.parametrize("db_engine", ENGINES, indirect=True)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def journal_db(db_engine: str, any_db_url: str, tmp_path: Path) -> Path | str:
    """What `factories.raw_one` reads, outside the store: the SQLite file or the PostgreSQL URL."""
    if db_engine == "postgresql":
        return any_db_url
    return tmp_path / "data" / "cockpit.db"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(db_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    """A store whose throttled flush never fires on its own during a test (60 s interval)."""
    opened = await Store.open(db_url, flush_interval_s=60.0, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()
