"""The background jobs a session runs beside a live feed, for whatever the feed can do.

`live_feed_jobs(session)` looks at the session's feed and returns (name, coroutine) pairs for
the session to run as tasks: the candle recorder per symbol when the feed streams closed bars,
the funding charger when it reports funding rates, the feed monitor when it is a live feed. A
replay or demo feed gets none of them, so the demo path stays exactly as it was.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol

from adapters.base import Broker, ClosedCandleFeed, FundingFeed, LiveFeed, MarketFeed
from adapters.paper import PaperBroker
from cockpit.candle_recorder import CandleRecorder
from cockpit.config import Settings
from cockpit.execution.events import LatestState
from cockpit.feed_health import FeedMonitor
from cockpit.funding import FundingCharger
from state.store import Store

Job = tuple[str, Coroutine[Any, Any, None]]


class JobHost(Protocol):
    """What the jobs need of the session (the session satisfies it; no import of it here)."""

    settings: Settings
    feed: MarketFeed
    broker: Broker
    live_broker: Broker | None
    symbols: list[str]
    store: Store | None
    latest: LatestState

    def clock(self) -> int: ...

    def event(self, level: str, text: str) -> None: ...


def live_feed_jobs(session: JobHost) -> list[Job]:
    """The jobs for `session.feed`; call after `session.store` is open."""
    feed = session.feed
    jobs: list[Job] = []
    if isinstance(feed, LiveFeed):
        monitor = FeedMonitor(feed, session.event, symbols=session.symbols)
        jobs.append(("feed-monitor", monitor.run()))
    store = session.store
    if isinstance(feed, ClosedCandleFeed) and store is not None:
        backfill = session.settings.feed.backfill_minutes
        source = str(getattr(feed, "exchange_id", "feed"))
        for symbol in session.symbols:
            recorder = CandleRecorder(
                store,
                feed,
                symbol,
                clock=session.clock,
                event=session.event,
                backfill_minutes=backfill,
                source=source,
            )
            jobs.append((f"candles:{symbol}", recorder.run()))
    if isinstance(feed, FundingFeed):

        def paper_venues() -> set[str]:
            brokers = (session.broker, session.live_broker)
            return {b.venue for b in brokers if isinstance(b, PaperBroker)}

        charger = FundingCharger(
            feed,
            session.symbols,
            positions=lambda: list(session.latest.positions),
            last_tick=session.latest.last_tick.get,
            paper_venues=paper_venues,
            store=lambda: session.store,
            clock=session.clock,
            event=session.event,
        )
        jobs.append(("funding", charger.run()))
    return jobs
