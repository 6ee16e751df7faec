"""Waiting on a condition instead of on the clock.

Tests run on a loaded 2-core machine (CI, several agents): a `sleep(x)` that is "long enough"
on a quiet machine is not under load. A test waits for the thing it needs to have happened,
with a generous ceiling that only turns a bug into a failure instead of a hang; it returns as
soon as the condition holds, so the ceiling costs nothing when all is well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

CEILING_S = 60.0
"""The longest any test waits for something that should happen (a ceiling, not a duration)."""


async def until(
    condition: Callable[[], object], timeout: float = CEILING_S, what: str = ""
) -> None:
    """Until `condition()` is true, checking every 10 ms; fails after `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what or condition}"
        ) from None


async def pilot_until(
    pilot: Pilot[Any], condition: Callable[[], object], timeout: float = CEILING_S, what: str = ""
) -> None:
    """`until` for a Textual app under Pilot: between checks the app processes its messages
    (screens pushed, workers' results shown)."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await pilot.pause(0.01)
    except TimeoutError:
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what or condition}"
        ) from None
