"""The live feed on the real ccxt.pro bybit client against the fake Bybit v5 server: one tickers
stream carries book, mark and funding; trades have UUID ids; klines close on rollover."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cockpit.domain import FeedState
from tests.adapters.live_feed_harness import (
    SYMBOL,
    forming_minute,
    live_feed,
    running,
    until,
)
from tests.fakes.bybit import MINUTE_MS, FakeBybit

TICKERS = "tickers.SOLUSDT"
TRADES = "publicTrade.SOLUSDT"
KLINE = "kline.1.SOLUSDT"


pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBybit]:
    async with running(FakeBybit()) as server:
        yield server


async def test_mark_book_and_funding_from_the_tickers_stream(fake: FakeBybit) -> None:
    async with live_feed(fake, "bybit") as (feed, got):
        await fake.wait_subscribed(TICKERS)
        await until(lambda: len(got.ticks) >= 1, what="the snapshot's mark price")
        first = got.ticks[0]
        assert (first.price, first.bid, first.ask, first.source) == (150.0, 149.99, 150.01, "mark")
        funding = feed.funding(SYMBOL)
        assert funding is not None and funding.rate == pytest.approx(0.0001)
        await fake.ticker(bid=150.20, ask=150.24)
        await fake.ticker(mark=150.22, rate=-0.0002)
        await until(lambda: got.ticks[-1].price == 150.22, what="the delta's mark")
        last = got.ticks[-1]
        assert (last.bid, last.ask) == (150.20, 150.24)
        assert feed.funding(SYMBOL).rate == pytest.approx(-0.0002)  # type: ignore[union-attr]
        assert feed.status.state is FeedState.CONNECTED
        assert TRADES not in fake.subscribed  # the engine acts on the mark price


async def test_trades_with_uuid_ids_are_taken_once(fake: FakeBybit) -> None:
    async with live_feed(fake, "bybit", trigger="last") as (feed, got):
        await fake.wait_subscribed(TRADES)
        await fake.wait_subscribed(TICKERS)
        one = await fake.trade(150.1)
        await until(lambda: len(got.ticks) == 1)
        await fake.send_trade_frame(one)  # delivered again
        await fake.trade(150.3)
        # the repeat went out before 150.3 on the same socket: handled by the time 150.3 is
        await until(lambda: len(got.ticks) == 2)
        assert [t.price for t in got.ticks] == [150.1, 150.3]
        assert {t.source for t in got.ticks} == {"last"}
        assert feed.stats()["symbols"][SYMBOL]["duplicate_trades"] == 1


async def test_klines_close_on_rollover_and_history_is_ascending(fake: FakeBybit) -> None:
    async with live_feed(fake, "bybit") as (feed, got):
        await fake.wait_subscribed(KLINE)
        minute = forming_minute(fake)
        await fake.trade(150.0, ts=minute + 5)
        await fake.trade(152.0, ts=minute + 6)
        await fake.trade(151.0, ts=minute + MINUTE_MS + 5)
        await until(lambda: len(got.bars) == 1, what="the closed bar")
        bar = got.bars[0].candle
        assert (bar.ts_ms, bar.high, bar.close) == (minute, 152.0, 152.0)
        history = await feed.candles(SYMBOL, "1m", minute - 10 * MINUTE_MS, 5)
        assert [c.ts_ms for c in history] == [minute - (10 - i) * MINUTE_MS for i in range(5)]
        recent = await feed.candles(SYMBOL, "15m", None, 4)
        assert [c.ts_ms % (15 * MINUTE_MS) for c in recent] == [0] * 4


async def test_a_dropped_socket_is_reopened(fake: FakeBybit) -> None:
    async with live_feed(fake, "bybit") as (feed, got):
        await fake.wait_subscribed(TICKERS)
        await until(lambda: len(got.ticks) >= 1)
        await fake.drop_connections()
        await fake.wait_subscribed(TICKERS, count=2)
        await fake.ticker(mark=149.5)
        await until(lambda: got.ticks[-1].price == 149.5, what="a mark after the reconnect")
        assert feed.stats()["streams"][f"{SYMBOL} ticker"]["reconnects"] == 1
