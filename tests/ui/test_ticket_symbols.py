"""The ticket's symbol is a choice among the session's symbols (no free text to mistype)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from tests.ui.test_keys import wait_for
from tests.ui.test_watchlist import replay_app
from widgets.order_ticket import OrderTicket


async def test_the_ticket_offers_the_sessions_symbols_and_opens_on_the_chosen_one(
    tmp_path: Path,
) -> None:
    app, feed = replay_app(tmp_path, eth_ticks=20)  # SOL and ETH, paused
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
