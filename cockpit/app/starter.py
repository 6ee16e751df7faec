"""The session's start, behind the first frame (issue 14 item 3).

From the command line the app gets a `SessionStart`: the dashboard is drawn at once from a
`StartingView` (header, empty tables, "opening journal demo.db ..."), and only after that first
frame is the session built, in a worker thread (its imports are seconds on a loaded machine and
must not hold the event loop), then started on the loop and swapped into the dashboard. A session
built before the app runs (tests, tools) is started before the first frame, as it always was.

When the start has a feed of its own (`SessionStart.feed`: the demo, a replay, the live feed),
that is built first and started at once: its prices show while the journal loads, and the
session takes its ticks over when it starts (`cockpit.execution.early_ticks`).

A start that fails (a database that cannot be opened or migrated, a build that raises, a candle
file or a market the exchange does not list) is said in the header and printed when the app has
closed the screen (`cockpit.cli`), and the cockpit exits with status 2, as any refusal at start
does; what the session had opened (its feed, its store) is closed.
Quitting while the session is being built closes the feed already running and exits once the
build's thread returns (a thread cannot be stopped); the session it built is never started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from cockpit.app.outside_news import OutsideNews
from cockpit.execution.early_ticks import EarlyTicks
from cockpit.screens.dashboard import DashboardScreen
from cockpit.starting import StartingView, journal_name

if TYPE_CHECKING:
    from cockpit.app import CockpitApp
    from cockpit.session import Session

log = logging.getLogger(__name__)


class Starter:
    """Builds, starts and stops the app's session; says why when it cannot start."""

    def __init__(self, app: CockpitApp) -> None:
        self._app = app
        self.started = False
        self.failure: str | None = None  # "cockpit could not start: ..." once it could not
        self.view = StartingView(app.start)
        self._dashboard: DashboardScreen | None = None
        self._news: OutsideNews | None = None

    async def mount(self) -> None:
        app = self._app
        built = app._session
        hz = app.start.settings.ui_refresh_hz
        self._dashboard = DashboardScreen(built if built is not None else self.view, hz)
        await app.push_screen(self._dashboard)
        if built is not None:  # built before the app ran: started before the first frame
            await self._start(built)

    def after_first_frame(self) -> None:
        if self._app._session is None and self.failure is None:
            self._app.run_worker(self._build_and_start(), group="session-start", exclusive=True)

    async def _build_and_start(self) -> None:
        app = self._app
        start = app.start
        early: EarlyTicks | None = None
        try:
            if start.feed is not None:
                if start.checking is not None:
                    self.view.doing(start.checking)
                feed = await asyncio.to_thread(start.feed)
                early = EarlyTicks(feed, start.symbols, self.view.latest)
                early.start()  # its prices show from now on
                self.view.doing(f"opening {journal_name(start.settings.db_url)} ...")
            session = await asyncio.to_thread(start.build)
        except asyncio.CancelledError:  # quit while starting: the early feed is closed too
            if early is not None:
                await early.stop()
            raise
        except Exception as exc:
            log.exception("the session could not be built")
            if early is not None:
                await early.stop()
            self._could_not_start(exc)
            return
        if early is not None and session.feed is not early.feed:
            await early.stop()  # a build that made its own feed: its ticks are its own
            early = None
        session.early_ticks = early
        app._session = session
        if not await self._start(session):
            if early is not None:
                await early.stop()
        elif self._dashboard is not None:
            self._dashboard.attach(session)

    async def _start(self, session: Session) -> bool:
        try:
            await session.start()
        except Exception as exc:
            log.exception("the session could not start")
            self._could_not_start(exc)
            with contextlib.suppress(Exception):
                await session.stop()
            return False
        self.started = True
        news = self._news = OutsideNews(self._app, session)
        self._app.set_interval(1.0 / session.settings.ui_refresh_hz, news.poll)
        self._app.refresh_bindings()  # the keys greyed while starting, and `o` on a venue
        return True

    def _could_not_start(self, exc: Exception) -> None:
        from cockpit.db_cli import database_problem

        why = database_problem(exc) or str(exc) or type(exc).__name__
        self.failure = f"cockpit could not start: {why}"
        self.view.failed(why)
        self._app.exit(return_code=2)  # the command line prints the failure on one line

    async def stop(self) -> None:
        session = self._app._session
        if self.started and session is not None:
            await session.stop()
