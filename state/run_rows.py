"""The `replay_runs` table (migration 0016): each replay of a file is a run with its own id.

A run's trades are the ones opened while it ran: ids above its `after_trade_id` (the last trade
id on record when it began). A new run of a file marks the account's earlier unfinished runs
`stopped` (the cockpit quit before their data ended), so at most one run is `running`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.analytics.trades import TradeRecord
from cockpit.domain import EXTERNAL_POLICY
from state.journal import trade_record
from state.models import ReplayRunRow, Trade
from state.records import TradeStatus
from state.store import Store

RUNNING, FINISHED, STOPPED = "running", "finished", "stopped"


@dataclass(frozen=True, slots=True)
class ReplayRunRecord:
    """One run as read back (the newest first in `replay_runs`)."""

    id: int
    source: str
    started_at_ms: int
    after_trade_id: int
    status: str
    data_end_ms: int | None
    trades: int | None
    net_pnl: float | None
    summary: str | None


async def begin_run(store: Store, source: str, *, after_trade_id: int, now_ms: int) -> int:
    """Record a new run of `source` and return its id; earlier running runs become stopped."""

    async def work(session: AsyncSession) -> int:
        await session.execute(
            update(ReplayRunRow)
            .where(and_(ReplayRunRow.status == RUNNING, ReplayRunRow.account == store.account))
            .values(status=STOPPED)
        )
        row = ReplayRunRow(
            source=source[:512],
            started_at_ms=now_ms,
            after_trade_id=after_trade_id,
            status=RUNNING,
        )
        session.add(row)
        await session.flush()
        return row.id

    return await store.run_write(work)


async def finish_run(
    store: Store, run_id: int, *, data_end_ms: int | None, trades: int, net_pnl: float, summary: str
) -> None:
    """The run's data ended: store what it came to."""

    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(ReplayRunRow)
            .where(ReplayRunRow.id == run_id)
            .values(
                status=FINISHED,
                data_end_ms=data_end_ms,
                trades=trades,
                net_pnl=net_pnl,
                summary=summary,
            )
        )

    await store.run_write(work)


async def replay_runs(store: Store, limit: int = 50) -> list[ReplayRunRecord]:
    """This account's runs, newest first."""
    query = (
        select(ReplayRunRow)
        .where(ReplayRunRow.account == store.account)
        .order_by(ReplayRunRow.id.desc())
        .limit(limit)
    )
    async with store.read_session() as session:
        rows = (await session.scalars(query)).all()
    return [
        ReplayRunRecord(
            id=r.id,
            source=r.source,
            started_at_ms=r.started_at_ms,
            after_trade_id=r.after_trade_id,
            status=r.status,
            data_end_ms=r.data_end_ms,
            trades=r.trades,
            net_pnl=r.net_pnl,
            summary=r.summary,
        )
        for r in rows
    ]


async def run_trade_records(store: Store, after_trade_id: int) -> list[TradeRecord]:
    """The closed trades a run opened (ids above `after_trade_id`), as analytics sees them,
    oldest exit first; adopted venue positions are not the strategy's and are left out."""
    query = (
        select(Trade)
        .where(
            and_(
                Trade.id > after_trade_id,
                Trade.status == TradeStatus.CLOSED.value,
                Trade.policy != EXTERNAL_POLICY,
                Trade.account == store.account,
            )
        )
        .order_by(Trade.exit_ts_ms, Trade.id)
    )
    async with store.read_session() as session:
        trades = (await session.scalars(query)).all()
    return [trade_record(t, None, None) for t in trades]
