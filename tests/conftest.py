"""Fixtures shared across test packages, and the hypothesis profiles.

Property tests run derandomized in CI (`CI` set, as `.ci/run` is run): the same examples every
run, so a landing never depends on luck. Locally they search new random examples each run; a
failure found that way is pinned with `@example` and fixed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.fakes._server import LoopbackGuard

# No per-example deadline and no "too slow" health check: both measure wall time, and on a
# loaded 2-core machine an example that takes 20 ms alone can take 2 s (speed is for bench/).
NOT_TIMED = [HealthCheck.too_slow]
settings.register_profile(
    "ci", derandomize=True, print_blob=True, deadline=None, suppress_health_check=NOT_TIMED
)
settings.register_profile("dev", print_blob=True, deadline=None, suppress_health_check=NOT_TIMED)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def guard() -> Iterator[LoopbackGuard]:
    """Fails the test if anything connects to or resolves a non-loopback address.

    Modules that talk to a fake exchange use it for every test:
    `pytestmark = pytest.mark.usefixtures("guard")`.
    """
    with LoopbackGuard() as g:
        yield g
    assert g.violations == [], f"a test reached off the loopback: {g.violations}"


@pytest.fixture(autouse=True, scope="session")
def _log_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The cockpit's log file goes to a temp folder, never the tester's own log folder (tests
    run `cockpit.cli.main` in-process and as subprocesses, which inherit the variable)."""
    before = os.environ.get("COCKPIT_LOG_DIR")
    os.environ["COCKPIT_LOG_DIR"] = str(tmp_path_factory.mktemp("logs"))
    yield
    if before is None:
        os.environ.pop("COCKPIT_LOG_DIR", None)
    else:
        os.environ["COCKPIT_LOG_DIR"] = before


# ------------------------------------------------------------------ PostgreSQL (tests/pg_server.py)
ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """The admin URL of the session's PostgreSQL server; skips (with the reason) without one."""
    import asyncio

    from tests import pg_server

    with pg_server.session_server() as (url, why):
        if url is None:
            pytest.skip(why)
        problem = asyncio.run(pg_server.reachable(url))
        if problem is not None:
            pytest.skip(f"PostgreSQL at {pg_server.ENV_URL} not reachable: {problem}")
        yield url


@pytest.fixture
async def pg_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database of its own for one test (dropped after it)."""
    from tests import pg_server

    name, url = await pg_server.create_database(pg_admin_url)
    try:
        yield url
    finally:
        await pg_server.drop_database(pg_admin_url, name)


@pytest.fixture
def db_engine(request: pytest.FixtureRequest) -> str:
    """Which engine a test's database is on: parametrized by the tests that run on both."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def any_db_url(db_engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database URL on the test's engine: a new SQLite file or a new PostgreSQL database."""
    if db_engine == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'cockpit.db'}"


@pytest.fixture
def headless_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cockpit.cli.main` runs its app headless (pytest has no terminal for it). A start that
    fails after the first frame (a bad candle file, a market the exchange does not list) is
    then printed on one line and exit 2, as in a terminal."""
    import cockpit.cli as cli

    def run(app: Any) -> int:
        app.run(headless=True, size=(150, 44))
        return int(app.return_code or 0)

    monkeypatch.setattr(cli, "_run", run)
