"""The ticket says which A/B group the entry gets while a test runs, and the trade has it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.widgets import Input, Static

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from cockpit.config import Settings
from cockpit.session import Session
from tests.ui.harness import FIXED_CLOCK_MS, scripted_ticks
from tests.ui.test_keys import wait_for
from widgets.order_ticket import OrderTicket

AB = {
    "name": "bias",
    "start": "2020-01-01",
    "variants": [{"name": "A", "direction_bias": False}, {"name": "B", "direction_bias": True}],
}


async def test_the_ticket_shows_the_group_and_the_trade_row_keeps_it(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", state_flush_ms=50, ab=[AB])
    feed = ReplayFeed(
        {"SOL-PERP": scripted_ticks([100.0] * 20)}, speed=None, simulated=True, label="t"
    )
    feed.pause()
    session = Session(
        settings, feed, PaperBroker(settings.paper), ["SOL-PERP"], clock=lambda: FIXED_CLOCK_MS
    )
    app = CockpitApp(session)
    async with app.run_test(size=(160, 45)) as pilot:
        await feed.step(2)
        await wait_for(pilot, lambda: bool(app.session.latest.last_tick))
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderTicket))
        note = str(app.screen.query_one("#ticket-ab", Static).render())
        assert "A/B test 'bias': group A (direction bias off)" in note
        app.screen.query_one("#notional", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.session.latest.positions), limit=3000)
    with sqlite3.connect(db) as conn:
        assert list(conn.execute("SELECT ab_group FROM trades")) == [("A",)]
