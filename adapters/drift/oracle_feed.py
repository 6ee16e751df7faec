"""DriftOracleFeed: ticks from the oracle price of the configured perp markets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol

from adapters.backoff import Backoff
from adapters.base import BrokerError
from adapters.drift.client import Clock, Sleep, wall_clock_ms
from adapters.drift.errors import describe_error, is_rate_limit
from adapters.drift.trigger import venue_trigger
from adapters.drift.units import price_to_float
from cockpit.config import DriftConfig
from cockpit.domain import Candle, FeedState, FeedStatus, Tick


class CandleSource(Protocol):
    """Where the oracle feed gets bars (for the ATR): any MarketFeed's `candles` and `close`."""

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]: ...

    async def close(self) -> None: ...


class DriftOracleFeed:
    """Ticks from the oracle price of the configured perp markets, each with the price Drift
    triggers stop orders on (adapters/drift/trigger.py: the median of three when the exchange
    says so, then the tick's `source` is ``median`` and `trigger_price` is set; else the oracle).

    Each poll re-reads the market and oracle accounts; an RPC error or rate limit backs off
    (shown as reconnecting, then down) and the loop keeps going: it never raises into the
    session. Drift serves no candles through driftpy: `candles` asks `candle_source` (another
    MarketFeed, e.g. an exchange's REST history of the same asset, `drift.candle_symbols`
    naming its symbol) and relabels its bars with the Drift symbol; without one it returns an
    empty list, and the ATR policies then refuse an entry with "no ATR yet".
    """

    def __init__(
        self,
        client: Any,
        config: DriftConfig,
        *,
        clock: Clock = wall_clock_ms,
        sleep: Sleep = asyncio.sleep,
        candle_source: CandleSource | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._candle_source = candle_source
        self._closed = False
        self._failures = 0
        self._last_ok_ms: int | None = None
        self._detail = "not polled yet"

    @property
    def stale_after_s(self) -> float:
        return self._config.stale_after_s

    @property
    def status(self) -> FeedStatus:
        if self._closed:
            return FeedStatus(FeedState.DOWN, "closed")
        if self._last_ok_ms is None:
            state = FeedState.DOWN if self._failures >= 3 else FeedState.RECONNECTING
            return FeedStatus(state, self._detail)
        age = (self._clock() - self._last_ok_ms) / 1000
        if self._failures >= 3:
            return FeedStatus(FeedState.DOWN, self._detail, age)
        if self._failures or age > self._config.stale_after_s:
            return FeedStatus(FeedState.STALE, self._detail, age)
        return FeedStatus(FeedState.CONNECTED, "drift oracle", age)

    async def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        index = self._config.markets.get(symbol)
        if index is None:
            raise BrokerError(f"{symbol} is not a configured Drift market")
        last_slot: int | None = None
        backoff = Backoff(self._config.backoff_initial_s, self._config.backoff_max_s, jitter=0.0)
        while not self._closed:
            try:
                await self._client.account_subscriber.fetch()
            except Exception as exc:  # RPC error or rate limit: back off, keep polling
                self._failures += 1
                kind = "rate limited" if is_rate_limit(exc) else "rpc error"
                self._detail = f"{kind}: {describe_error(exc)}"
                await self._sleep(backoff.next_delay())
                continue
            self._failures = 0
            backoff.reset()
            data = self._client.get_oracle_price_data_for_perp_market(index)
            if data is not None and data.price and data.slot != last_slot:
                last_slot = int(data.slot)
                now = self._clock()
                self._last_ok_ms = now
                oracle = int(data.price)
                trigger, source = venue_trigger(self._client, index, oracle, now // 1000)
                yield Tick(
                    symbol,
                    now,
                    price_to_float(oracle),
                    source=source,
                    trigger_price=None if trigger == oracle else price_to_float(trigger),
                )
            await self._sleep(self._config.poll_interval_s)

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        source = self._candle_source
        if source is None:
            return []
        theirs = self._config.candle_symbols.get(symbol, symbol)
        bars = await source.candles(theirs, timeframe, since_ms, limit)
        return [replace(bar, symbol=symbol) for bar in bars]

    async def close(self) -> None:
        self._closed = True
        if self._candle_source is not None:
            await self._candle_source.close()
