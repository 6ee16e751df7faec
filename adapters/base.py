"""The two protocols behind which the outside world lives (DESIGN.md section 5).

Adapters never import Textual; the session talks to them only through these protocols, so a
simulated market, a CSV replay, ccxt and Drift are interchangeable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
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
