"""The live feed on the real ccxt.pro binanceusdm client against the fake Binance USD-M server:
the normal stream (mark and last price), bid/ask on ticks, funding, closed bars, REST history,
duplicates and out-of-order trades, and the exchange always closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.base import ClosedCandleFeed, FundingFeed, LiveFeed, MarketFeed
from adapters.ccxt_feed import CcxtFeed, point_at
from cockpit.domain import FeedState
from tests.adapters.live_feed_harness import (
    AGG,
    BOOK,
    KLINE,
    MARK,
    SYMBOL,
    ManualClock,
    book_seen,
    fast_config,
    forming_minute,
    live_feed,
    running,
    until,
)
from tests.fakes._server import assert_loopback
from tests.fakes.binance_usdm import MINUTE_MS, FakeBinanceUSDM
from tests.waiting import CEILING_S

pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinanceUSDM]:
    async with running(FakeBinanceUSDM()) as server:
        yield server


def test_is_a_live_market_feed_with_candles_and_funding() -> None:
    feed = CcxtFeed(fast_config("http://127.0.0.1:9"))
    for protocol in (MarketFeed, LiveFeed, ClosedCandleFeed, FundingFeed):
        assert isinstance(feed, protocol)
    assert feed.status.state is FeedState.RECONNECTING  # not started: nothing known yet
    with pytest.raises(ValueError, match="SOL/USDT:USDT"):
        feed.ticks("BTC/USDT:USDT")


def test_point_at_moves_every_origin_and_keeps_paths() -> None:
    urls = {
        "fapiPublic": "https://fapi.binance.com/fapi/v1",
        "ws": {"future": "wss://fstream.binance.com/ws", "list": ["https://api.{hostname}"]},
        "doc": "not a url",
    }
    moved = point_at(urls, "http://127.0.0.1:4242")
    assert moved == {
        "fapiPublic": "http://127.0.0.1:4242/fapi/v1",
        "ws": {"future": "ws://127.0.0.1:4242/ws", "list": ["http://127.0.0.1:4242"]},
        "doc": "not a url",
    }
    assert_loopback(moved)
    with pytest.raises(AssertionError, match="fapiPublic"):
        assert_loopback(urls)


async def test_mark_price_stream_gives_ticks_with_the_book_and_funding(
    fake: FakeBinanceUSDM,
) -> None:
    async with live_feed(fake) as (feed, got):
        await fake.wait_subscribed(MARK)
        await fake.wait_subscribed(BOOK)
        await fake.book(150.10, 150.14)
        await book_seen(feed, 1)
        next_funding = fake.clock() + 3_600_000
        await fake.mark_price(150.12, rate=0.0003, next_funding_ms=next_funding)
        await until(lambda: len(got.ticks) == 1, what="the first tick")
        tick = got.ticks[0]
        assert (tick.symbol, tick.price, tick.source) == (SYMBOL, 150.12, "mark")
        assert (tick.bid, tick.ask) == (150.10, 150.14)
        funding = feed.funding(SYMBOL)
        assert funding is not None
        assert (funding.rate, funding.next_funding_ms) == (0.0003, next_funding)
        status = feed.status
        assert status.state is FeedState.CONNECTED, status
        assert not status.simulated
        assert feed.trigger == "mark"
        # trades are not subscribed when the engine acts on the mark price
        assert AGG not in fake.subscribed


async def test_klines_close_on_rollover_exactly_once(fake: FakeBinanceUSDM) -> None:
    async with live_feed(fake) as (_feed, got):
        await fake.wait_subscribed(KLINE)
        minute = forming_minute(fake)
        await fake.trade(150.0, 2.0, ts=minute + 1_000)
        await fake.trade(151.0, 1.0, ts=minute + 2_000)
        await fake.trade(149.5, 3.0, ts=minute + 3_000)
        await fake.trade(150.5, 1.0, ts=minute + MINUTE_MS + 500)  # rolls the bar over
        await until(lambda: len(got.bars) == 1, what="the closed bar")
        bar = got.bars[0].candle
        assert bar.ts_ms == minute
        assert (bar.timeframe, bar.high, bar.low, bar.close) == ("1m", 151.0, 149.5, 149.5)
        assert bar.volume == pytest.approx(fake.bar(minute)[4])  # type: ignore[index]
        assert not got.bars[0].after_gap
        # more updates of the new bar and a late update of the closed one change nothing
        await fake.trade(150.7, 1.0, ts=minute + MINUTE_MS + 900)
        await fake._push_kline(fake.market(), minute, final=True)
        await fake.trade(150.8, 1.0, ts=minute + MINUTE_MS + 1_200)
        await fake.trade(150.9, 1.0, ts=minute + 2 * MINUTE_MS)
        await until(lambda: len(got.bars) == 2, what="the second closed bar")
        assert [b.candle.ts_ms for b in got.bars] == [minute, minute + MINUTE_MS]
        assert got.bars[1].candle.close == 150.8


async def test_rest_history_for_atr(fake: FakeBinanceUSDM) -> None:
    async with live_feed(fake) as (feed, _got):
        bars = await feed.candles(SYMBOL, "15m", None, 10)
        assert len(bars) == 10
        assert all(b.timeframe == "15m" and b.symbol == SYMBOL for b in bars)
        assert [b.ts_ms % (15 * MINUTE_MS) for b in bars] == [0] * 10
        assert bars[-1].ts_ms - bars[0].ts_ms == 9 * 15 * MINUTE_MS
        since = bars[0].ts_ms
        minutes = await feed.candles(SYMBOL, "1m", since, 5)
        assert [m.ts_ms for m in minutes] == [since + i * MINUTE_MS for i in range(5)]
        assert any(r.startswith("GET /fapi/v1/klines") for r in fake.rest_requests)


async def test_last_price_from_trades_without_duplicates_or_steps_back(
    fake: FakeBinanceUSDM,
) -> None:
    async with live_feed(fake, trigger="last") as (feed, got):
        await fake.wait_subscribed(AGG)
        await fake.wait_subscribed(BOOK)
        await fake.book(149.98, 150.02)
        await book_seen(feed, 1)
        first = await fake.trade(150.00)
        second = await fake.trade(150.01)
        await until(lambda: len(got.ticks) == 2)
        # the wire repeats a trade, then delivers an older one late
        await fake.send_trade_frame(150.01, second["T"], second["a"])
        await fake.send_trade_frame(149.0, first["T"] - 5, first["a"] - 1)
        third = await fake.trade(150.03)
        await until(lambda: len(got.ticks) == 3)
        assert [t.price for t in got.ticks] == [150.00, 150.01, 150.03]
        assert [t.source for t in got.ticks] == ["last"] * 3
        assert got.ticks[-1].ts_ms == third["T"]
        counts = feed.stats()["symbols"][SYMBOL]
        assert (counts["duplicate_trades"], counts["late_trades"]) == (1, 1)


async def test_a_gap_through_the_book_never_fills_better_than_the_print(
    fake: FakeBinanceUSDM,
) -> None:
    """The book says 150.00/150.02 but the next trade prints at 148.00: a market sell then is
    worth 148 at best, so the tick's bid follows the print down."""
    async with live_feed(fake, trigger="last") as (feed, got):
        await fake.wait_subscribed(AGG)
        await fake.wait_subscribed(BOOK)
        await fake.book(150.00, 150.02)
        await book_seen(feed, 1)
        await fake.trade(150.01)
        await fake.trade(148.00)
        await until(lambda: len(got.ticks) == 2)
        assert (got.ticks[0].bid, got.ticks[0].ask) == (150.00, 150.02)
        assert (got.ticks[1].bid, got.ticks[1].ask) == (148.00, 150.02)
        await fake.book(147.96, 148.00)  # the book catches up: used as it is
        await book_seen(feed, 2)
        await fake.trade(147.98)
        await until(lambda: len(got.ticks) == 3)
        assert (got.ticks[2].bid, got.ticks[2].ask) == (147.96, 148.00)


