"""A close never freezes the cockpit: the journal is read and the analytics computed while the
event loop keeps running. Nothing here is timed: the reader waits for the loop to answer, which
it can only do if the read is not on the loop (on the loop it would give up after 60 s and the
test fails on what it saw)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from adapters.trades_csv import load_trades_csv
from cockpit.analytics.trades import TradeRecord
from cockpit.config import Settings
from cockpit.execution.events import LatestState
from cockpit.history import History
from state.journal import import_trades
from state.journal_reader import JournalReader
from state.store import Store

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"


class WaitsForTheLoop(JournalReader):
    """A real reader whose refresh first waits until the event loop has run a callback."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(path)
        self.loop = loop
        self.answered = threading.Event()
        self.loop_ran_meanwhile = False
        self.thread = 0

    def refresh(self) -> list[TradeRecord]:
        self.thread = threading.get_ident()
        self.loop.call_soon_threadsafe(self.answered.set)
        self.loop_ran_meanwhile = self.answered.wait(timeout=60)
        return super().refresh()


async def test_the_loop_runs_while_the_journal_is_read(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}")
    store = await Store.open(settings.db_url)
    try:
        await import_trades(store, load_trades_csv(SAMPLE), now_ms=1)
        latest = LatestState()
        events: list[tuple[str, str]] = []
        history = History(settings, latest, lambda: store, lambda lvl, t: events.append((lvl, t)))
        reader = WaitsForTheLoop(db, asyncio.get_running_loop())
        history._reader = reader
        await history.reload()
        await history.settled()
        assert reader.loop_ran_meanwhile, "the journal was read on the event loop"
        assert reader.thread != threading.get_ident()
        assert latest.analytics is not None and latest.analytics.trades == 60
        assert events == []
        await history.stop()
    finally:
        await store.close()


async def test_the_session_reads_a_sqlite_journal_incrementally(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}")
    store = await Store.open(settings.db_url)
    try:
        await import_trades(store, load_trades_csv(SAMPLE), now_ms=1)
        latest = LatestState()
        history = History(settings, latest, lambda: store, lambda lvl, t: None)
        await history.reload()
        await history.settled()
        reader = history._reader
        assert reader is not None and reader.fetched_last == 60
        await history.reload()  # a close with nothing new: nothing fetched again
        await history.settled()
        assert reader.fetched_last == 0
        assert latest.analytics is not None and latest.analytics.trades == 60
        await history.stop()
    finally:
        await store.close()
