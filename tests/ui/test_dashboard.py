"""The dashboard under Textual's Pilot.

Open a paper position, replay until TP1 fills, and check the table and the database agree.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton

from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from cockpit.screens.dashboard import DashboardScreen
from tests.ui.harness import SYMBOL, AppFactory, rally
from tests.waiting import pilot_until
from widgets.order_ticket import OrderTicket
from widgets.positions_table import PositionsTable

SIZE = (160, 48)


def db_path(app: CockpitApp) -> Path:
    return Path(app.session.settings.db_url.removeprefix("sqlite+aiosqlite:///"))


def cell(app: CockpitApp, trade_id: int, column: str) -> str:
    table = app.screen.query_one(PositionsTable)
    value = table.get_cell(f"trade-{trade_id}", column)
    return (value.plain if isinstance(value, Text) else str(value)).strip()


async def redraw(app: CockpitApp, pilot: Pilot[None]) -> None:
    """Run the dashboard's refresh now instead of waiting for the 4 Hz timer."""
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    screen.refresh_view()
    await pilot.pause()


async def open_long(app: CockpitApp, pilot: Pilot[None], notional: str = "30") -> int:
    await pilot.press("l")
    await pilot.pause()
    ticket = app.screen
    assert isinstance(ticket, OrderTicket)
    ticket.query_one("#notional", Input).value = notional
    await pilot.press("enter")
    for _ in range(3000):
        await pilot.pause(0.01)
        if app.session.latest.positions:
            break
    (pos,) = app.session.latest.positions
    assert pos.trade_id is not None
    return pos.trade_id


async def step_until(feed: ReplayFeed, pilot: Pilot[None], done: object, limit: int = 100) -> None:
    assert callable(done)
    for _ in range(limit):
        if done():
            return
        await feed.step(1)
        await pilot.pause()
    raise AssertionError("condition not reached within the scripted path")


async def test_open_long_then_tp1_fills_and_table_matches_database(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        initial = pos.initial_size
        assert initial == pytest.approx(30 / 100.0)  # notional / price at the ticket

        await step_until(feed, pilot, lambda: pos.tp1_filled)
        await redraw(app, pilot)

        assert cell(app, trade_id, "state") == "tp1 hit"
        assert cell(app, trade_id, "size") == f"{initial * 0.25:,.4f}"
        # the profit lock (+1.2 %) came before TP1 (+1.5 %): the stop sits at +0.4 %, above entry
        assert cell(app, trade_id, "sl") == f"{pos.plan.profit_lock_stop:.3f}"
        assert pos.plan.profit_lock_stop > pos.entry

    with sqlite3.connect(db_path(app)) as db:
        size, stop, status = db.execute(
            "SELECT size, stop_price, status FROM trades WHERE id = ?", (trade_id,)
        ).fetchone()
        reasons = [
            r
            for (r,) in db.execute(
                "SELECT reason FROM fills WHERE trade_id = ? ORDER BY id", (trade_id,)
            )
        ]
        orders = db.execute(
            "SELECT reduce_only, status FROM orders WHERE trade_id = ? ORDER BY id", (trade_id,)
        ).fetchall()
    assert status == "open"
    assert abs(size - initial * 0.25) < 1e-12
    assert abs(stop - pos.plan.profit_lock_stop) < 1e-12
    assert reasons == ["entry", "tp1"]
    assert orders == [(0, "filled"), (1, "filled")]  # SHADOW: paper fills only


async def test_invalid_ticket_says_what_is_wrong_and_sends_nothing(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("s")
        await pilot.pause()
        ticket = app.screen
        assert isinstance(ticket, OrderTicket)
        ticket.query_one("#notional", Input).value = "abc"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is ticket, "the ticket must stay open on bad input"
        error = str(ticket.query_one("#ticket-error").render())
        assert "'abc' is not a number" in error
        assert app.focused is ticket.query_one("#notional", Input)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert app.session.latest.positions == []
    with sqlite3.connect(db_path(app)) as db:
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (0,)


async def test_position_and_history_survive_a_restart(make_app: AppFactory) -> None:
    prices = [100.0] * 3 + [98.4] + [100.0] * 20  # second position opened after the first stops out
    app, feed = make_app(prices)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        first = await open_long(app, pilot)
        await step_until(feed, pilot, lambda: not app.session.latest.positions)
        await feed.step(1)
        second = await open_long(app, pilot, notional="20")

    app2, feed2 = make_app([100.5] * 5)
    async with app2.run_test(size=SIZE) as pilot:
        await redraw(app2, pilot)
        (restored,) = app2.session.latest.positions
        assert restored.trade_id == second
        assert cell(app2, second, "symbol") == SYMBOL
        assert cell(app2, second, "state") == "open"
        history = app2.session.latest.closed_trades
        assert [t.id for t in history] == [first]
        assert history[0].exit_reason == "stop_loss"
        await feed2.step(1)
        await redraw(app2, pilot)
        assert cell(app2, second, "mark") == "100.500"


async def test_command_palette_opens_the_ticket_with_the_side_chosen(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Open short")

        def offered() -> bool:  # the palette searches in the background
            palette = app.screen
            if not isinstance(palette, CommandPalette):
                return False
            option = palette.query_one(CommandList).highlighted_option
            return option is not None and "Open short" in str(option.prompt)

        await pilot_until(pilot, offered, what="'Open short' highlighted in the palette")
        await pilot.press("enter")
        for _ in range(1500):
            await pilot.pause(0.02)
            if isinstance(app.screen, OrderTicket):
                break
        ticket = app.screen
        assert isinstance(ticket, OrderTicket)
        assert ticket.query_one("#side-short", RadioButton).value is True
        assert ticket.query_one("#side-long", RadioButton).value is False
        await pilot.press("enter")  # notional and leverage are prefilled from the settings
        for _ in range(3000):
            await pilot.pause(0.01)
            if app.session.latest.positions:
                break
        (pos,) = app.session.latest.positions
        assert pos.side.value == "short"
        assert pos.initial_size * 100.0 == pytest.approx(app.session.settings.default_notional_usdt)
