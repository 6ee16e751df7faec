"""The two protocols behind which the outside world lives (DESIGN.md section 5).

Adapters never import Textual; the session talks to them only through these protocols, so a
simulated market, a CSV replay, ccxt and Drift are interchangeable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cockpit.domain import Candle, FeedStatus, Fill, OrderRequest, Tick


class BrokerError(Exception):
    """A broker refused or could not carry out an order; the message says why, for the log."""


@runtime_checkable
class MarketFeed(Protocol):
    """A source of ticks and candles for one or more symbols."""

    @property
    def status(self) -> FeedStatus: ...

    def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        """Async iterator of ticks; ends when the feed is exhausted or closed."""
        ...

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Broker(Protocol):
    """Where orders go. Every exit is sent with `reduce_only=True`."""

    @property
    def venue(self) -> str: ...

    async def open(self, order: OrderRequest) -> Fill: ...

    async def close(self, order: OrderRequest) -> Fill: ...


# --------------------------------------------------------------------------- optional capabilities
# A live feed offers more than the MarketFeed protocol; the session checks for each capability
# with isinstance(), so the replay feed and any other feed keep working without them.


@dataclass(frozen=True, slots=True)
class ClosedBar:
    """A bar that will not change any more, as streamed by the exchange.

    `after_gap` is True for the first bar closed after the stream was interrupted: it (and any
    bar between it and the previous one) may be incomplete and must be re-fetched over REST.
    """

    candle: Candle
    after_gap: bool = False


@dataclass(frozen=True, slots=True)
class FundingInfo:
    """A perp's current funding rate and the next time it is charged.

    `rate` is a fraction of notional per funding interval (0.0001 = 0.01 %); when positive,
    longs pay shorts. `ts_ms` is when the exchange last reported it.
    """

    symbol: str
    rate: float
    next_funding_ms: int
    ts_ms: int


@runtime_checkable
class LiveFeed(Protocol):
    """A feed of the live market: its prices go stale, and the session must not act on them."""

    @property
    def stale_after_s(self) -> float: ...


@runtime_checkable
class ClosedCandleFeed(Protocol):
    """A feed that streams the exchange's own bars; the candle recorder stores them."""

    @property
    def candle_timeframe(self) -> str: ...

    def closed_candles(self, symbol: str) -> AsyncIterator[ClosedBar]:
        """Each bar once, when it has closed; ends when the feed is closed."""
        ...


@runtime_checkable
class FundingFeed(Protocol):
    """A feed that knows the venue's funding rate (paper positions are charged funding)."""

    def funding(self, symbol: str) -> FundingInfo | None: ...
