"""Trades, their fills and their stop moves: the writer jobs and reads behind `Store`'s trade calls.

`Store` keeps the public methods (`record_open`, `record_exit_fill`, `record_adopted`,
`record_stop_move`, `open_positions`, ...) and what they do to the snapshot buffer before
anything is queued; the transaction each one runs, and each query, is built here. A builder
copies the position it is given, so the job writes the position as it was at the call, whatever
the caller does to it afterwards.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import Fill, Mode, PositionState, StopRole
from state.mapping import (
    entry_fields,
    feature_values,
    fill_record,
    fill_row,
    live_fields,
    position_from_trade,
    stop_move_record,
    trade_summary,
)
from state.models import FillRow, Order, StopMove, Trade
from state.records import FillRecord, StopMoveRecord, TradeStatus, TradeSummary
from state.row_helpers import (
    ReadAll,
    check_fill_matches,
    get_row,
    mark_filled,
    weighted_exit_price,
)
from state.writer import Work


def adopted_work(position: PositionState, clock: Callable[[], int]) -> Work[int]:
    """The job that stores a venue position the database did not know (see
    `Store.record_adopted`) and returns its trade id."""
    snapshot = copy.copy(position)
    now = clock()

    async def work(session: AsyncSession) -> int:
        trade = Trade(
            **entry_fields(snapshot, None),
            **live_fields(snapshot),
            status=TradeStatus.OPEN.value,
            updated_at_ms=now,
        )
        session.add(trade)
        await session.flush()
        return trade.id

    return work


def open_work(
    order_id: int,
    fill: Fill,
    position: PositionState,
    features: dict[str, object] | None,
    clock: Callable[[], int],
) -> Work[int]:
    """The job that stores a new trade from its entry fill (see `Store.record_open`): trade row,
    fill row and the order marked filled and linked, in one transaction; returns the trade id."""
    features_row = feature_values(features)
    snapshot = copy.copy(position)
    now = clock()

    async def work(session: AsyncSession) -> int:
        order = await get_row(session, Order, order_id)
        check_fill_matches(order, fill)
        trade = Trade(
            **entry_fields(snapshot, fill),
            **live_fields(snapshot),
            **features_row,
            status=TradeStatus.OPEN.value,
            updated_at_ms=now,
        )
        session.add(trade)
        await session.flush()
        session.add(fill_row(fill, trade_id=trade.id, order_id=order.id))
        mark_filled(order, trade.id, now)
        return trade.id

    return work


def exit_fill_work(
    trade_id: int, order_id: int, fill: Fill, position: PositionState, clock: Callable[[], int]
) -> Work[None]:
    """The job that stores an exit fill and the position after it (see
    `Store.record_exit_fill`). On close, exit_price is the size-weighted average of all the
    trade's reduce-only fills; exit_ts_ms and exit_reason come from this (final) fill."""
    snapshot = copy.copy(position)
    now = clock()

    async def work(session: AsyncSession) -> None:
        order = await get_row(session, Order, order_id)
        check_fill_matches(order, fill)
        trade = await get_row(session, Trade, trade_id)
        if trade.status != TradeStatus.OPEN:
            raise ValueError(f"trade {trade_id} is already {trade.status}")
        session.add(fill_row(fill, trade_id=trade_id, order_id=order.id))
        mark_filled(order, trade_id, now)
        for name, value in live_fields(snapshot).items():
            setattr(trade, name, value)
        trade.updated_at_ms = now
        if snapshot.closed:
            await session.flush()
            trade.exit_price = await weighted_exit_price(session, trade_id, fill.price)
            trade.exit_ts_ms = fill.ts_ms
            trade.exit_reason = fill.reason
            trade.status = TradeStatus.CLOSED.value

    return work


def stop_move_work(
    trade_id: int,
    *,
    old: float,
    new: float,
    role: StopRole,
    reason: str,
    who: str,
    ts_ms: int,
    now_ms: int,
) -> Work[None]:
    """The job that audits a stop move and puts the new stop on the trade while it is open
    (see `Store.record_stop_move`)."""

    async def work(session: AsyncSession) -> None:
        trade = await get_row(session, Trade, trade_id)
        session.add(
            StopMove(
                trade_id=trade_id,
                ts_ms=ts_ms,
                old_price=old,
                new_price=new,
                role=role.value,
                reason=reason,
                who=who,
            )
        )
        if trade.status == TradeStatus.OPEN:
            trade.stop_price = new
            trade.stop_role = role.value
            trade.updated_at_ms = now_ms

    return work


# ---------------------------------------------------------------------- reads
async def open_positions(read_all: ReadAll, account: str) -> list[PositionState]:
    """Every open trade of `account` rebuilt as a PositionState, oldest first."""
    query = (
        select(Trade)
        .where(Trade.status == TradeStatus.OPEN.value, Trade.account == account)
        .order_by(Trade.id)
    )
    return [position_from_trade(t) for t in await read_all(query)]


async def closed_trades(
    read_all: ReadAll,
    limit: int,
    mode: Mode | None,
    account: str,
    after_id: int | None = None,
) -> list[TradeSummary]:
    """Closed trades of `account`, newest exit first, of `mode` when given, with an id above
    `after_id` when given (a session's own trades: those opened since it started); in SQL."""
    query = select(Trade).where(Trade.status == TradeStatus.CLOSED.value, Trade.account == account)
    if mode is not None:
        query = query.where(Trade.mode == mode.value)
    if after_id is not None:
        query = query.where(Trade.id > after_id)
    query = query.order_by(Trade.exit_ts_ms.desc(), Trade.id.desc()).limit(limit)
    return [trade_summary(t) for t in await read_all(query)]


async def last_trade_id(read_all: ReadAll) -> int:
    """The highest trade id so far (0 for an empty journal)."""
    found = await read_all(select(func.max(Trade.id)))
    return int(found[0] or 0) if found else 0


async def fills_for(read_all: ReadAll, trade_id: int) -> list[FillRecord]:
    query = select(FillRow).where(FillRow.trade_id == trade_id).order_by(FillRow.ts_ms, FillRow.id)
    return [fill_record(f) for f in await read_all(query)]


async def stop_moves_for(read_all: ReadAll, trade_id: int) -> list[StopMoveRecord]:
    query = (
        select(StopMove).where(StopMove.trade_id == trade_id).order_by(StopMove.ts_ms, StopMove.id)
    )
    return [stop_move_record(m) for m in await read_all(query)]
