"""The dashboard redraws when the session changes, not on a poll (issue 14 item 1).

The idle refresh (the clock, a feed that went quiet) is pushed out to an hour here, so only
a change can redraw the screen: a new price, a new position and a new event line each reach the
screen on their own. Under the old 4 Hz poll nothing would show in this test.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

import cockpit.screens.dashboard as dashboard
from cockpit.app import CockpitApp
from tests.ui.harness import AppFactory, rally
from tests.ui.test_dashboard import SIZE, open_long
from tests.waiting import pilot_until


async def shows(pilot: Pilot[None], seen: Callable[[], bool]) -> None:
    await pilot_until(pilot, seen, what="the change on screen")


def header_price(app: CockpitApp) -> str:
    return str(app.screen.query_one("#header-price", Static).render())


async def test_a_change_reaches_the_screen_without_a_poll(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard, "IDLE_REFRESH_S", 3600.0)
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await shows(pilot, lambda: "100.000" in header_price(app))
        await open_long(app, pilot)
        table = app.screen.query_one("#positions", DataTable)
        await shows(pilot, lambda: table.row_count == 1)
        await feed.step(1)
        price = app.session.latest.last_tick["SOL-PERP"].price
        await shows(pilot, lambda: f"{price:.3f}" in header_price(app))
        app.session.event("info", "a line the trader must see")
        events = app.screen.query_one("#events")
        await shows(pilot, lambda: "a line the trader must see" in str(events.lines))
