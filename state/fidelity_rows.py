"""LIVE-SMALL fills with their paper twins (migrations 0015, 0017), for the fidelity analytics.

One query, the same text for the read-only sqlite3 connection of `cockpit report` and the
journal reader, and for the store on any engine. Live trades are few (live-small limits), so
the fills are read whole on every analytics refresh, in the refresh's worker.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import text

from cockpit.analytics.fidelity import LiveFill
from cockpit.domain import EXTERNAL_POLICY, Mode
from state.store import Store

_SQL = (
    "SELECT f.trade_id, t.symbol, f.side, f.size, f.reason, f.price, f.fee, f.ts_ms, "
    "f.paper_price, f.paper_fee, f.paper_ts_ms, f.paper_missing "
    "FROM fills f JOIN trades t ON t.id = f.trade_id "
    "WHERE t.mode = :mode AND t.policy != :external{account} ORDER BY f.id"
)


def _query(account: str | None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"mode": Mode.LIVE_SMALL.value, "external": EXTERNAL_POLICY}
    if account is not None:
        params["account"] = account
    return _SQL.format(account="" if account is None else " AND t.account = :account"), params


def _fill(row: Any) -> LiveFill:
    tid, symbol, side, size, reason, price, fee, ts, p_price, p_fee, p_ts, missing = row
    return LiveFill(
        int(tid),
        str(symbol),
        str(side),
        float(size),
        str(reason),
        float(price),
        float(fee),
        int(ts),
        None if p_price is None else float(p_price),
        None if p_fee is None else float(p_fee),
        None if p_ts is None else int(p_ts),
        None if missing is None else str(missing),
    )


def live_fills_sync(conn: sqlite3.Connection, account: str | None = None) -> list[LiveFill]:
    sql, params = _query(account)
    return [_fill(row) for row in conn.execute(sql, params)]


def live_fills_at(path: Path, account: str | None = None) -> list[LiveFill]:
    """The live fills of a SQLite file, read through a read-only connection."""
    from state.journal_reader import connect_read_only

    conn = connect_read_only(path)
    try:
        return live_fills_sync(conn, account)
    finally:
        conn.close()


async def live_fills(store: Store, account: str | None = None) -> list[LiveFill]:
    sql, params = _query(account)
    async with store.read_session() as session:
        return [_fill(row) for row in (await session.execute(text(sql), params)).all()]
