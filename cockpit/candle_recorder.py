"""Records the live feed's 1m bars in the `candles` table, with no gaps and no duplicates.

Why: every trade's price path before and after its exit must be on record for analytics and
backtests ("what would the runner have made", "missed profit after exit"), also for symbols
with no open position (DESIGN.md section 2).

How:
- at start, bars from the newest one stored (inclusive: it may have been stored half-formed)
  or, on an empty table, from `backfill_minutes` ago, are fetched over REST and upserted;
- then each bar the feed closes is upserted as it closes;
- a bar closed right after the stream was interrupted (`ClosedBar.after_gap`) or one that does
  not follow the previous bar marks the range from the last good bar as dirty, and that range
  is re-fetched over REST (the exchange's own history is the authority) until it succeeds;
- every write is an idempotent upsert by (symbol, timeframe, open time), so a bar written
  twice (stream, then REST) is one row, the newest version.

Only bars whose whole minute is in the past (by `clock`) are ever taken from REST, so a
forming bar is never stored as if it were final.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from adapters.backoff import Backoff
from adapters.base import ClosedBar, ClosedCandleFeed, MarketFeed
from adapters.csv_candles import timeframe_ms
from state.errors import StoreClosedError
from state.store import Store

log = logging.getLogger(__name__)

PAGE = 1000
REST_TIMEOUT_S = 15.0
"""Longest wait for one page of bars over REST before it counts as a failure and is retried."""
"""Bars per REST request (Binance and Bybit serve up to 1000 or more)."""
MAX_CATCH_UP_MS = 7 * 86_400_000
"""A database whose newest bar is older than this is caught up over the last week only."""

EventSink = Callable[[str, str], None]


def _hhmm(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


class CandleRecorder:
    """One symbol's bars from `feed` into `store`. Run `run()` as a task; cancel it to stop."""

    def __init__(
        self,
        store: Store,
        feed: MarketFeed,
        symbol: str,
        *,
        clock: Callable[[], int],
        event: EventSink,
        backfill_minutes: int = 240,
        retry_initial_s: float = 2.0,
        retry_max_s: float = 60.0,
        source: str = "feed",
    ) -> None:
        if not isinstance(feed, ClosedCandleFeed):
            raise TypeError("the candle recorder needs a feed that streams closed bars")
        self._store = store
        self._feed = feed
        self._bars: ClosedCandleFeed = feed
        self.symbol = symbol
        self.timeframe = feed.candle_timeframe
        self._tf_ms = timeframe_ms(self.timeframe)
        self._clock = clock
        self._event = event
        self._backfill_ms = backfill_minutes * 60_000
        self._retry = Backoff(retry_initial_s, max(retry_initial_s, retry_max_s))
        self._source = source
        self._queue: asyncio.Queue[ClosedBar | None] = asyncio.Queue()
        self.last_ts: int | None = None
        """Open time of the newest bar recorded (streamed or fetched)."""
        self.dirty_since: int | None = None
        """Open time from which bars still have to be re-fetched over REST (None: none)."""
        self.streamed = 0
        self.fetched = 0
        self._failing = False

    async def run(self) -> None:
        pump = asyncio.create_task(self._pump(), name=f"candles-pump:{self.symbol}")
        try:
            await self._start()
            while True:
                wait = None if self.dirty_since is None else self._retry.next_delay()
                try:
                    async with asyncio.timeout(wait):
                        bar = await self._queue.get()
                except TimeoutError:
                    await self._repair()
                    continue
                if bar is None:
                    return  # the feed was closed
                await self._record(bar)
        except StoreClosedError:
            return
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump

    async def _pump(self) -> None:
        try:
            async for bar in self._bars.closed_candles(self.symbol):
                await self._queue.put(bar)
        finally:
            self._queue.put_nowait(None)

    async def _start(self) -> None:
        now = self._clock()
        newest = await self._store.candles(self.symbol, self.timeframe, None, 1)
        if newest:
            self.last_ts = newest[-1].ts_ms
            since = max(newest[-1].ts_ms, now - MAX_CATCH_UP_MS)
        else:
            since = now - self._backfill_ms
        since -= since % self._tf_ms
        if since + self._tf_ms <= now:
            self.dirty_since = since
            await self._repair()

    async def _record(self, bar: ClosedBar) -> None:
        candle = bar.candle
        if self.last_ts is not None:
            expected = self.last_ts + self._tf_ms
            if bar.after_gap or candle.ts_ms > expected:
                self._mark_dirty(min(expected, candle.ts_ms))
        elif bar.after_gap:
            self._mark_dirty(candle.ts_ms)
        try:
            await self._store.upsert_candles([candle], source=f"{self._source} ws")
        except StoreClosedError:
            raise
        except Exception as exc:
            log.warning("candle %s %s not stored: %s", self.symbol, _hhmm(candle.ts_ms), exc)
            self._mark_dirty(candle.ts_ms)
            return
        self.streamed += 1
        self.last_ts = candle.ts_ms if self.last_ts is None else max(self.last_ts, candle.ts_ms)
        if self.dirty_since is not None and not self._failing:
            await self._repair()

    def _mark_dirty(self, since: int) -> None:
        self.dirty_since = since if self.dirty_since is None else min(self.dirty_since, since)

    async def _repair(self) -> None:
        """Fetch every closed bar from `dirty_since` on over REST and upsert it."""
        since = self.dirty_since
        if since is None:
            return
        first = since
        count = 0
        try:
            now = self._clock()
            while since + self._tf_ms <= now:
                # Bounded: a REST call that never answers must not stall the recorder for
                # good (it is retried with backoff like any other failure).
                async with asyncio.timeout(REST_TIMEOUT_S):
                    bars = await self._feed.candles(self.symbol, self.timeframe, since, PAGE)
                closed = [b for b in bars if b.ts_ms >= since and b.ts_ms + self._tf_ms <= now]
                if closed:
                    await self._store.upsert_candles(closed, source=f"{self._source} rest")
                    count += len(closed)
                    newest = closed[-1].ts_ms
                    self.last_ts = newest if self.last_ts is None else max(self.last_ts, newest)
                    since = newest + self._tf_ms
                if len(bars) < PAGE or not closed:
                    break
        except StoreClosedError:
            raise
        except Exception as exc:
            self.dirty_since = since
            if not self._failing:
                self._failing = True
                self._event(
                    "warning",
                    f"candles {self.symbol}: fetching bars from {_hhmm(since)} failed "
                    f"({type(exc).__name__}: {exc}); retrying",
                )
            log.info("candle backfill %s failed: %s", self.symbol, exc)
            return
        self.fetched += count
        self.dirty_since = None
        self._retry.reset()
        if self._failing:
            self._failing = False
        if count:
            self._event(
                "info",
                f"candles {self.symbol}: recorded {count} bars from {_hhmm(first)} over REST",
            )
