"""Live mainnet data through ccxt.pro: the feed behind SHADOW mode (docs/feeds.md).

One ccxt.pro exchange, several websocket streams per symbol, each in its own loop:

- the price the exit engine acts on: the mark price where the exchange streams it (what venues
  trigger stops on, DESIGN.md section 2), else trades (`FeedConfig.trigger` chooses);
- the book (best bid/ask) for paper fills, the mark price and the funding rate;
- the exchange's own 1m klines, closed on timestamp rollover (`CandleCloser`) and handed to the
  candle recorder through `closed_candles()`.

Facts this feed is built around (DESIGN.md section 5):

- ccxt does not reconnect by itself: a watch raises NetworkError and the *next* watch opens a new
  socket. Each loop therefore retries with exponential backoff (cap, jitter, reset on the first
  message after a success); after `down_after_failures` failures in a row the feed shows
  `down` with the error, and keeps retrying.
- a dead socket is noticed late (Binance's keep-alive ping is every 3 minutes), so the feed has
  its own watchdog: no price for `stale_after_s` makes the status `stale`, none for
  `reconnect_after_s` fails the sockets on purpose so the loops reconnect.
- a frame ccxt cannot handle must not end ccxt's receive loop silently: each websocket client's
  message handler is wrapped so such a frame is logged, counted and skipped.
- `close()` always awaits ``exchange.close()``, whatever state the feed is in.

Importing ccxt costs a second or more (much more without cached bytecode), so it happens in
`CcxtStreams._open_exchange` only, in a worker thread, when the live feed starts: the demo never
imports it, and the dashboard stays responsive while it loads.

`CcxtFeed` is built in three layers, one module each: `adapters/ccxt_market.py`
(`CcxtMarketData`: each symbol's state, and ccxt's caches swept into ticks, bars, book and
funding), `adapters/ccxt_streams.py` (`CcxtStreams`: the exchange, the stream loops, backoff,
the watchdog, the frame guard) and this module (the `MarketFeed` API, `status`, `stats()`,
`close()`). `adapters/ccxt_exchange.py` holds what the REST candle source shares: the exchange
profiles, `point_at`, `describe_error`. Names other modules import from here stay importable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from adapters.base import ClosedBar, FundingInfo
from adapters.ccxt_exchange import (
    FALLBACK_PROFILE,
    PROFILES,
    ExchangeProfile,
    describe_error,
    integer,
    number,
    point_at,
)
from adapters.ccxt_market import CANDLE_TIMEFRAME, SymbolState, put_latest
from adapters.ccxt_streams import CcxtStreams, StreamState
from cockpit.domain import Candle, FeedState, FeedStatus, Tick

__all__ = [
    "FALLBACK_PROFILE",
    "PROFILES",
    "CcxtFeed",
    "ExchangeProfile",
    "describe_error",
    "point_at",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


class CcxtFeed(CcxtStreams):
    """A `MarketFeed` (plus `LiveFeed`, `ClosedCandleFeed`, `FundingFeed`) on ccxt.pro.

    Streams start with the first consumer (`ticks()`, `closed_candles()`) or REST call
    (`candles()`); `close()` stops them and closes the exchange. `exchange_factory` replaces the
    ccxt.pro lookup by id (a test can hand in any ccxt.pro class instance); `clock` is the
    monotonic clock for ages and the watchdog.
    """

    # ----------------------------------------------------------------- introspection
    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @property
    def stale_after_s(self) -> float:
        return self.config.stale_after_s

    @property
    def candle_timeframe(self) -> str:
        return CANDLE_TIMEFRAME

    @property
    def exchange(self) -> Any:
        """The ccxt.pro exchange once created (None before): for tests and diagnostics."""
        return self._exchange

    @property
    def closed(self) -> bool:
        return self._closed

    def funding(self, symbol: str) -> FundingInfo | None:
        return self._state(symbol).funding

    def last_tick(self, symbol: str) -> Tick | None:
        return self._state(symbol).last_tick

    def stats(self) -> dict[str, Any]:
        """Counters for tests and the log: what was dropped, repaired or retried."""
        return {
            "garbage_frames": self.garbage_frames,
            "bad_messages": self.bad_messages,
            "forced_reconnects": self.forced_reconnects,
            "streams": {
                f"{s.symbol} {s.name}": {
                    "messages": s.messages,
                    "reconnects": s.reconnects,
                    "failures": s.failures,
                    "error": s.error,
                }
                for s in self._streams
            },
            "symbols": {
                st.symbol: {
                    "duplicate_trades": st.trades.duplicates,
                    "late_trades": st.trades.late,
                    "ignored_bar_updates": st.closer.ignored,
                    "dropped_ticks": st.dropped,
                }
                for st in self._symbols.values()
            },
        }

    @property
    def status(self) -> FeedStatus:
        """connected / stale (age) / reconnecting (error, next retry) / down (error): the worst
        of every symbol's, for the header (each symbol's own: `symbol_status`)."""
        return self._status_over(self._streams, list(self._symbols), named=len(self._symbols) > 1)

    def symbol_status(self, symbol: str) -> FeedStatus:
        """One symbol's state, from its own streams and its own price age only: a quiet or
        failing symbol does not block the others (issue 16 item 5)."""
        self._state(symbol)
        streams = [s for s in self._streams if s.symbol == symbol]
        return self._status_over(streams, [symbol], named=False)

    def _status_over(
        self, streams: list[StreamState], symbols: list[str], *, named: bool
    ) -> FeedStatus:
        ages = {s: self.price_age_s(s) for s in symbols}
        known = [a for a in ages.values() if a is not None]
        age = max(known) if known else None
        if self._closed:
            return FeedStatus(FeedState.DOWN, f"{self.exchange_id} closed", age)
        if self._fatal is not None:
            return FeedStatus(FeedState.DOWN, self._fatal, age)
        now = self._clock()
        failing = [s for s in streams if s.error is not None]
        if failing:
            down = any(s.failures >= self.config.down_after_failures for s in failing)
            by_error: dict[str, list[StreamState]] = {}
            for s in failing:
                by_error.setdefault(s.error or "", []).append(s)
            parts = []
            everything = len(failing) == len(streams) and len(by_error) == 1
            for error, group in by_error.items():
                names = "" if everything else ", ".join(self._stream_name(s, named) for s in group)
                attempt = max(s.failures for s in group)
                wait = max(0.0, min((s.retry_at or now) for s in group) - now)
                parts.append(
                    f"{names}{': ' if names else ''}{error} (attempt {attempt}, "
                    f"retry in {wait:.0f}s)"
                )
            state = FeedState.DOWN if down else FeedState.RECONNECTING
            return FeedStatus(state, "; ".join(parts), age)
        waiting = [s for s in symbols if self._symbols[s].last_price_at is None]
        if waiting:
            which = f" ({', '.join(waiting)})" if named else ""
            return FeedStatus(
                FeedState.RECONNECTING, f"{self._phase} {self.exchange_id}{which}", age
            )
        quiet = [s for s, a in ages.items() if a is not None and a > self.config.stale_after_s]
        if age is not None and quiet:
            which = f"{', '.join(quiet)}: " if named else ""
            return FeedStatus(
                FeedState.STALE,
                f"{which}no price for {age:.0f}s: no automatic exits on stale prices",
                age,
            )
        return FeedStatus(FeedState.CONNECTED, f"{self.exchange_id} {self.trigger} price", age)

    @staticmethod
    def _stream_name(stream: StreamState, named: bool) -> str:
        return f"{stream.symbol} {stream.name}" if named else stream.name

    async def day_change(self, symbol: str) -> float | None:
        """The venue's own 24 h change (REST ``fetch_ticker``), as a fraction; None when the
        ticker has no percentage. Raises what ccxt raises (the watchlist keeps the last)."""
        self._state(symbol)
        exchange = await self._ready_exchange()
        ticker = await exchange.fetch_ticker(symbol)
        try:
            percentage = float(ticker.get("percentage"))
        except (TypeError, ValueError):
            return None
        return percentage / 100.0 if math.isfinite(percentage) else None

    # ----------------------------------------------------------------- MarketFeed
    def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        """Ticks of `symbol` as they arrive; ends only when the feed is closed."""
        state = self._state(symbol)
        return self._drain(state, state.queue, "consuming_ticks")

    def closed_candles(self, symbol: str) -> AsyncIterator[ClosedBar]:
        """Each exchange 1m bar once, when the next one has started; ends on close."""
        state = self._state(symbol)
        return self._drain(state, state.bars, "consuming_bars")

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        """Bars from the exchange's REST history (``fetch_ohlcv``); the last one may be forming.

        Raises whatever ccxt raises (NetworkError and friends): callers decide what a missing
        history means (the session enters without ATR, the recorder retries later).
        """
        self._state(symbol)
        exchange = await self._ready_exchange()
        rows = await exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        candles = []
        for row in rows:
            values = [number(v) for v in row[1:5]]
            ts = integer(row[0])
            if ts is None or any(v is None for v in values):
                self.bad_messages += 1
                continue
            o, h, lo, c = (float(v) for v in values if v is not None)
            volume = float(row[5]) if len(row) > 5 and row[5] is not None else 0.0
            candles.append(Candle(symbol, timeframe, ts, o, h, lo, c, volume))
        return candles

    async def close(self) -> None:
        """Stop every stream, end the iterators, and always close the exchange."""
        self._closed = True
        try:
            supervisor = self._supervisor
            if supervisor is not None and not supervisor.done():
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await supervisor
        finally:
            for state in self._symbols.values():
                put_latest(state.queue, None)
                put_latest(state.bars, None)
            exchange, self._exchange = self._exchange, None
            if exchange is not None:
                try:
                    await exchange.close()
                except Exception as exc:
                    log.warning("closing %s failed: %s", self.exchange_id, describe_error(exc))

    async def _drain(
        self, state: SymbolState, queue: asyncio.Queue[T | None], flag: str
    ) -> AsyncIterator[T]:
        if getattr(state, flag):
            raise RuntimeError(f"{state.symbol} already has a consumer")
        setattr(state, flag, True)
        try:
            self._ensure_started()
            while not (self._closed and queue.empty()):
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            setattr(state, flag, False)
