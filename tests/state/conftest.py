"""Every store test gets its own real SQLite file under tmp_path (in a not-yet-existing dir)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from state.store import Store
from tests.state.factories import FakeClock


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "cockpit.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite+aiosqlite:///{db_path}"


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
