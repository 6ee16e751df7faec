"""The watchlist under Pilot (issue 16 item 5): the demo on three simulated markets, each from its
own seed and price, a row each; a replayed symbol whose data has ended is down on its row and
refuses entries, while the other one trades on. With one symbol the watchlist stays hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from cockpit.cli import demo_app
from cockpit.config import RiskLimits, Settings
from cockpit.domain import FeedState, Side, Tick
from cockpit.session import OrderRejected, Session
from tests.ui.harness import FIXED_CLOCK_MS, START_MS, scripted_ticks
from tests.waiting import pilot_until
from widgets.watchlist import Watchlist

SIZE = (160, 45)
MARKETS = ["SOL-PERP", "BTC-PERP", "ETH-PERP"]


def shown(app: CockpitApp) -> dict[str, str]:
    widget = app.screen.query_one(Watchlist)
    widget.redraw()
    if not widget.display:
        return {}
    lines = str(widget.render()).splitlines()
    return {f"{line.split()[0]}-PERP": line for line in lines}  # rows name the base: SOL


@pytest.fixture
def three_markets(tmp_path: Path) -> CockpitApp:
    """Built outside the test's event loop, as the command line does (it reads the last prices
    with its own asyncio.run)."""
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    app = demo_app(settings, seed=7, speed=None, paused=True, symbols=MARKETS)
    assert app.session is not None  # built now, outside the test's event loop
    return app


@pytest.fixture
def one_market(tmp_path: Path) -> CockpitApp:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'demo1.db'}")
    app = demo_app(settings, seed=1, speed=None, paused=True)
    assert app.session is not None  # built now, outside the test's event loop
    return app


async def test_the_demo_simulates_each_market_from_its_own_seed(
    three_markets: CockpitApp,
) -> None:
    app = three_markets
    feed = app.session.feed
    assert isinstance(feed, ReplayFeed)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot_until(pilot, lambda: len(app.session.latest.last_tick) == 3)
        rows = shown(app)
        assert list(rows) == MARKETS
        assert "150.000" in rows["SOL-PERP"]  # each starts at its own price
        assert "95000.0" in rows["BTC-PERP"]
        assert "3500.00" in rows["ETH-PERP"]
        assert all("connected" in row for row in rows.values())
        await app.session.watchlist.refresh()
        assert all((app.session.watchlist.atr[s] or 0) > 0 for s in MARKETS)  # 4 h warm-up
        assert all("ATR      —" not in row for row in shown(app).values())

        await feed.step(30)
        last = app.session.latest.last_tick
        moves = {
            s: round(last[s].price / start - 1, 9)
            for s, start in zip(MARKETS, (150.0, 95_000.0, 3_500.0), strict=True)
        }
        assert len(set(moves.values())) == 3  # three paths, not one path scaled three times
        await pilot.press("q")
    texts = [e.text for e in app.session.latest.events]
    assert any(
        "SOL-PERP from 150.0000, seed 7, BTC-PERP from 95000.0000, seed 8, "
        "ETH-PERP from 3500.0000, seed 9" in t
        for t in texts
    )


def replay_app(
    tmp_path: Path, eth_ticks: int, risk: RiskLimits | None = None
) -> tuple[CockpitApp, ReplayFeed]:
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        state_flush_ms=50,
        risk=risk or RiskLimits(),
    )
    eth = (
        Tick("ETH-PERP", START_MS + 1000 * i, 2000.0, bid=1999.9, ask=2000.1)
        for i in range(eth_ticks)
    )
    feed = ReplayFeed(
        {"SOL-PERP": scripted_ticks([100.0] * 40), "ETH-PERP": eth},
        speed=None,
        simulated=True,
        label="replay",
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


async def ended(pilot: Pilot[None], feed: ReplayFeed, symbol: str) -> None:
    await pilot_until(
        pilot, lambda: feed.symbol_status(symbol).state is FeedState.DOWN, what=f"{symbol} ended"
    )


async def test_a_symbol_whose_data_ended_is_down_on_its_row_and_refuses_entries(
    tmp_path: Path,
) -> None:
    app, feed = replay_app(tmp_path, eth_ticks=2)
    session = app.session
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(3)  # ETH has two ticks: its stream ends, SOL's goes on
        await ended(pilot, feed, "ETH-PERP")
        assert feed.status.state is FeedState.CONNECTED  # the feed as a whole still plays
        rows = shown(app)
        assert "down" in rows["ETH-PERP"] and "no entries or automatic exits" in rows["ETH-PERP"]
        assert "replay of ETH-PERP finished" in rows["ETH-PERP"]
        assert "connected" in rows["SOL-PERP"] and "no entries" not in rows["SOL-PERP"]

        with pytest.raises(OrderRejected) as refused:
            await session.open_position("ETH-PERP", Side.LONG, 40.0, 2.0)
        assert str(refused.value).startswith("ETH-PERP: the feed is down (replay of ETH-PERP")
        pos = await session.open_position("SOL-PERP", Side.LONG, 40.0, 2.0)
        assert pos.symbol == "SOL-PERP" and not pos.closed
        await pilot.press("q")


async def test_with_one_symbol_the_watchlist_is_hidden(one_market: CockpitApp) -> None:
    app = one_market
    async with app.run_test(size=SIZE) as pilot:
        assert app.session.symbols == ["SOL-PERP"]
        assert shown(app) == {}
        await pilot.press("q")


async def test_the_exposure_limit_counts_every_symbol(tmp_path: Path) -> None:
    """In SHADOW the gate says what LIVE-SMALL would refuse: a SOL position of 40 USDT and an
    ETH entry of 40 go over a 60 USDT exposure limit together, not each alone."""
    limits = RiskLimits(max_exposure_usdt=60.0, max_open_positions=5, entry_cooldown_s=0)
    app, feed = replay_app(tmp_path, eth_ticks=20, risk=limits)
    session = app.session
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot_until(pilot, lambda: len(session.latest.last_tick) == 2)
        await session.open_position("SOL-PERP", Side.LONG, 40.0, 2.0)
        assert not any("exposure" in e.text for e in session.latest.events)
        await session.open_position("ETH-PERP", Side.LONG, 40.0, 2.0)
        warned = [e.text for e in session.latest.events if "exposure" in e.text]
        assert warned and warned[-1].startswith("would be refused in LIVE-SMALL: exposure 80.")
        await pilot.press("q")
