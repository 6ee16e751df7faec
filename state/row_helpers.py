"""What the store's row modules share: steps inside a writer job's session, the read accessor type.

Nothing here commits or queues: each helper works on the session (or the row) it is handed, so
the writer job that calls it stays one transaction, committed or rolled back as a whole. Order
status changes go through `move_status` only, so every one of them is checked against
`cockpit.orders.TRANSITIONS`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Executable, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import Fill, PositionState
from cockpit.orders import IllegalTransition, transition
from state.errors import NotFoundError
from state.models import FillRow, Order, Trade
from state.records import OrderStatus
from state.writer import Work

# The store's log: a refused status write is the store's refusal, whichever module holds the code
# (operators and tests filter on this name).
log = logging.getLogger("state.store")

M = TypeVar("M", Order, Trade)

# `Store._all`: run a select on a fresh read session and return its rows (a closed store raises).
ReadAll = Callable[[Executable], Awaitable[list[Any]]]


async def get_row(session: AsyncSession, model: type[M], row_id: int) -> M:
    row = await session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"no {model.__tablename__} row with id {row_id}")
    return row


def require_trade_id(position: PositionState) -> int:
    if position.trade_id is None:
        raise ValueError("position has no trade_id: record_open must come first")
    return position.trade_id


def check_fill_matches(order: Order, fill: Fill) -> None:
    """A fill stored under the wrong order would corrupt the audit trail: refuse it."""
    if fill.client_order_id != order.client_order_id:
        raise ValueError(
            f"fill for {fill.client_order_id!r} does not belong to order {order.id} "
            f"({order.client_order_id!r})"
        )


def mark_filled(order: Order, trade_id: int, now_ms: int) -> None:
    """The order's fill arrived: link it to the trade and move it to `filled` via the table.

    A SHADOW row goes `would_submit -> filled` (its mode and venue still say it was a paper
    fill of a would-be submission). A row still at `intent` belongs to a broker that sends and
    fills in one call (the paper broker in a live mode, a venue-exit row recorded with its
    fill): the fill proves the order reached the venue, so the store records that step too,
    `intent -> submitted -> filled`, each checked. Anything else (a second fill of a filled
    order, a fill of a failed one) raises IllegalTransition and the whole write rolls back.
    """
    if order.trade_id is not None and order.trade_id != trade_id:
        raise ValueError(f"order {order.id} belongs to trade {order.trade_id}, not {trade_id}")
    if order.status == OrderStatus.INTENT:
        move_status(order, OrderStatus.SUBMITTED)
    move_status(order, OrderStatus.FILLED)
    order.trade_id = trade_id
    order.updated_at_ms = now_ms


def move_status(order: Order, new: OrderStatus) -> None:
    """Set `order.status` to `new` if the lifecycle table allows it from where the row is;
    otherwise log it (the row id and both states) and raise IllegalTransition, so the caller's
    transaction rolls back and the row keeps its last legal state."""
    try:
        order.status = transition(order.status, new, order=order.id).value
    except IllegalTransition:
        log.error(
            "order %s (%s): illegal status transition %s -> %s refused, row left as it was",
            order.id,
            order.client_order_id,
            order.status,
            new.value,
        )
        raise


async def weighted_exit_price(session: AsyncSession, trade_id: int, fallback: float) -> float:
    """Size-weighted average price of the trade's reduce-only (exit) fills."""
    total_size, total_notional = (
        await session.execute(
            select(func.sum(FillRow.size), func.sum(FillRow.size * FillRow.price)).where(
                FillRow.trade_id == trade_id, FillRow.reduce_only.is_(True)
            )
        )
    ).one()
    if not total_size:
        return fallback
    return float(total_notional) / float(total_size)


def adder(row: object) -> Work[None]:
    """A writer job that adds `row` (a new audit, alert or mode-change row)."""

    async def work(session: AsyncSession) -> None:
        session.add(row)

    return work


def merger(row: object) -> Work[None]:
    """A writer job that inserts or overwrites `row` by its primary key (settings)."""

    async def work(session: AsyncSession) -> None:
        await session.merge(row)

    return work
