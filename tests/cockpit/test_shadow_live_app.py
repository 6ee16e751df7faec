"""The live cockpit (the Textual app from `cockpit --feed ...`) on the fake Binance USD-M: the
header shows the feed connected, stale with its age, and down with the error; a position opened
in it is filled from the fake's book and managed from its stream; the app never crashes."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from adapters.ccxt_feed import CcxtFeed
from cockpit.app import CockpitApp
from cockpit.cli import live_app
from cockpit.config import Settings
from cockpit.domain import Side
from cockpit.screens.dashboard import DashboardScreen
from tests.adapters.live_feed_harness import (
    SYMBOL,
    book_in_feed,
    closed_port,
    fast_config,
    running,
    until,
)
from tests.fakes.binance_usdm import FakeBinanceUSDM
from tests.waiting import pilot_until

SIZE = (160, 48)


pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinanceUSDM]:
    async with running(FakeBinanceUSDM()) as server:
        yield server


def header_feed(app: CockpitApp) -> str:
    screen = app.screen
    assert isinstance(screen, DashboardScreen)
    screen.refresh_view()
    return str(screen.query_one("#header-feed", Static).render())


async def header_until(app: CockpitApp, pilot: Pilot[None], text: str, timeout: float = 60) -> str:
    """Until the header's feed line shows `text` (the timeout is a ceiling for a loaded
    machine, not a duration)."""
    async with asyncio.timeout(timeout):
        while text not in (shown := header_feed(app)):
            await pilot.pause(0.05)
    return shown


def feed_of(app: CockpitApp) -> CcxtFeed:
    feed = app.session.feed
    assert isinstance(feed, CcxtFeed)
    return feed


def attempt(shown: str) -> int:
    """The failed attempt the header's "down" line counts ("... (attempt 3, retry in 1s)")."""
    found = re.search(r"attempt (\d+)", shown)
    assert found, shown
    return int(found.group(1))


async def test_the_live_cockpit_trades_on_the_fake_stream(
    tmp_path: Path, fake: FakeBinanceUSDM
) -> None:
    db = tmp_path / "live.db"
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{db}",
        # stale after 10 s of wall time: a loaded machine can take seconds from a mark to the
        # entry; the stale header is waited for below
        feed=fast_config(fake.origin, stale_after_s=10, reconnect_after_s=60, backfill_minutes=10),
    )
    app = live_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await fake.wait_subscribed("solusdt@markPrice@1s")
        await fake.wait_subscribed("solusdt@bookTicker")
        await fake.book(150.00, 150.04)
        await book_in_feed(feed_of(app), 150.00, 150.04)
        async with asyncio.timeout(60):  # a ceiling for a loaded machine
            while "connected" not in header_feed(app):
                await fake.mark_price(150.02)  # again: each mark is fresh when it goes out
                await pilot.pause(0.1)
        shown = header_feed(app)
        assert "binanceusdm mark price" in shown and "SIMULATED" not in shown
        tick = app.session.latest.last_tick.get
        await until(lambda: (t := tick(SYMBOL)) is not None and t.ask == 150.04, what="the tick")

        pos = await app.session.open_position(SYMBOL, Side.LONG, 30.0, 2.0)
        assert pos.entry == pytest.approx(150.04 * 1.0002)
        await fake.book(146.00, 146.04)  # a gap through the stop (-1.5 % = 147.82)
        await book_in_feed(feed_of(app), 146.00, 146.04)
        async with asyncio.timeout(60):  # a ceiling for a loaded machine
            while not pos.closed:
                # again until handled: the app runs on the wall clock, and a mark that waited
                # longer than stale_after_s in a loaded loop is (rightly) not acted on
                await fake.mark_price(146.02)
                await pilot.pause(0.1)
        assert pos.realized_pnl == pytest.approx(pos.initial_size * (146.0 * 0.9998 - pos.entry))

        # the exchange goes quiet: the header says stale, with the age
        shown = await header_until(app, pilot, "stale")
        assert "no automatic exits" in shown
        await pilot.press("q")
    with sqlite3.connect(db) as conn:
        (reason,) = conn.execute("SELECT exit_reason FROM trades").fetchone()
        (bars,) = conn.execute("SELECT COUNT(*) FROM candles").fetchone()
    assert reason == "stop_loss"
    assert bars >= 10


async def test_without_network_the_cockpit_runs_and_shows_the_feed_down(tmp_path: Path) -> None:
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'offline.db'}",
        feed=fast_config(f"http://127.0.0.1:{closed_port()}"),
    )
    app = live_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        shown = await header_until(app, pilot, "down")
        assert "attempt" in shown and ("NetworkError" in shown or "Exchange" in shown)
        first = attempt(shown)
        # it keeps retrying, and keeps running: a later attempt is counted on the same line
        async with asyncio.timeout(60):  # a ceiling for a loaded machine
            while attempt(shown := await header_until(app, pilot, "down")) <= first:
                await pilot.pause(0.05)
        assert app.is_running
        await pilot.press("q")


async def test_a_market_the_exchange_does_not_list_is_said_on_the_starting_screen(
    tmp_path: Path, fake: FakeBinanceUSDM
) -> None:
    """The symbols are checked after the first frame (the screen says so while it asks), before
    the feed starts or the journal opens: an unknown one is said with the closest names, and
    the cockpit exits 2 without a journal."""
    db = tmp_path / "live.db"
    feed = fast_config(fake.origin).model_copy(update={"symbols": [SYMBOL, "SOL/USDT:USDC"]})
    app = live_app(Settings(db_url=f"sqlite+aiosqlite:///{db}", feed=feed))
    asked = threading.Event()
    check = app.start.feed
    assert check is not None

    def held() -> object:
        asked.wait()
        return check()

    app.start = dataclasses.replace(app.start, feed=held)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert "checking markets" in header_feed(app)
            asked.set()
            await pilot_until(pilot, lambda: app.starter.failure is not None, what="the refusal")
            shown = header_feed(app)
    finally:
        asked.set()
    assert app.return_code == 2
    assert "has no market SOL/USDT:USDC (closest: SOL/USDT:USDT" in (app.starter.failure or "")
    assert "could not start" in shown and "SOL/USDT:USDC" in shown
    assert not db.exists()
