"""Fixtures shared across test packages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes._server import LoopbackGuard


@pytest.fixture
def guard() -> Iterator[LoopbackGuard]:
    """Fails the test if anything connects to or resolves a non-loopback address.

    Modules that talk to a fake exchange use it for every test:
    `pytestmark = pytest.mark.usefixtures("guard")`.
    """
    with LoopbackGuard() as g:
        yield g
    assert g.violations == [], f"a test reached off the loopback: {g.violations}"
