"""Scenes shared by the layout tests and the snapshots: one closed trade and one open long."""

from __future__ import annotations

from textual.pilot import Pilot

from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from tests.ui.test_dashboard import open_long, redraw


async def closed_then_open(app: CockpitApp, feed: ReplayFeed, pilot: Pilot[None]) -> int:
    """Trade #1 opened and closed by hand, #2 open past its breakeven trigger; returns #2."""
    await feed.step(3)
    first = await open_long(app, pilot)
    await feed.step(4)
    await app.session.close_position(first)
    await feed.step(2)
    second = await open_long(app, pilot)
    await feed.step(8)
    await redraw(app, pilot)
    return second
