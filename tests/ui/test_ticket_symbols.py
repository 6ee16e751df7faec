"""The ticket's symbol is a choice among the session's symbols (no free text to mistype)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from cockpit.config import Settings
from cockpit.domain import Tick
from cockpit.session import Session
from tests.ui.harness import FIXED_CLOCK_MS, START_MS, scripted_ticks
from tests.ui.test_keys import wait_for
from widgets.order_ticket import OrderTicket


def two_symbol_app(tmp_path: Path) -> tuple[CockpitApp, ReplayFeed]:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", state_flush_ms=50)
    eth = (Tick("ETH-PERP", START_MS + 1000 * i, 2000.0, bid=1999.9, ask=2000.1) for i in range(20))
    feed = ReplayFeed(
        {"SOL-PERP": scripted_ticks([100.0] * 20), "ETH-PERP": eth},
        speed=None,
        simulated=True,
        label="test",
    )
    feed.pause()
    session = Session(
        settings,
        feed,
        PaperBroker(settings.paper),
        ["SOL-PERP", "ETH-PERP"],
        clock=lambda: FIXED_CLOCK_MS,
    )
    return CockpitApp(session), feed


async def test_the_ticket_offers_the_sessions_symbols_and_opens_on_the_chosen_one(
    tmp_path: Path,
) -> None:
    app, feed = two_symbol_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await feed.step(2)
        await wait_for(pilot, lambda: len(app.session.latest.last_tick) == 2)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderTicket))
        ticket = app.screen
        choice = ticket.query_one("#symbol", Select)
        assert [str(option[0]) for option in choice._options] == ["SOL-PERP", "ETH-PERP"]
        choice.value = "ETH-PERP"
        ticket.query_one("#notional", Input).value = "40"
        ticket.query_one("#notional", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.session.latest.positions), limit=3000)
        (pos,) = app.session.latest.positions
        assert pos.symbol == "ETH-PERP" and abs(pos.entry / 2000.0 - 1) < 0.001  # ETH's price
