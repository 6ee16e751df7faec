"""Candle history over an exchange's REST API only: the ATR source of the Drift oracle feed.

Drift's oracle gives a price, not bars, so the ATR behind `atr_scaled` and `quality_tiers` is
measured on the same asset's bars from the exchange of `[feed]` (Binance USD-M SOL/USDT:USDT by
default). Only `fetch_ohlcv` is needed, so this uses ccxt's plain async client: no websocket,
no streams to keep alive. ccxt is imported in a worker thread on first use (it costs a second
or more), never at module import, and `close()` always closes the exchange.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from adapters.ccxt_feed import FALLBACK_PROFILE, PROFILES, point_at
from cockpit.config import FeedConfig
from cockpit.domain import Candle


class CcxtCandles:
    """`candles()` from `config.exchange`'s REST history; `close()` releases the client."""

    def __init__(self, config: FeedConfig) -> None:
        self.config = config
        self._exchange: Any = None
        self._lock = asyncio.Lock()

    async def _client(self) -> Any:
        async with self._lock:
            if self._exchange is None:
                module = await asyncio.to_thread(importlib.import_module, "ccxt.async_support")
                cls = getattr(module, self.config.exchange, None)
                if not isinstance(cls, type):
                    raise ValueError(f"ccxt has no exchange {self.config.exchange!r}")
                profile = PROFILES.get(self.config.exchange, FALLBACK_PROFILE)
                exchange = cls(
                    {
                        "enableRateLimit": True,
                        "timeout": int(self.config.request_timeout_s * 1000),
                        "options": dict(profile.options),
                    }
                )
                if self.config.origin is not None:
                    exchange.urls["api"] = point_at(exchange.urls["api"], self.config.origin)
                self._exchange = exchange
            return self._exchange

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        """Bars as the exchange returns them (the last one may still be forming); rows with a
        missing value are skipped. Raises what ccxt raises: the caller decides what no
        history means (the session enters without an ATR)."""
        exchange = await self._client()
        rows = await exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        out: list[Candle] = []
        for row in rows:
            if len(row) < 5 or any(v is None for v in row[:5]):
                continue
            volume = float(row[5]) if len(row) > 5 and row[5] is not None else 0.0
            o, h, lo, c = (float(v) for v in row[1:5])
            out.append(Candle(symbol, timeframe, int(row[0]), o, h, lo, c, volume))
        return out

    async def market_symbols(self) -> set[str]:
        """Every market the exchange lists (one REST call: ``load_markets``), to check the
        session's symbols before the cockpit starts."""
        exchange = await self._client()
        markets = await exchange.load_markets()
        return set(markets)

    async def close(self) -> None:
        exchange, self._exchange = self._exchange, None
        if exchange is not None:
            await exchange.close()
