"""The two protocols behind which the outside world lives (DESIGN.md section 5).

Adapters never import Textual; the session talks to them only through these protocols, so a
simulated market, a CSV replay, ccxt and Drift are interchangeable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
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


class VenueEventKind(StrEnum):
    """What a venue reports about an order (DESIGN.md section 4), paper and Drift alike."""

    SUBMITTED = "submitted"
    """Sent; the fill is not confirmed yet (the venue keeps watching and reports it later)."""
    ACCEPTED = "accepted"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    REJECTED = "rejected"
    """Refused, nothing sent or nothing done: the order row ends here."""
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    """Sent, but the venue never showed it in time: it can no longer land."""


@dataclass(frozen=True, slots=True)
class VenueEvent:
    """One report about one order row: the same stream for every venue.

    `order_id` is the order row's id (the venue was given it with the order); `fill` is set for
    (partial) fills; `detail` carries the venue's words for a refusal or an expiry.
    """

    kind: VenueEventKind
    order_id: int
    fill: Fill | None = None
    detail: str = ""


@runtime_checkable
class ExecutionVenue(Protocol):
    """Where the execution router sends an order whose row is already in the database.

    `handle(client_order_id)` is the venue's own id for the order (Drift's user_order_id), stored
    on the intent row before sending so a restart can find it on the venue; None where the venue
    has none. `submit` reports what happened at once (filled, rejected, or submitted: then the
    venue reports the outcome later through the router's `on_venue_event`).
    """

    @property
    def venue(self) -> str: ...

    def handle(self, client_order_id: str) -> int | None: ...

    async def submit(self, order_id: int, order: OrderRequest) -> VenueEvent: ...


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


@runtime_checkable
class SymbolStatusFeed(Protocol):
    """A feed of several symbols that can tell each one's state: a symbol that is stale or down
    then blocks entries and automatic exits on itself only (cockpit/feed_health.py)."""

    def symbol_status(self, symbol: str) -> FeedStatus: ...


@runtime_checkable
class DayChangeFeed(Protocol):
    """A feed that can tell a symbol's change over the last 24 hours (the watchlist's column)."""

    async def day_change(self, symbol: str) -> float | None:
        """The change as a fraction (0.012 = +1.2 %), None when the venue does not say."""
        ...
