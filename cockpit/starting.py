"""What the cockpit is before its session exists: how to build it, and what the dashboard shows
meanwhile (issue 14 item 3: first frame in 0.6 s).

The session brings SQLAlchemy, the analytics' numpy and scipy, aiohttp and a venue's libraries:
about a second of imports on a quiet machine, several on a loaded one. So the command line only
checks what can refuse a start (settings, the journal's lock, a candle file, a wallet) and
describes the session as a `SessionStart`; the app draws the dashboard at once from a
`StartingView` (header, empty tables, "opening journal demo.db ..."), builds the session in a
worker thread after that first frame, then starts it and swaps it in.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Generic, TypeVar

from cockpit.domain import FeedState, FeedStatus
from cockpit.execution.events import LatestState

if TYPE_CHECKING:
    from adapters.base import MarketFeed
    from cockpit.config import Settings
    from cockpit.session import Session

F = TypeVar("F", bound="MarketFeed")


@dataclass(frozen=True)
class SessionStart:
    """A session described before it is built.

    `build` imports what the session needs and constructs it (no I/O on the event loop: it runs
    in a worker thread, so it must not touch the UI or need a running loop); the session is then
    started on the loop. Anything it raises is shown and the cockpit exits with status 2, as a
    refusal before the first frame would. `symbols` are what the dashboard shows until then.

    `feed`, when given, builds the session's feed alone (also in the worker thread, first): the
    app starts it at once and shows its prices while `build` loads the rest, and the session
    takes its ticks over (`cockpit.execution.early_ticks`). `build` must then use that same feed
    (`FeedFirst` keeps the two together).
    """

    settings: Settings
    symbols: list[str]
    build: Callable[[], Session]
    simulated: bool = False  # a demo or a replay: the header says SIMULATED from the first frame
    feed: Callable[[], MarketFeed] | None = None
    checking: str | None = None  # what `feed` checks first, said on the starting screen


class FeedFirst(Generic[F]):
    """A session's feed built on its own before the session, and the session built on it.

    `feed()` builds the feed once (the first call; later calls return it), `session()` builds
    the session on that feed, building the feed first if nobody asked for it yet (a test, a
    tool). Both may run in a worker thread.
    """

    def __init__(self, feed: Callable[[], F], session: Callable[[F], Session]) -> None:
        self._make_feed = feed
        self._make_session = session
        self._feed: F | None = None
        self._lock = threading.Lock()

    def feed(self) -> F:
        with self._lock:
            if self._feed is None:
                self._feed = self._make_feed()
            return self._feed

    def session(self) -> Session:
        return self._make_session(self.feed())


def journal_name(db_url: str) -> str:
    """The journal as the status line names it: a SQLite file's name, else the kind of server
    (never the URL itself, which may carry a password)."""
    found = re.match(r"^(\w+)(?:\+\w+)?://(/[^?]*)?", db_url)
    if found is None:
        return "journal"
    backend, path = found.groups()
    if backend == "sqlite":
        name = PurePath(path[1:]).name if path and path[1:] not in ("", ":memory:") else ""
        return f"journal {name}" if name else "in-memory journal"
    return f"{backend} journal"


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class StartingView:
    """The dashboard's stand-in for the session while it is built and started: what the
    dashboard reads of a session, empty, with the feed status saying what is being done."""

    def __init__(self, start: SessionStart) -> None:
        self.settings = start.settings
        self.symbols = start.symbols
        self.latest = LatestState()
        self._simulated = start.simulated
        self.feed_status = FeedStatus(FeedState.STARTING, "", simulated=start.simulated)
        self.doing(f"opening {journal_name(start.settings.db_url)} ...")

    def doing(self, what: str) -> None:
        """What the start is doing now, in the header's feed status."""
        self.feed_status = FeedStatus(FeedState.STARTING, what, simulated=self._simulated)
        self.latest.touch()

    def failed(self, why: str) -> None:
        self.feed_status = FeedStatus(FeedState.DOWN, f"could not start: {why}")
        self.latest.touch()

    def clock(self) -> int:
        return wall_clock_ms()

    def venue_alerts(self) -> dict[int, str]:
        return {}

    def venue_note(self, trade_id: int | None) -> str | None:
        return None
