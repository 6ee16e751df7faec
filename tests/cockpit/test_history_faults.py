"""The analytics refresh fails on purpose (issue 18 item 8): the database refuses a read in the
middle of a refresh, or the computation raises on a bad row. The dashboard keeps the previous
snapshot and says why; the next refresh brings the missed trade in. A trade that closes while a
refresh is running is in the next snapshot. Nothing is timed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from adapters.trades_csv import load_trades_csv
from cockpit.analytics.trades import TradeRecord
from cockpit.config import Settings
from cockpit.domain import Candle
from cockpit.execution.events import LatestState
from cockpit.history import History
from state.journal import import_trades
from state.journal_reader import JournalReader
from state.store import Store
from tests.waiting import pilot_until, until
from widgets.gate_panel import GatePanel

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"
HEADER = "symbol,side,entry_time,entry_price,exit_time,exit_price,size,fees,mfe_pct,tp2_price"
ONE_MORE = HEADER + "\nSOL-PERP,long,2026-01-01T10:00:00Z,100,2026-01-01T11:00:00Z,101,1,0.1,1.2,\n"


class FaultyReader(JournalReader):
    """A real reader on the real file. `deny_candles`: the database refuses to read the candles
    table (SQLite's authorizer), which a refresh does after it has fetched the new trades.
    `bad_row`: the read hands the computation a trade without an exit time."""

    deny_candles = False
    bad_row = False

    def _connect(self) -> sqlite3.Connection:
        conn = super()._connect()
        if self.deny_candles:

            def authorize(action: int, table: str | None, *_: object) -> int:
                return sqlite3.SQLITE_DENY if table == "candles" else sqlite3.SQLITE_OK

            conn.set_authorizer(authorize)
        return conn

    def refresh(self) -> list[TradeRecord]:
        records = super().refresh()
        if self.bad_row:
            broken = TradeRecord(
                id=-1,
                symbol="SOL-PERP",
                side="long",
                entry_ts_ms=0,
                exit_ts_ms=None,
                entry_price=1.0,
                exit_price=1.0,
                size=1.0,
                realized_pnl=0.0,
                fees=0.0,
            )  # type: ignore[arg-type]
            records = [*records, broken]
        return records


async def _journal(tmp_path: Path) -> tuple[Settings, Store, Path]:
    db = tmp_path / "journal.db"
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}")
    store = await Store.open(settings.db_url)
    await import_trades(store, load_trades_csv(SAMPLE), now_ms=1)
    # a bar after the sample's exits, so a refresh with a new trade reads the candles table
    await store.upsert_candles([Candle("SOL-PERP", "1h", 1_767_261_600_000, 1, 2, 0.5, 1.5, 1)])
    return settings, store, db


async def _close_one_more(store: Store, tmp_path: Path) -> None:
    extra = tmp_path / "extra.csv"
    extra.write_text(ONE_MORE)
    await import_trades(store, load_trades_csv(extra), now_ms=2)


@pytest.mark.parametrize("fault", ["deny_candles", "bad_row"])
async def test_a_failed_refresh_keeps_the_last_snapshot_says_why_and_catches_up(
    tmp_path: Path, fault: str
) -> None:
    settings, store, db = await _journal(tmp_path)
    try:
        latest = LatestState()
        events: list[tuple[str, str]] = []
        history = History(settings, latest, lambda: store, lambda lvl, t: events.append((lvl, t)))
        reader = FaultyReader(db)
        history._reader = reader
        history._journal_read = True
        await history.reload()
        await history.settled()
        before = latest.analytics
        assert before is not None and before.trades == 60 and latest.analytics_stale is None

        await _close_one_more(store, tmp_path)
        setattr(reader, fault, True)
        await history.reload()
        await history.settled()
        assert latest.analytics is before  # the previous snapshot stays shown
        reason = latest.analytics_stale
        assert reason is not None
        assert ("prohibited" if fault == "deny_candles" else "None") in reason
        assert events[-1] == ("error", f"analytics not updated: {reason}")
        assert len(latest.closed_trades) == 50  # the trade list itself was still read

        setattr(reader, fault, False)
        await history.reload()
        await history.settled()
        assert latest.analytics is not None and latest.analytics.trades == 61
        assert latest.analytics_stale is None
        await history.stop()
    finally:
        await store.close()


class HeldReader(JournalReader):
    """A real reader whose refresh waits, once it has read the file, until it is let go."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reading = threading.Event()
        self.let_go = threading.Event()
        self.hold = False

    def refresh(self) -> list[TradeRecord]:
        records = super().refresh()
        if self.hold:
            self.reading.set()
            self.let_go.wait(timeout=60)
        return records


async def test_a_trade_closed_during_a_refresh_is_in_the_next_snapshot(tmp_path: Path) -> None:
    settings, store, db = await _journal(tmp_path)
    try:
        latest = LatestState()
        history = History(settings, latest, lambda: store, lambda lvl, t: None)
        reader = HeldReader(db)
        history._reader = reader
        history._journal_read = True
        reader.hold = True
        await history.reload()
        await until(reader.reading.is_set, what="the refresh has read the journal")
        await _close_one_more(store, tmp_path)  # closes after the running refresh read the file
        await history.reload()
        reader.hold = False
        reader.let_go.set()
        await history.settled()
        assert latest.analytics is not None and latest.analytics.trades == 61
        await history.stop()
    finally:
        await store.close()


class OnePanel(App[None]):
    def compose(self) -> ComposeResult:
        yield GatePanel()


async def test_the_gate_panel_says_why_its_gates_are_not_up_to_date(tmp_path: Path) -> None:
    settings, store, db = await _journal(tmp_path)
    try:
        latest = LatestState()
        history = History(settings, latest, lambda: store, lambda lvl, t: None)
        reader = FaultyReader(db)
        history._reader = reader
        history._journal_read = True
        await history.reload()
        await history.settled()
        await _close_one_more(store, tmp_path)
        reader.deny_candles = True
        await history.reload()
        await history.settled()
        snapshot = latest.analytics
        assert snapshot is not None
        app = OnePanel()
        async with app.run_test() as pilot:
            panel = app.query_one(GatePanel)
            panel.show(snapshot.gates, latest.analytics_stale)
            await pilot_until(pilot, lambda: panel.line_texts()[-1].startswith("not updated"))
            lines = panel.line_texts()
            assert len(lines) == len(snapshot.gates) + 1
            assert lines[-1] == f"not updated: {latest.analytics_stale}"
            assert "access to candles.symbol is prohibited" in lines[-1]
        await history.stop()
    finally:
        await asyncio.shield(store.close())
