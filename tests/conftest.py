"""Fixtures shared across test packages, and the hypothesis profiles.

Property tests run derandomized in CI (`CI` set, as `.ci/run` is run): the same examples every
run, so a landing never depends on luck. Locally they search new random examples each run; a
failure found that way is pinned with `@example` and fixed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

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
