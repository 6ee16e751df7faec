"""The watchlist's figures per symbol (issue 16 item 5): last price, 24 h change, ATR and the
symbol's own feed state, with why it is blocked when it is.

`rows()` is cheap (dictionary reads and each symbol's status) and is called by the widget on
its own timer, never per tick. The ATR and the 24 h change need candles or a REST ticker, so
`run()` refreshes them in the background every `interval_s`: nothing per tick touches the
network. The ATR is the entry's own (closed bars of `[atr] timeframe`, Wilder), so the column
shows what an ATR policy would plan with. The 24 h change is the venue's where the feed has it
(`DayChangeFeed`: the live ccxt feed's ticker), else it is measured on the feed's hourly bars
when they reach 24 h back (a long replay), else it shows a dash (the demo's 4 h warm-up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from adapters.base import DayChangeFeed, MarketFeed
from cockpit.config import AtrConfig
from cockpit.domain import FeedState, Tick
from cockpit.execution.entries import closed_bar_atr
from cockpit.feed_health import StaleGuard, status_of
from cockpit.watch_rows import WatchRow

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
REFRESH_S = 30.0


class Watchlist:
    """Per-symbol figures for the watchlist; `run()` is a task, cancel it to stop."""

    def __init__(
        self,
        symbols: list[str],
        feed: MarketFeed,
        last_tick: dict[str, Tick],
        stale_guard: StaleGuard,
        atr: AtrConfig,
        clock: Callable[[], int],
        interval_s: float = REFRESH_S,
    ) -> None:
        self.symbols = symbols
        self._feed = feed
        self._last_tick = last_tick
        self._stale_guard = stale_guard
        self._atr_cfg = atr
        self._clock = clock
        self._interval_s = interval_s
        self.atr: dict[str, float | None] = {}
        self.change_24h: dict[str, float | None] = {}
        self.refreshed = 0
        """How many refreshes have completed (tests wait on it)."""

    def rows(self) -> list[WatchRow]:
        return [self._row(symbol) for symbol in self.symbols]

    def _row(self, symbol: str) -> WatchRow:
        tick = self._last_tick.get(symbol)
        status = status_of(self._feed, symbol)
        blocked = None
        if status.state is FeedState.DOWN:
            blocked = f"down ({status.detail})" if status.detail else "down"
        elif tick is not None:
            stale = self._stale_guard.staleness(tick)
            blocked = f"stale ({stale})" if stale is not None else None
        elif status.state is not FeedState.CONNECTED:
            blocked = "no price yet"
        return WatchRow(
            symbol,
            tick.price if tick is not None else None,
            self.change_24h.get(symbol),
            self.atr.get(symbol),
            status,
            blocked,
        )

    async def run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._interval_s)

    async def refresh(self) -> None:
        """The ATR and the 24 h change of every symbol; one failing symbol keeps its last
        figures and does not hold up the others."""
        now = self._clock()
        for symbol in self.symbols:
            self.atr[symbol] = await closed_bar_atr(self._feed, symbol, self._atr_cfg, now)
            try:
                self.change_24h[symbol] = await self._day_change(symbol, now)
            except Exception as exc:
                log.warning("no 24h change for %s: %s", symbol, exc)
        self.refreshed += 1

    async def _day_change(self, symbol: str, now_ms: int) -> float | None:
        if isinstance(self._feed, DayChangeFeed):
            return await self._feed.day_change(symbol)
        tick = self._last_tick.get(symbol)
        if tick is None:
            return None
        bars = await self._feed.candles(symbol, "1h", None, 25)
        then = now_ms - DAY_MS
        before = [bar for bar in bars if bar.ts_ms <= then < bar.ts_ms + HOUR_MS]
        if not before or before[0].open <= 0:
            return None
        return tick.price / before[0].open - 1.0
