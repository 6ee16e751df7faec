"""DriftOracleFeed: ticks from the oracle price of the configured perp markets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol

from adapters.backoff import Backoff
from adapters.base import BrokerError
from adapters.drift.client import Clock, Sleep, wall_clock_ms
from adapters.drift.errors import describe_error, is_rate_limit
from adapters.drift.rpc_health import LoaderWatch, RpcBudget
from adapters.drift.trigger import venue_trigger
from adapters.drift.units import price_to_float
from cockpit.config import DriftConfig
from cockpit.domain import Candle, FeedState, FeedStatus, Tick

log = logging.getLogger(__name__)


class LoaderDown(Exception):
    """driftpy's account loader loop has stopped (it is being restarted, with backoff)."""


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
        rpc: RpcBudget | None = None,
        loader: LoaderWatch | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._candle_source = candle_source
        self._rpc = rpc
        self._loader = loader
        self._closed = False
        self._failures = 0
        self._last_ok_ms: int | None = None
        self._detail = "not polled yet"
        self._fetch_lock = asyncio.Lock()
        self._generation = 0

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
            return FeedStatus(FeedState.DOWN, self._with_budget(self._detail), age)
        if self._failures or age > self._config.stale_after_s:
            return FeedStatus(FeedState.STALE, self._with_budget(self._detail), age)
        error = None if self._rpc is None else self._rpc.recent_error
        detail = "drift oracle" if error is None else f"drift oracle, last rpc error: {error}"
        return FeedStatus(FeedState.CONNECTED, self._with_budget(detail), age)

    def _with_budget(self, detail: str) -> str:
        return detail if self._rpc is None else f"{detail} · {self._rpc.describe()}"

    async def _read(self, seen: int) -> int:
        """Bring the accounts up to date for one symbol's loop; returns the read it saw.

        A polling subscription's loader reads every account each interval by itself (the feed
        only checks that its loop is alive, adapters/drift/rpc_health.py), a websocket one is
        pushed; any other is fetched here, once per round whatever the number of symbols: a
        loop that finds a read newer than its last one uses it."""
        sub = self._client.account_subscriber
        if getattr(sub, "bulk_account_loader", None) is not None:
            down = None if self._loader is None else self._loader.check()
            if down is not None:
                raise LoaderDown(down)
            return seen
        if type(sub).__name__.startswith("Websocket"):
            return seen
        async with self._fetch_lock:
            if self._generation > seen:
                return self._generation
            await sub.fetch()
            self._generation += 1
            return self._generation

    async def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        index = self._config.markets.get(symbol)
        if index is None:
            raise BrokerError(f"{symbol} is not a configured Drift market")
        last_slot: int | None = None
        seen = 0
        backoff = Backoff(self._config.backoff_initial_s, self._config.backoff_max_s, jitter=0.0)
        while not self._closed:
            try:
                seen = await self._read(seen)
            except Exception as exc:  # RPC error or rate limit: back off, keep polling
                self._failures += 1
                if isinstance(exc, LoaderDown):
                    self._detail = str(exc)
                else:
                    kind = "rate limited" if is_rate_limit(exc) else "rpc error"
                    self._detail = f"{kind}: {describe_error(exc)}"
                    if self._rpc is not None:
                        self._rpc.failed(self._detail, rate_limited=is_rate_limit(exc))
                log.warning("drift feed %s: %s", symbol, self._detail)
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
        theirs = self._config.candle_symbols.get(symbol)
        if not theirs:  # no ccxt twin for this market: no ATR, never a guessed symbol
            return []
        bars = await source.candles(theirs, timeframe, since_ms, limit)
        return [replace(bar, symbol=symbol) for bar in bars]

    async def close(self) -> None:
        self._closed = True
        if self._candle_source is not None:
            await self._candle_source.close()
