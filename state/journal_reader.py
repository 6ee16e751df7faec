"""The closed-trade journal for analytics, read off the event loop and only as far as it changed.

Before this, every close re-read the whole journal through the async ORM: the rows became ORM
objects on the event loop (0.6-0.9 s of frozen cockpit at 10k trades, 6.6 s at 100k) and the
"missed after exit" join re-read every trade's candle window (12 s with a 1m candle history).

`JournalReader.refresh()` is synchronous and meant for a worker thread (`asyncio.to_thread`): it
opens its own read-only sqlite3 connection (WAL lets it read while the cockpit's writer commits),
and keeps what it read between calls:
- the trades, keyed by id with their `updated_at_ms`: each refresh lists (id, updated_at_ms) of
  the closed trades and fetches whole rows only for ids it has not seen or whose `updated_at_ms`
  changed (a trade closed, or corrected, since the last snapshot); ids that are gone are dropped.
  Equality, not order, of `updated_at_ms` is compared, so a replay clock cannot fool it;
- the after-exit extremes of a trade once its window is closed for good: a bar of the symbol
  that opens at or after the window's end is recorded, so the recorder has moved past it.
  Windows still open (trades closed in the last `missed_window_h` hours) are recomputed on each
  refresh, from their own bars only. A backfill that later fills a gap inside an already closed
  window is seen by the next process (report, restart), not by this cache.

One reader per journal and one refresh at a time (the session's `History` ensures that).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from cockpit.analytics.phases import PhaseStart
from cockpit.analytics.trades import TradeRecord
from cockpit.domain import EXTERNAL_POLICY
from state import after_exit
from state.phase_sql import phase_starts_sync
from state.plan_fields import PLAN_COLUMNS, PLAN_SQL, plan_values
from state.records import TradeStatus

HOUR_MS: Final = 3_600_000
_FETCH_CHUNK: Final = 500
"""Ids per `IN (...)` when fetching changed rows (SQLite's default variable limit is 999+)."""

TRADE_COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "symbol",
    "side",
    "entry_ts_ms",
    "exit_ts_ms",
    "entry_price",
    "exit_price",
    "initial_size",
    "realized_pnl",
    "fees",
    "exit_reason",
    "venue",
    "mode",
    "policy",
    "leverage",
    "mfe_pct",
    "mae_pct",
    "plan_json",
    "quality_score",
    "atr",
    "adx",
    "rsi",
    "volume_ratio",
    "price_position",
    "confidence",
    "regime",
    "strategy",
    "timeframe",
    "ab_group",
    "updated_at_ms",
)

READ_COLUMNS: Final[tuple[str, ...]] = (
    *(c for c in TRADE_COLUMNS if c != "plan_json"),
    *PLAN_COLUMNS,
)
"""A row as the reader selects it: the plan's fields read by SQLite (`state.plan_fields`)."""
_PLAN_AT: Final = len(READ_COLUMNS) - len(PLAN_COLUMNS)
_ID, _SYMBOL, _ENTRY_TS, _EXIT_TS = 0, 1, 3, 4
_STAMP: Final = READ_COLUMNS.index("updated_at_ms")
_SELECT: Final = ", ".join((*(c for c in TRADE_COLUMNS if c != "plan_json"), PLAN_SQL))

_CLOSED: Final = "status = ? AND policy != ?"
_CLOSED_ARGS: Final = (TradeStatus.CLOSED.value, EXTERNAL_POLICY)