async def test_stale_book_is_not_used_for_fills(fake: FakeBinanceUSDM) -> None:
    clock = ManualClock()  # the book's age is what the test makes it, not the machine's load
    async with live_feed(fake, trigger="last", book_max_age_s=0.2, clock=clock) as (feed, got):
        await fake.wait_subscribed(AGG)
        await fake.wait_subscribed(BOOK)
        await fake.book(149.99, 150.01)
        await book_seen(feed, 1)
        await fake.trade(150.0)
        await until(lambda: len(got.ticks) == 1)
        assert got.ticks[0].bid == 149.99
        clock.advance(0.3)  # the book is now older than book_max_age_s
        await fake.trade(150.02)
        await until(lambda: len(got.ticks) == 2)
        assert (got.ticks[1].bid, got.ticks[1].ask) == (None, None)


async def test_close_ends_the_iterators_and_closes_the_exchange(fake: FakeBinanceUSDM) -> None:
    feed = CcxtFeed(fast_config(fake.origin))
    ticks = feed.ticks(SYMBOL)
    task = asyncio.create_task(anext(ticks, None))
    await until(lambda: feed.exchange is not None)
    exchange = feed.exchange
    await fake.wait_subscribed(MARK)
    await feed.close()
    assert await asyncio.wait_for(task, CEILING_S) is None
    assert exchange.session is None and not exchange.clients
    assert feed.status.state is FeedState.DOWN
    await feed.close()  # twice is fine
