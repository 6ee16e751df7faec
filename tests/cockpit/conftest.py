"""Fixtures of the cockpit tests that several modules use."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests import pg_server


@pytest.fixture
async def own_server() -> AsyncIterator[pg_server.Cluster]:
    """A PostgreSQL cluster of the test's own: stopping or restarting it (a server outage, a lost
    account lock) must not touch any other test's database. Skipped, with the reason, where no
    server can be started."""
    try:
        cluster = await asyncio.to_thread(pg_server.start_cluster)
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"no PostgreSQL server of its own for this test: {exc}")
    try:
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop)
