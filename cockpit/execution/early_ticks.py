"""A feed's first ticks, before its session runs (issue 14 item 3: a live price within 1 s).

The session needs SQLAlchemy, the journal and the analytics before it can take a tick: about a
second of imports and reads after the first frame. The feed itself is light (the demo's
simulated markets, the ccxt stream), so the app builds it first and starts it at once; its
ticks are shown on the starting screen (the header's price, the chart) while the journal loads,
and kept. When the session starts it takes them over in order, then goes on with the same
iterator: the engine sees every tick the trader saw, before any newer one, and no tick is lost or
seen twice. A restored position's stop is therefore checked against the prices shown while it
was being restored; a kept live price that is older than the feed's staleness limit by the time
the session takes it is not acted on, as no stale price is (`cockpit.feed_health.StaleGuard`).

Each symbol's next tick is asked for by a task; what it brings is kept (and shown) until the
session takes the symbol. At most `KEEP` ticks are kept per symbol: a replay at full speed then
waits for the session instead of filling memory, and the session takes them over a few at a time
between turns of the event loop (the screen is not held while it catches up).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from cockpit.domain import Tick
from cockpit.execution.events import PRICE_HISTORY_LEN, LatestState

if TYPE_CHECKING:
    from adapters.base import MarketFeed

log = logging.getLogger(__name__)

KEEP = 1_000
YIELD_EVERY = 50  # kept ticks handed over between two turns of the event loop


async def _next(ticks: AsyncIterator[Tick]) -> Tick:
    return await anext(ticks)


class EarlyTicks:
    """Pulls `symbols`' ticks from `feed` into `latest` (the starting screen's) until a session
    takes each symbol with `ticks(symbol)`; `stop()` if no session ever will."""

    def __init__(self, feed: MarketFeed, symbols: list[str], latest: LatestState) -> None:
        self.feed = feed
        self._latest = latest
        self._streams = {symbol: feed.ticks(symbol) for symbol in symbols}
        self._kept: dict[str, deque[Tick]] = {symbol: deque() for symbol in symbols}
        self._asking: dict[str, asyncio.Task[Tick]] = {}
        self._ended: dict[str, BaseException] = {}  # StopAsyncIteration: the feed ended
        self._taken: set[str] = set()

    def start(self) -> None:
        """Ask every symbol for its first tick (on the event loop)."""
        for symbol in self._streams:
            self._ask(symbol)

    def _ask(self, symbol: str) -> None:
        task = asyncio.create_task(_next(self._streams[symbol]), name=f"early-feed:{symbol}")
        self._asking[symbol] = task
        task.add_done_callback(lambda done: self._arrived(symbol, done))

    def _arrived(self, symbol: str, done: asyncio.Task[Tick]) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if symbol in self._taken:
            return  # the session awaits this task itself: the tick (or the end) is its own
        del self._asking[symbol]
        if error is not None:
            self._ended[symbol] = error
            return
        tick = done.result()
        self._kept[symbol].append(tick)
        latest = self._latest
        latest.last_tick[symbol] = tick
        history = latest.price_history.get(symbol)
        if history is None:
            history = latest.price_history[symbol] = deque(maxlen=PRICE_HISTORY_LEN)
        history.append((tick.ts_ms, tick.price))
        latest.touch()
        if len(self._kept[symbol]) < KEEP:
            self._ask(symbol)

    async def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        """The session's ticks of `symbol`: those kept so far, in order, then the feed's own."""
        self._taken.add(symbol)
        kept = self._kept[symbol]
        handed = 0
        while kept:
            yield kept.popleft()
            handed += 1
            if handed % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        asking = self._asking.pop(symbol, None)
        if asking is not None:
            try:
                tick = await asking
            except StopAsyncIteration:
                return
            yield tick
        ended = self._ended.pop(symbol, None)
        if isinstance(ended, StopAsyncIteration):
            return
        if ended is not None:
            raise ended
        async for tick in self._streams[symbol]:
            yield tick

    async def stop(self) -> None:
        """No session will take the ticks (its start failed): stop asking, close the feed."""
        asking = list(self._asking.values())
        self._asking.clear()
        for task in asking:
            task.cancel()
        await asyncio.gather(*asking, return_exceptions=True)
        try:
            await self.feed.close()
        except Exception:
            log.exception("the feed could not be closed")
