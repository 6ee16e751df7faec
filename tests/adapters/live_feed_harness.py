"""Shared by the live-feed tests: a real ccxt.pro feed pointed at a fake exchange on 127.0.0.1.

Settings are seconds, not minutes (stale after 1 s, reconnect after 2 s, backoff 50-400 ms), so
every fault plays out quickly; `until` bounds every wait so a bug fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import ccxt.pro  # noqa: F401  (imported once at collection: ~1-9 s, not inside a timeout)

from adapters.base import ClosedBar
from adapters.ccxt_feed import CcxtFeed
from cockpit.config import FeedConfig
from cockpit.domain import Tick
from tests.fakes._server import FakeExchangeServer, LoopbackGuard, assert_loopback
from tests.waiting import until as until  # re-exported: many tests import it from here

SYMBOL = "SOL/USDT:USDT"

# Binance USD-M stream names for SOLUSDT, as the fake counts them.
MARK = "solusdt@markPrice@1s"
BOOK = "solusdt@bookTicker"
KLINE = "solusdt@kline_1m"
AGG = "solusdt@aggTrade"

Server = TypeVar("Server", bound=FakeExchangeServer)


@contextlib.asynccontextmanager
async def running(server: Server) -> AsyncIterator[Server]:
    """A fake exchange started for the block and stopped after it, whatever happens."""
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def fast_config(fake_origin: str, exchange: str = "binanceusdm", **overrides: Any) -> FeedConfig:
    values: dict[str, Any] = {
        "exchange": exchange,
        "symbol": SYMBOL,
        "origin": fake_origin,
        "stale_after_s": 1.0,
        "reconnect_after_s": 2.0,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.4,
        "request_timeout_s": 3.0,
        "book_max_age_s": 30.0,
    }
    values.update(overrides)
    return FeedConfig(**values)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def book_in_feed(feed: CcxtFeed, bid: float, ask: float, symbol: str = SYMBOL) -> None:
    """Until `feed` holds this best bid/ask. The book is on its own socket: a price sent right
    after `fake.book()` can be handled first, on the old book, and fill at the old bid."""
    state = feed._state(symbol)  # no public read of the raw book; tests only
    await until(lambda: (state.bid, state.ask) == (bid, ask), what=f"the book {bid}/{ask}")


@contextlib.contextmanager
def loopback_only() -> Iterator[LoopbackGuard]:
    with LoopbackGuard() as guard:
        yield guard
    assert guard.violations == [], f"a test reached off the loopback: {guard.violations}"


class Collector:
    """Consumes a feed's ticks and closed bars in the background, like the session would."""

    def __init__(self, feed: CcxtFeed, symbol: str = SYMBOL) -> None:
        self.feed = feed
        self.ticks: list[Tick] = []
        self.bars: list[ClosedBar] = []
        self._tasks = [
            asyncio.create_task(self._ticks(symbol)),
            asyncio.create_task(self._bars(symbol)),
        ]

    async def _ticks(self, symbol: str) -> None:
        async for tick in self.feed.ticks(symbol):
            self.ticks.append(tick)

    async def _bars(self, symbol: str) -> None:
        async for bar in self.feed.closed_candles(symbol):
            self.bars.append(bar)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def forming_minute(fake: Any, symbol: str = "SOLUSDT") -> int:
    """Open time of the fake's forming 1m bar (the newest it has). Not `clock() // minute`: on
    wall time a minute can end between the fake's start and the test's first trade, and a
    trade in the next minute closes the forming bar first (a bar the test did not expect)."""
    newest: int = max(fake.markets[symbol].bars)
    return newest


class ManualClock:
    """The feed's monotonic clock (price and book ages, the watchdog's limits), moved only by
    the test: an age then is what the test made it, not what a loaded machine took."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.asynccontextmanager
async def live_feed(
    fake: FakeExchangeServer,
    exchange: str = "binanceusdm",
    *,
    clock: Callable[[], float] | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[CcxtFeed, Collector]]:
    """A started feed on `fake` with a collector; closes both and checks the exchange closed.
    `clock` replaces the feed's monotonic clock (`ManualClock`)."""
    config = fast_config(fake.origin, exchange, **overrides)
    feed = CcxtFeed(config) if clock is None else CcxtFeed(config, clock=clock)
    collector = Collector(feed)
    try:
        await until(lambda: feed.exchange is not None, what="the exchange to be created")
        assert_loopback(feed.exchange.urls["api"])
        yield feed, collector
    finally:
        exchange_obj = feed.exchange
        await collector.stop()
        await feed.close()
        if exchange_obj is not None:
            assert exchange_obj.session is None, "exchange.close() was not awaited"
        assert fake.unexpected == [], f"the client called what nobody faked: {fake.unexpected}"


def messages(feed: CcxtFeed, stream: str, symbol: str = SYMBOL) -> int:
    """How many updates the feed has taken from one of its streams."""
    count: int = feed.stats()["streams"][f"{symbol} {stream}"]["messages"]
    return count


async def book_seen(feed: CcxtFeed, count: int = 1) -> None:
    """Wait until the feed has taken `count` book updates (the book is on another socket)."""
    name = "bids_asks" if "bids_asks" in feed.profile.quotes else "ticker"
    await until(lambda: messages(feed, name) >= count, what=f"{count} book updates")
