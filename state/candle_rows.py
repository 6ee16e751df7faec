"""Candles: bars upserted by (symbol, timeframe, ts_ms) and read back in time order.

`Store.upsert_candles` and `Store.candles` stay the public calls; the writer job and the query
are built here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import Candle
from state.mapping import candle_from_row, candle_values
from state.models import CandleRow
from state.row_helpers import ReadAll
from state.writer import Work

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

_CANDLE_KEY = ("symbol", "timeframe", "ts_ms")
_CANDLE_VALUES = ("open", "high", "low", "close", "volume", "source")


def candle_rows(candles: Sequence[Candle], source: str) -> list[dict[str, Any]]:
    """One row of values per key; duplicate keys in the batch keep the last bar (PostgreSQL
    refuses to touch a row twice in one statement)."""
    by_key = {(c.symbol, c.timeframe, c.ts_ms): candle_values(c, source) for c in candles}
    return list(by_key.values())


def upsert_work(dialect: str, rows: list[dict[str, Any]]) -> Work[int]:
    """The job that inserts or overwrites `rows`; returns how many there were."""

    async def work(session: AsyncSession) -> int:
        await upsert_candles(session, dialect, rows)
        return len(rows)

    return work


async def upsert_candles(session: AsyncSession, dialect: str, rows: list[dict[str, Any]]) -> None:
    """Native INSERT .. ON CONFLICT DO UPDATE where the dialect has it, merge() elsewhere."""
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else _postgresql_insert()
        stmt = insert(CandleRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_CANDLE_KEY),
            set_={name: stmt.excluded[name] for name in _CANDLE_VALUES},
        )
        await session.execute(stmt, rows)
        return
    for values in rows:
        await session.merge(CandleRow(**values))


def _postgresql_insert() -> Callable[[type[CandleRow]], postgresql.Insert]:
    """PostgreSQL's INSERT, imported when a PostgreSQL journal writes: its module imports
    asyncpg's adapter, tens of ms on every start of a SQLite cockpit otherwise."""
    from sqlalchemy.dialects import postgresql

    return postgresql.insert


async def candles(
    read_all: ReadAll, symbol: str, timeframe: str, since_ms: int | None, limit: int
) -> list[Candle]:
    """Bars in ascending time: the first `limit` from `since_ms` on, or, without `since_ms`,
    the latest `limit`."""
    query = select(CandleRow).where(CandleRow.symbol == symbol, CandleRow.timeframe == timeframe)
    if since_ms is not None:
        query = query.where(CandleRow.ts_ms >= since_ms).order_by(CandleRow.ts_ms)
        rows = await read_all(query.limit(limit))
    else:
        newest = query.order_by(CandleRow.ts_ms.desc()).limit(limit)
        rows = list(reversed(await read_all(newest)))
    return [candle_from_row(r) for r in rows]