class SchemaNotAtHead(RuntimeError):
    """The database file is at another schema revision than this code reads."""


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that waits for a busy writer instead of failing at once."""
    if not path.is_file():
        raise FileNotFoundError(f"no database at {path}")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def stamped_revision(conn: sqlite3.Connection) -> str | None:
    """The Alembic revision the file is at (None: never migrated), read with plain SQL."""
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if has is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


class JournalReader:
    """Closed trades of one SQLite journal as `TradeRecord`s, oldest exit first."""

    def __init__(
        self, path: Path, *, missed_window_h: float = 24.0, account: str | None = None
    ) -> None:
        self._path = path
        # one desk account's trades (None: every account's)
        self._where = _CLOSED + ("" if account is None else " AND account = ?")
        self._args: tuple[str, ...] = _CLOSED_ARGS + (() if account is None else (account,))
        self._window_ms = int(missed_window_h * HOUR_MS)
        self._rows: dict[int, tuple[int, TradeRecord]] = {}
        self._final: set[int] = set()
        """Trades whose after-exit window is closed: their record already holds its extremes."""
        self.fetched_last = 0
        """Trade rows fetched by the last refresh (tests and the bench read it)."""
        self.windows_last = 0
        """After-exit windows computed by the last refresh."""
        self.phases: list[PhaseStart] = []
        """The roadmap phase starts, as of the last refresh (a handful of rows: read each time)."""

    @property
    def path(self) -> Path:
        return self._path

    def _connect(self) -> sqlite3.Connection:
        return connect_read_only(self._path)

    def refresh(self) -> list[TradeRecord]:
        """Bring the cache up to the file and return every closed trade (see the module doc)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")  # one consistent view of trades and candles
            fresh = self._sync_trades(conn)
            self._add_after_exit(conn, fresh)
            self.phases = phase_starts_sync(conn)
            conn.execute("COMMIT")
        finally:
            conn.close()
        records = [record for _, record in self._rows.values()]
        # numpy sorts without holding the GIL, so the event loop runs on during a long sort
        exits = np.fromiter((r.exit_ts_ms for r in records), np.int64, len(records))
        ids = np.fromiter((r.id for r in records), np.int64, len(records))
        order = np.lexsort((ids, exits))
        return [records[i] for i in order.tolist()]

    # ------------------------------------------------------------------ trades
    def _sync_trades(self, conn: sqlite3.Connection) -> dict[int, tuple[int, tuple[Any, ...]]]:
        """Drop trades that are gone; return the rows of those new or changed (by id).
        The first refresh reads every row in one query; later ones list the stamps and fetch
        only the rows that changed."""
        fresh: dict[int, tuple[int, tuple[Any, ...]]] = {}
        if not self._rows:
            rows = conn.execute(f"SELECT {_SELECT} FROM trades WHERE {self._where}", self._args)
            for values in rows:
                fresh[values[_ID]] = (values[_STAMP], values)
            self._final.clear()
            self.fetched_last = len(fresh)
            return fresh
        listed = dict(
            conn.execute(f"SELECT id, updated_at_ms FROM trades WHERE {self._where}", self._args)
        )
        for gone in self._rows.keys() - listed.keys():
            del self._rows[gone]
            self._final.discard(gone)
        stale = [i for i, stamp in listed.items() if self._rows.get(i, (None,))[0] != stamp]
        for start in range(0, len(stale), _FETCH_CHUNK):
            ids = stale[start : start + _FETCH_CHUNK]
            marks = ", ".join("?" * len(ids))
            cursor = conn.execute(f"SELECT {_SELECT} FROM trades WHERE id IN ({marks})", ids)
            for values in cursor:
                fresh[values[_ID]] = (values[_STAMP], values)
                self._final.discard(values[_ID])
        self.fetched_last = len(fresh)
        return fresh

    # ------------------------------------------------------------------ after-exit windows
    def _add_after_exit(
        self, conn: sqlite3.Connection, fresh: dict[int, tuple[int, tuple[Any, ...]]]
    ) -> None:
        """Give the fresh rows, and the cached trades whose window is still open, their
        after-exit extremes; mark the windows that are now closed for good."""
        reopened = [i for i in self._rows if i not in fresh and i not in self._final]
        recorded = after_exit.series(conn) if (fresh or reopened) else {}
        windows = []
        for trade_id, (_, row) in fresh.items():
            symbol, exit_ts = row[_SYMBOL], row[_EXIT_TS] or row[_ENTRY_TS]
            if symbol in recorded:
                windows.append(
                    after_exit.Window(trade_id, symbol, exit_ts, exit_ts + self._window_ms)
                )
        for trade_id in reopened:
            trade = self._rows[trade_id][1]
            if trade.symbol in recorded:
                end = trade.exit_ts_ms + self._window_ms
                windows.append(after_exit.Window(trade_id, trade.symbol, trade.exit_ts_ms, end))
        # a trade whose symbol has no bar at all has nothing after its exit (yet): no window
        self.windows_last = len(windows)
        answers = after_exit.extremes(conn, windows, recorded) if windows else {}
        newest = {
            symbol: after_exit.latest_bar_ms(conn, symbol, recorded[symbol])
            for symbol in {w.symbol for w in windows}
        }
        closed_for_good = []
        for window in windows:
            latest = newest[window.symbol]
            if latest is not None and latest >= window.end_ms:
                closed_for_good.append(window.key)
        # Only now, with every answer in hand, is the cache changed: a read that failed above
        # leaves it as it was, and the next refresh fetches the same rows again.
        for trade_id, (stamp, row) in fresh.items():
            high, low = answers.get(trade_id, (None, None))
            self._rows[trade_id] = (stamp, record_from_values(row, high, low))
        for trade_id in reopened:
            stamp, record = self._rows[trade_id]
            high, low = answers.get(trade_id, (None, None))
            if high != record.after_exit_high or low != record.after_exit_low:
                record = dataclasses.replace(record, after_exit_high=high, after_exit_low=low)
                self._rows[trade_id] = (stamp, record)
        self._final.update(closed_for_good)


def read_all(path: Path, *, missed_window_h: float) -> list[TradeRecord]:
    """Every closed trade of the file, read once (`cockpit report`)."""
    return JournalReader(path, missed_window_h=missed_window_h).refresh()


def record_from_row(
    row: Mapping[str, Any], after_high: float | None, after_low: float | None
) -> TradeRecord:
    """One `trades` row (its `TRADE_COLUMNS`, an ORM row's, or `READ_COLUMNS`) as analytics
    sees it; see `state.journal` for how imported rows store what the table cannot hold (an
    unrecorded MFE, a TP2 level)."""
    return record_from_values(tuple(row.get(c) for c in READ_COLUMNS), after_high, after_low)


def record_from_values(
    v: Sequence[Any], after_high: float | None, after_low: float | None
) -> TradeRecord:
    """`record_from_row` of a row as the reader selects it (`READ_COLUMNS`, by position: no
    mapping per row on a 100k-trade read). The fields are in `TradeRecord`'s order."""
    tp2, stop, mfe_recorded, mae_recorded = plan_values(*v[_PLAN_AT:])
    entry_ts, exit_ts, entry_price, exit_price = v[3], v[4], v[5], v[6]
    fields: list[Any] = [
        *v[:4],  # id, symbol, side, entry_ts_ms
        exit_ts if exit_ts is not None else entry_ts,
        entry_price,
        exit_price if exit_price is not None else entry_price,
        *v[7:15],  # initial_size .. leverage
        v[15] if mfe_recorded else None,
        v[16] if mae_recorded else None,
        tp2,
        *v[17:28],  # quality_score .. ab_group
        None if after_high is None else float(after_high),
        None if after_low is None else float(after_low),
        stop,
    ]
    return TradeRecord(*fields)


def columns_of(obj: object, names: Iterable[str] = TRADE_COLUMNS) -> dict[str, Any]:
    """An ORM `Trade`'s columns as the mapping `record_from_row` reads."""
    return {name: getattr(obj, name) for name in names}
