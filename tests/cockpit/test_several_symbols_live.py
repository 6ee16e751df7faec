"""Two symbols in one live session (issue 16 item 5), on the real ccxt.pro client against the fake
Binance USD-M: one goes stale, its entries are refused with the reason and its position is
left alone, the other trades on; each position's exits follow its own symbol's prices only; the
watchlist shows both, with the stale one's reason.

Every clock (the fake exchange's, the session's, the feed's monotonic one) is one frozen clock
the test moves: a price is stale because the test made it 10 s old, not because a loaded
machine was slow."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from adapters.ccxt_feed import CcxtFeed
from cockpit.app import CockpitApp
from cockpit.cli import live_app
from cockpit.config import Settings
from cockpit.domain import FeedState, PositionState, Side
from cockpit.session import OrderRejected
from tests.adapters.live_feed_harness import book_in_feed, fast_config, running
from tests.fakes.binance_usdm import FakeBinanceUSDM, FakeClock
from tests.waiting import pilot_until
from widgets.watchlist import Watchlist

SOL, BTC = "SOL/USDT:USDT", "BTC/USDT:USDT"
WIRE = {SOL: "SOLUSDT", BTC: "BTCUSDT"}
SIZE = (160, 45)
START_MS = 1_800_000_000_000  # frozen; on a minute boundary

pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(frozen_ms=START_MS)


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeBinanceUSDM]:
    # both markets at the same price: a SOL price applied to the BTC position would be
    # through its stop, so a cross-wired tick cannot go unnoticed
    markets = FakeBinanceUSDM(("SOLUSDT", "BTCUSDT"), clock=clock, history_minutes=360)
    async with running(markets) as server:  # 6 h: enough 15m bars for the ATR
        yield server


def two_symbol_app(tmp_path: Path, fake: FakeBinanceUSDM, clock: FakeClock) -> CockpitApp:
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        feed=fast_config(
            fake.origin,
            symbols=[SOL, BTC],
            stale_after_s=5,
            reconnect_after_s=600,  # the test's quiet symbol must not drop the sockets
            backfill_minutes=5,
        ),
    )
    return live_app(settings, clock=clock, monotonic=lambda: clock() / 1000)


async def subscribed(fake: FakeBinanceUSDM) -> None:
    for wire in WIRE.values():
        await fake.wait_subscribed(f"{wire.lower()}@markPrice@1s")
        await fake.wait_subscribed(f"{wire.lower()}@bookTicker")


async def price(
    app: CockpitApp, pilot: Pilot[None], fake: FakeBinanceUSDM, symbol: str, value: float
) -> None:
    """`symbol` at `value` (book and mark, at the fake clock's time), until the session has it."""
    feed = app.session.feed
    assert isinstance(feed, CcxtFeed)
    await fake.book(value - 0.02, value + 0.02, symbol=WIRE[symbol])
    await book_in_feed(feed, value - 0.02, value + 0.02, symbol)
    await fake.mark_price(value, symbol=WIRE[symbol])
    now = fake.clock()
    await pilot_until(
        pilot,
        lambda: (
            (t := app.session.latest.last_tick.get(symbol)) is not None
            and t.ts_ms == now
            and t.price == value
        ),
        what=f"{symbol} at {value}",
    )


def watchlist_lines(app: CockpitApp) -> dict[str, str]:
    widget = app.screen.query_one(Watchlist)
    widget.redraw()
    assert widget.display
    lines = str(widget.render()).splitlines()
    return {symbol: next(line for line in lines if line.startswith(symbol[:3])) for symbol in WIRE}


async def test_a_stale_symbol_blocks_only_itself_and_exits_follow_their_own_prices(
    tmp_path: Path, fake: FakeBinanceUSDM, clock: FakeClock
) -> None:
    app = two_symbol_app(tmp_path, fake, clock)
    session = app.session
    async with app.run_test(size=SIZE) as pilot:
        await subscribed(fake)
        await price(app, pilot, fake, SOL, 150.0)
        await price(app, pilot, fake, BTC, 150.0)
        btc = await session.open_position(BTC, Side.LONG, 30.0, 2.0)

        # ten seconds on: SOL keeps streaming, BTC says nothing. In steps shorter than
        # stale_after_s (5 s): a watchdog check between one big step and SOL's next price would
        # find SOL stale too (the CI flake under load).
        for step in (4_000, 4_000, 2_000):
            clock.advance(step)
            await price(app, pilot, fake, SOL, 150.0)
        feed = session.feed
        assert isinstance(feed, CcxtFeed)
        assert feed.symbol_status(BTC).state is FeedState.STALE
        assert feed.symbol_status(SOL).state is FeedState.CONNECTED

        with pytest.raises(OrderRejected) as refused:
            await session.open_position(BTC, Side.SHORT, 30.0, 2.0)
        assert str(refused.value).startswith(f"{BTC}: ")
        assert "stale" in str(refused.value)
        sol = await session.open_position(SOL, Side.LONG, 30.0, 2.0)  # the other trades on

        def texts() -> list[str]:
            return [e.text for e in session.latest.events]

        await pilot_until(pilot, lambda: any(t.startswith(f"{BTC}: feed stale") for t in texts()))
        assert not any(t.startswith(f"{SOL}: feed stale") for t in texts())

        lines = watchlist_lines(app)
        assert "stale 10s" in lines[BTC] and "no entries or automatic exits" in lines[BTC]
        assert "connected" in lines[SOL] and "no entries" not in lines[SOL]
        assert "150.000" in lines[SOL]

        # SOL falls through both stops' level: only the SOL position is closed, at SOL's price
        await price(app, pilot, fake, SOL, 146.0)
        await pilot_until(pilot, lambda: sol.closed, what="the SOL stop")
        assert not btc.closed
        assert 146.0 < btc.stop < btc.entry  # SOL's price would have stopped it out

        # BTC speaks again, through its stop: its own exit, at its own price
        await price(app, pilot, fake, BTC, 146.0)
        await pilot_until(pilot, lambda: btc.closed, what="the BTC stop")
        assert_stopped_at(sol, 146.0)
        assert_stopped_at(btc, 146.0)
        await pilot.press("q")
    with sqlite3.connect(tmp_path / "live.db") as conn:
        rows = conn.execute("SELECT symbol, exit_reason FROM trades ORDER BY id").fetchall()
    assert rows == [(BTC, "stop_loss"), (SOL, "stop_loss")]


def assert_stopped_at(pos: PositionState, mark: float) -> None:
    """A paper stop fills at the bid (mark - 0.02) less slippage: nowhere near another price."""
    fill = (pos.realized_pnl / pos.initial_size) + pos.entry
    assert abs(fill - (mark - 0.02)) < 0.1


async def test_the_watchlist_shows_the_venues_24h_change_and_each_atr(
    tmp_path: Path, fake: FakeBinanceUSDM, clock: FakeClock
) -> None:
    app = two_symbol_app(tmp_path, fake, clock)
    async with app.run_test(size=SIZE) as pilot:
        await subscribed(fake)
        await price(app, pilot, fake, SOL, 150.0)
        await price(app, pilot, fake, BTC, 150.0)
        watchlist = app.session.watchlist
        await watchlist.refresh()  # with both prices in (the background one may have run first)
        for symbol, wire in WIRE.items():
            closes = [bar[3] for _, bar in sorted(fake.markets[wire].bars.items())]
            expected = 150.0 / closes[0] - 1
            change = watchlist.change_24h[symbol]
            assert change is not None and abs(change - expected) < 1e-4
            assert f"{100 * expected:+.2f}%" in watchlist_lines(app)[symbol]
            assert (watchlist.atr[symbol] or 0) > 0
        await pilot.press("q")
