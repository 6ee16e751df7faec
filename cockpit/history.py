"""Closed trades and analytics for the dashboard: re-read when a trade closes, never per tick.

The analytics run in a background task, and all their work (reading the journal and computing
the snapshot) in a worker thread: the event loop only awaits it, so a close never freezes the
cockpit, whatever the journal's size. On a SQLite file the session's `JournalReader` keeps the
trades between runs and fetches only those closed since the last snapshot (`state.journal_reader`);
another database is read through the store (the whole journal each time). Closes that arrive
while a run is going are folded into one more run. A run that fails (the database, the
computation) keeps the previous snapshot on screen with the reason (`latest.analytics_stale`);
the reader keeps nothing of a failed read, so the next run fetches what it missed. Only the
session's own account is read: a desk's other cockpits on the same database have their own
analytics (`cockpit report --account all` gives the desk's).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from cockpit.config import Settings
from cockpit.execution.errors import first_line
from cockpit.execution.events import LatestState
from cockpit.memory import collector_paused, freeze_long_lived, release
from state.store import Store

if TYPE_CHECKING:  # numpy and scipy: imported in the analytics' thread, after the first price
    from cockpit.analytics.baseline import BaselineChoice
    from state.journal_reader import JournalReader

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class History:
    """Keeps `latest.closed_trades` and `latest.analytics` in step with the journal."""

    def __init__(
        self,
        settings: Settings,
        latest: LatestState,
        store: Callable[[], Store | None],
        event: Callable[[str, str], None],
    ) -> None:
        self._settings = settings
        self._latest = latest
        self._store = store
        self._event = event
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._reader: JournalReader | None = None
        self._journal_read = False  # the reader is made with the first run
        self.baseline: BaselineChoice | None = None
        """The P2 win condition's baseline chosen on the screen (cockpit/baseline_chooser.py)."""

    async def reload(self) -> None:
        """The last 50 closed trades now; the analytics in the background."""
        store = self._store()
        if store is None:
            return
        self._latest.closed_trades = await store.closed_trades(limit=50)
        self._latest.history_version += 1
        self._latest.touch()
        self._refresh_soon()

    def _refresh_soon(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._refresh(), name="analytics")

    async def _refresh(self) -> None:
        while True:
            self._again = False
            store = self._store()
            if store is None:
                return
            try:
                # The analytics (numpy, scipy) are imported off the event loop, once, when the
                # first run starts: the session and its prices do not wait for them.
                journal = await asyncio.to_thread(importlib.import_module, "state.journal")
                if self._reader is None and not self._journal_read:
                    self._reader = journal.journal_reader_for(self._settings)
                self._journal_read = True
                if self._reader is not None:
                    reader = self._reader
                    snapshot = await asyncio.to_thread(
                        _quietly, journal.reader_snapshot, reader, self._settings, self.baseline
                    )
                else:
                    snapshot = await journal.analytics_snapshot(
                        store, self._settings, account=store.account, baseline=self.baseline
                    )
            except Exception as exc:  # a failed analysis must never stop trading
                log.exception("analytics failed")
                reason = first_line(exc)
                self._event("error", f"analytics not updated: {reason}")
                self._latest.analytics_stale = reason  # the previous snapshot stays shown
            else:
                retired: list[object] = [self._latest.analytics]
                self._latest.analytics = snapshot
                self._latest.analytics_stale = None
                del snapshot
                with contextlib.suppress(RuntimeError):  # the executor shut down: freed here
                    await asyncio.to_thread(release, retired)  # freed off the loop
                # the reader's cached trades live as long as the session
                freeze_long_lived("analytics")
            self._latest.history_version += 1
            self._latest.touch()
            if not self._again:
                return

    async def settled(self) -> None:
        """Wait until the analytics reflect every trade closed so far (reports and tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def _quietly(build: Callable[..., _T], *args: object) -> _T:
    """`build(*args)` with the garbage collector paused (`cockpit.memory`): in the worker."""
    with collector_paused():
        return build(*args)
