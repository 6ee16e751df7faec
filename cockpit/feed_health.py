"""What the session does about a live feed's health: no automatic action on stale prices, and
every change of the feed's state in the event log.

`StaleGuard` answers, for each tick, whether the engine may act on it: not when the price is
older than the feed's `stale_after_s` (a tick that sat in a queue, or a feed that just came back
with a backlog) or while the feed says it is stale. It logs once when a stale episode starts and
once when fresh prices resume. Feeds that are not live (replay, demo) carry their own market
time and are never judged by the wall clock.

`FeedMonitor` polls `feed.status` and writes each change of state into the event log (warnings
and errors also go to the alerts table), so the trader reads "reconnecting: NetworkError ..."
and "connected again" in the log, not only in the header.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from adapters.base import LiveFeed, MarketFeed, SymbolStatusFeed
from cockpit.domain import FeedState, FeedStatus, Tick

EventSink = Callable[[str, str], None]


def status_of(feed: MarketFeed, symbol: str) -> FeedStatus:
    """`symbol`'s own state where the feed can tell it (several symbols: a quiet or failing
    one blocks only itself), else the whole feed's."""
    if isinstance(feed, SymbolStatusFeed):
        return feed.symbol_status(symbol)
    return feed.status


class StaleGuard:
    """Decides per tick whether automatic exits may act on it; logs stale episodes once."""

    def __init__(self, feed: MarketFeed, clock: Callable[[], int], event: EventSink) -> None:
        self._feed = feed
        self._clock = clock
        self._event = event
        self._limit_s = feed.stale_after_s if isinstance(feed, LiveFeed) else None
        self._stale: set[str] = set()
        # Read on every tick: a feed that is not live (replay, demo) is never stale, and the
        # tick path then skips `fresh` altogether.
        self.active = self._limit_s is not None

    def stale_symbols(self) -> set[str]:
        return set(self._stale)

    def staleness(self, tick: Tick) -> str | None:
        """Why `tick` is too old to act on ("price 7.2s old", "feed stale"), or None.

        Pure: the session also asks it before an entry, which must not open on an old price.
        """
        if self._limit_s is None:
            return None
        age_s = (self._clock() - tick.ts_ms) / 1000.0
        if age_s > self._limit_s:
            return f"price {age_s:.1f}s old"
        if status_of(self._feed, tick.symbol).state is FeedState.STALE:
            return "feed stale"
        return None

    def fresh(self, tick: Tick) -> bool:
        """True if the engine may act on `tick` (always, for a feed that is not live)."""
        why = self.staleness(tick)
        if why is not None:
            if tick.symbol not in self._stale:
                self._stale.add(tick.symbol)
                self._event(
                    "warning",
                    f"{tick.symbol}: {why}: no automatic stop or take-profit on stale prices",
                )
            return False
        if tick.symbol in self._stale:
            self._stale.discard(tick.symbol)
            self._event("info", f"{tick.symbol}: fresh prices again; automatic exits resume")
        return True


class FeedMonitor:
    """Logs the feed's state changes. `run()` is a task; cancel it to stop.

    With several `symbols` on a feed that knows each one's state, each symbol's changes are
    logged on their own, named ("BTC/USDT:USDT: feed stale 12s ..."): one quiet symbol must not
    read as the whole feed going stale."""

    def __init__(
        self,
        feed: MarketFeed,
        event: EventSink,
        interval_s: float = 0.5,
        symbols: list[str] | None = None,
    ) -> None:
        self._feed = feed
        self._event = event
        self._interval_s = interval_s
        each = isinstance(feed, SymbolStatusFeed) and symbols is not None and len(symbols) > 1
        self._logs: dict[str | None, _StateLog] = (
            {s: _StateLog(event, f"{s}: ") for s in symbols or ()}
            if each
            else {None: _StateLog(event, "")}
        )

    async def run(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(self._interval_s)

    def check(self) -> None:
        for symbol, log in self._logs.items():
            log.check(self._feed.status if symbol is None else status_of(self._feed, symbol))


class _StateLog:
    """One line per change of one state (the feed's, or one symbol's)."""

    def __init__(self, event: EventSink, prefix: str) -> None:
        self._event = event
        self._prefix = prefix
        self._last: FeedStatus | None = None
        self._connected_before = False

    def check(self, status: FeedStatus) -> None:
        last = self._last
        self._last = status
        if last is not None and status.state is last.state:
            return
        detail = f": {status.detail}" if status.detail else ""
        say = self._prefix
        if status.state is FeedState.CONNECTED:
            if self._connected_before:
                self._event("info", f"{say}feed connected again{detail}; automatic exits resume")
            else:
                self._event("info", f"{say}feed connected{detail}")
            self._connected_before = True
        elif status.state is FeedState.STALE:
            age = f" {status.age_s:.0f}s" if status.age_s is not None else ""
            self._event("warning", f"{say}feed stale{age}: no automatic exits on stale prices")
        elif status.state is FeedState.RECONNECTING:
            if self._connected_before:
                self._event("warning", f"{say}feed reconnecting{detail}")
            else:
                self._event("info", f"{say}feed{detail}")
        else:
            self._event("error", f"{say}feed down{detail} (still retrying)")
