"""Every fault the live feed must survive, on the real ccxt.pro client against the fake Binance:
sockets dropped mid-stream, a stalled server, HTTP 5xx and 429, garbage frames, refused
subscriptions, and no network at all. The feed never raises to its consumer; its status says
what is wrong, and it recovers on its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from adapters.ccxt_feed import CcxtFeed
from cockpit.domain import FeedState
from tests.adapters.live_feed_harness import (
    KLINE,
    MARK,
    SYMBOL,
    Collector,
    ManualClock,
    closed_port,
    fast_config,
    forming_minute,
    live_feed,
    messages,
    running,
    until,
)
from tests.fakes.binance_usdm import MINUTE_MS, FakeBinanceUSDM

pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinanceUSDM]:
    async with running(FakeBinanceUSDM()) as server:
        yield server


async def mark_until_tick(fake: FakeBinanceUSDM, got: Collector, price: float) -> None:
    """Push marks until one arrives as a tick (a fresh socket may still be subscribing); a
    mark is given a second before it is sent again, so few are left in flight afterwards."""
    start = len(got.ticks)
    async with asyncio.timeout(60):  # a ceiling for a loaded machine
        while len(got.ticks) == start:
            await fake.mark_price(price)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    while len(got.ticks) == start:
                        await asyncio.sleep(0.01)
    assert got.ticks[-1].price == price


async def connected_while_fresh(fake: FakeBinanceUSDM, feed: CcxtFeed, price: float) -> None:
    """Keep the mark price flowing until the feed reports itself connected (a stream that was
    cut counts as healthy again once its new socket has stayed up for `stale_after_s`)."""
    async with asyncio.timeout(60):  # a ceiling for a loaded machine
        while feed.status.state is not FeedState.CONNECTED:
            await fake.mark_price(price)
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("clean", [False, True], ids=["tcp-abort", "close-frame"])
async def test_socket_dropped_mid_stream_reconnects_without_losing_a_bar(
    fake: FakeBinanceUSDM, clean: bool
) -> None:
    async with live_feed(fake) as (feed, got):
        await fake.wait_subscribed(MARK)
        await fake.wait_subscribed(KLINE)
        minute = forming_minute(fake)
        await mark_until_tick(fake, got, 150.0)
        await fake.trade(150.0, ts=minute + 10)
        await until(lambda: messages(feed, "candles") >= 1)

        assert await fake.drop_connections(clean=clean) == 3  # book, mark, klines
        await fake.trade(151.0, ts=minute + 20)  # nobody is connected to see this one
        await fake.wait_subscribed(MARK, count=2)
        await fake.wait_subscribed(KLINE, count=2)
        await mark_until_tick(fake, got, 150.5)
        await fake.trade(150.2, ts=minute + MINUTE_MS + 10)  # rolls bar `minute` over
        await until(lambda: len(got.bars) == 1, what="the bar closed after the reconnect")

        [bar] = got.bars
        assert bar.candle.ts_ms == minute
        assert bar.after_gap, "the first bar after a reconnect is flagged for a REST re-fetch"
        # Binance sends a bar's final update when the next one opens, so the streamed bar is
        # whole here; a bar whose final update is lost too is repaired by the REST re-fetch
        o, h, lo, c, _v = fake.bar(minute)  # type: ignore[misc]
        assert (bar.candle.open, bar.candle.high, bar.candle.low, bar.candle.close) == (o, h, lo, c)
        await connected_while_fresh(fake, feed, 150.5)
        streams = feed.stats()["streams"]
        assert streams[f"{SYMBOL} mark_price"]["reconnects"] == 1
        assert streams[f"{SYMBOL} candles"]["reconnects"] == 1
        assert got.ticks[0].price == 150.0
        assert {t.price for t in got.ticks[1:]} == {150.5}


async def test_a_stalled_server_is_stale_in_time_then_reconnected(fake: FakeBinanceUSDM) -> None:
    clock = ManualClock()  # ages are what the test makes them, not what the load took
    async with live_feed(fake, clock=clock) as (feed, got):
        await fake.wait_subscribed(MARK)
        # one mark only: a second one still in flight could land after the clock moved
        await fake.mark_price(150.0)
        await until(lambda: len(got.ticks) == 1, what="the mark")
        assert feed.status.state is FeedState.CONNECTED
        fake.stalled = True  # sockets stay open, nothing comes through
        clock.advance(0.9)
        assert feed.status.state is FeedState.CONNECTED, "stale_after_s is 1.0 s"
        clock.advance(0.2)
        status = feed.status
        assert status.state is FeedState.STALE, "stale once no price came for 1.0 s"
        assert status.age_s is not None and status.age_s > 1.0
        assert "no automatic exits" in status.detail
        assert feed.forced_reconnects == 0
        # after reconnect_after_s (2 s) the feed drops the sockets itself and resubscribes
        clock.advance(1.0)
        await fake.wait_subscribed(MARK, count=2)
        assert feed.forced_reconnects >= 1
        fake.stalled = False
        await mark_until_tick(fake, got, 151.0)
        await connected_while_fresh(fake, feed, 151.0)


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, "ExchangeNotAvailable"), (500, "ExchangeNotAvailable"), (429, "DDoSProtection")],
)
async def test_http_errors_at_start_are_retried_with_the_error_shown(
    fake: FakeBinanceUSDM, status: int, error: str
) -> None:
    fake.fail_http(status, count=3, path_prefix="/fapi/v1/exchangeInfo")
    async with live_feed(fake) as (feed, got):
        await until(
            lambda: feed.status.state is not FeedState.CONNECTED and error in (feed.status.detail),
            what=f"{error} in the status",
        )
        assert feed.status.state in (FeedState.RECONNECTING, FeedState.DOWN)
        await fake.wait_subscribed(MARK)
        await mark_until_tick(fake, got, 150.0)
        await connected_while_fresh(fake, feed, 150.0)
        info_calls = [r for r in fake.rest_requests if r.startswith("GET /fapi/v1/exchangeInfo")]
        assert len(info_calls) == 4  # three refused, one served; markets are loaded once


async def test_rest_history_errors_are_raised_to_the_caller_then_served(
    fake: FakeBinanceUSDM,
) -> None:
    async with live_feed(fake) as (feed, _got):
        await feed.candles(SYMBOL, "1m", None, 5)  # markets loaded
        fake.fail_http(429, count=1, path_prefix="/fapi/v1/klines")
        with pytest.raises(Exception, match=r"429|Too many requests") as info:
            await feed.candles(SYMBOL, "1m", None, 5)
        assert type(info.value).__name__ in ("DDoSProtection", "RateLimitExceeded")
        fake.fail_http(502, count=1, path_prefix="/fapi/v1/klines")
        with pytest.raises(Exception) as info:
            await feed.candles(SYMBOL, "1m", None, 5)
        assert type(info.value).__name__ == "ExchangeNotAvailable"
        assert len(await feed.candles(SYMBOL, "1m", None, 5)) == 5


@pytest.mark.parametrize(
    "garbage",
    [
        "this is not json",
        '{"e": "markPriceUpdate", "s": "SOLUSDT", "p": ',  # truncated JSON
        '{"e": "markPriceUpdate", "E": "soon", "s": "SOLUSDT", "p": "NaN", "r": "x"}',
        '{"e": "kline", "s": "SOLUSDT", "k": null}',
        "[]",
    ],
    ids=["text", "truncated", "bad-numbers", "null-kline", "empty-array"],
)
async def test_garbage_frames_never_stop_the_feed(fake: FakeBinanceUSDM, garbage: str) -> None:
    async with live_feed(fake) as (feed, got):
        await fake.wait_subscribed(MARK)
        await fake.wait_subscribed(KLINE)
        await mark_until_tick(fake, got, 150.0)
        await fake.send_raw(garbage, MARK)
        await fake.send_raw(garbage, KLINE)
        # the feed goes on: either ccxt skips the frame, or (if the frame broke ccxt's receive
        # loop) the watchdog notices the silence and reconnects
        await mark_until_tick(fake, got, 150.5)
        await connected_while_fresh(fake, feed, 150.5)
        assert all(t.price in (150.0, 150.5) for t in got.ticks)
        assert feed.forced_reconnects == 0  # skipped at once: no silent, deaf socket


async def test_refused_subscriptions_are_retried(fake: FakeBinanceUSDM) -> None:
    fake.reject_subscriptions = True
    async with live_feed(fake) as (feed, got):
        await until(
            lambda: (
                feed.status.state in (FeedState.RECONNECTING, FeedState.DOWN)
                and "Invalid request" in feed.status.detail
            ),
            what="the refusal in the status",
        )
        fake.reject_subscriptions = False
        await fake.wait_subscribed(MARK)
        await mark_until_tick(fake, got, 150.0)
        await connected_while_fresh(fake, feed, 150.0)


async def test_no_network_shows_down_with_the_error_and_keeps_retrying() -> None:
    feed = CcxtFeed(fast_config(f"http://127.0.0.1:{closed_port()}", down_after_failures=3))
    got = Collector(feed)
    try:
        await until(lambda: feed.status.state is FeedState.DOWN, what="down")
        status = feed.status
        assert "NetworkError" in status.detail or "ExchangeNotAvailable" in status.detail
        assert "attempt" in status.detail
        failures = feed.stats()["streams"][f"{SYMBOL} mark_price"]["failures"]
        await until(
            lambda: feed.stats()["streams"][f"{SYMBOL} mark_price"]["failures"] > failures + 2,
            what="more attempts",
        )
        assert got.ticks == []
    finally:
        await got.stop()
        await feed.close()
    assert feed.status.state is FeedState.DOWN


async def test_an_unknown_exchange_is_down_with_the_reason() -> None:
    feed = CcxtFeed(fast_config("http://127.0.0.1:9", exchange="nosuchexchange"))
    got = Collector(feed)
    try:
        await until(
            lambda: "nosuchexchange" in feed.status.detail and (feed.status.state is FeedState.DOWN)
        )
        assert "cannot start" in feed.status.detail
        with pytest.raises(RuntimeError, match="nosuchexchange"):
            await feed.candles(SYMBOL, "1m")
    finally:
        await got.stop()
        await feed.close()
