"""The event log and the latest state: what the UI renders, written by the execution side only.

Workers fill state, panels render (dolphie's split): nothing here knows about Textual.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cockpit.domain import Mode, PositionState, Tick

if TYPE_CHECKING:  # the dashboard's first frame needs this module, not SQLAlchemy or numpy
    from cockpit.analytics.snapshot import AnalyticsSnapshot
    from cockpit.replay_summary import ReplayResult
    from state.records import TradeSummary
    from state.store import Store

log = logging.getLogger("cockpit.session")

PRICE_HISTORY_LEN = 3600
EVENT_HISTORY_LEN = 500


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One line of the event log; `seq` lets the UI append only what is new."""

    seq: int
    ts_ms: int
    level: str
    text: str


@dataclass
class LatestState:
    """The newest value of everything the UI shows, written by the session only."""

    last_tick: dict[str, Tick] = field(default_factory=dict)
    price_history: dict[str, deque[tuple[int, float]]] = field(default_factory=dict)
    """(tick time ms, price) of the last PRICE_HISTORY_LEN ticks per symbol, for the charts."""
    positions: list[PositionState] = field(default_factory=list)
    closed_trades: list[TradeSummary] = field(default_factory=list)
    events: deque[LogEvent] = field(default_factory=lambda: deque(maxlen=EVENT_HISTORY_LEN))
    event_seq: int = 0
    history_version: int = 0
    mode: Mode = Mode.SHADOW
    # Metrics and decision gates over every closed trade; None until the first history load.
    analytics: AnalyticsSnapshot | None = None
    # Why the last analytics refresh failed (None: `analytics` is up to date); the gate panel
    # says it under the previous snapshot, which stays shown (cockpit/history.py).
    analytics_stale: str | None = None
    # Why the database is not taking writes right now (None while it is): shown to the trader.
    db_failing: str | None = None
    # Who paused entries and when (None: entries allowed); the header shows it (pause.py).
    entries_paused: str | None = None
    # A finished replay run's result (None until its data ends): the summary panel shows it.
    replay_result: ReplayResult | None = None
    # Why the account's lock is not held (None while it is): no entries (account_lock.py).
    account_lock: str | None = None
    # Called on every change (the UI's redraw request; it coalesces them into frames). Nothing
    # here waits for it or knows what it does: one call per tick, returning at once.
    waker: Callable[[], None] | None = None

    def touch(self) -> None:
        """Something the UI shows changed."""
        waker = self.waker
        if waker is not None:
            waker()


class EventLog:
    """Appends to the event log (and the alerts table for warnings and errors)."""

    def __init__(
        self, latest: LatestState, clock: Callable[[], int], store: Callable[[], Store | None]
    ) -> None:
        self._latest = latest
        self._clock = clock
        self._store = store

    def __call__(self, level: str, text: str) -> None:
        latest = self._latest
        latest.event_seq += 1
        ts = self._clock()
        latest.events.append(LogEvent(latest.event_seq, ts, level, text))
        latest.touch()
        log.log(logging.WARNING if level in ("warning", "error") else logging.INFO, text)
        store = self._store()
        if level in ("warning", "error") and store is not None and not store.closed:
            task = asyncio.get_running_loop().create_task(store.record_alert(level, text, ts))
            task.add_done_callback(_swallow)


def _swallow(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not store alert: %s", task.exception())
