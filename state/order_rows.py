"""The orders table: an order's row from its intent to its end, and the reads over it.

`Store` keeps the public methods (`record_order_intent`, `record_order_state`, `venue_orders`,
...) and decides when a write runs: through its single writer, so an awaited write is committed
when it returns. What each write does is built here as a writer job (`Work`); a bad request is
refused while the job is built, before anything is queued. Reads take the store's read accessors,
so a closed store refuses them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import Mode, OrderRequest, PaperQuote
from cockpit.orders import FINAL
from state.mapping import order_record, order_row
from state.models import Order
from state.records import OrderRecord, OrderStatus
from state.row_helpers import ReadAll, get_row, move_status
from state.writer import Work

INTENT_STATUSES = (OrderStatus.INTENT, OrderStatus.WOULD_SUBMIT)
# Sent or about to be, and not over; a resting stop (`open`) is not "unfinished", it is the
# stop doing its job.
UNFINISHED_STATUSES = (
    OrderStatus.INTENT,
    OrderStatus.WOULD_SUBMIT,
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED,
)
ORDER_TYPES = ("market", "stop")


# ---------------------------------------------------------------------- writes (writer jobs)
def intent_work(
    order: OrderRequest,
    *,
    mode: Mode,
    venue: str,
    status: str,
    order_type: str,
    user_order_id: int | None,
    trigger_price: float | None,
    intent_json: str | None,
    clock: Callable[[], int],
    paper: PaperQuote | None = None,
) -> Work[int]:
    """The job that inserts an order's first row and returns its id (see
    `Store.record_order_intent`); a status other than intent/would_submit or an unknown
    order type raises ValueError here, before the clock is read or anything is queued."""
    order_status = OrderStatus(status)
    if order_status not in INTENT_STATUSES:
        raise ValueError(f"an order starts as intent or would_submit, not {status!r}")
    if order_type not in ORDER_TYPES:
        raise ValueError(f"order_type must be one of {ORDER_TYPES}, not {order_type!r}")
    row_mode, now = Mode(mode), clock()

    async def work(session: AsyncSession) -> int:
        row = order_row(
            order,
            mode=row_mode,
            venue=venue,
            status=order_status,
            now_ms=now,
            order_type=order_type,
            user_order_id=user_order_id,
            trigger_price=trigger_price,
            intent_json=intent_json,
            paper=paper,
        )
        session.add(row)
        await session.flush()
        return row.id

    return work


def state_work(
    order_id: int,
    status: str,
    *,
    error: str | None,
    trigger_price: float | None,
    tx_sig: str | None,
    user_order_id: int | None,
    clock: Callable[[], int],
) -> Work[None]:
    """The job that moves an order to `status` along the lifecycle table (see
    `Store.record_order_state`): fields left None keep their value; an illegal move raises
    IllegalTransition in the job, so nothing of it is written."""
    order_status = OrderStatus(status)
    now = clock()

    async def work(session: AsyncSession) -> None:
        order = await get_row(session, Order, order_id)
        move_status(order, order_status)
        order.error = error
        if trigger_price is not None:
            order.trigger_price = trigger_price
        if tx_sig is not None:
            order.tx_sig = tx_sig
        if user_order_id is not None:
            order.user_order_id = user_order_id
        order.updated_at_ms = now

    return work


def final_status(status: str) -> OrderStatus:
    """`status` as a final state, for `Store.resolve_order`; a live one raises ValueError."""
    order_status = OrderStatus(status)
    if order_status not in FINAL:
        raise ValueError(
            f"an order is resolved to a final state "
            f"({', '.join(sorted(s.value for s in FINAL))}), not {order_status.value!r}"
        )
    return order_status


# ---------------------------------------------------------------------- reads
async def venue_orders(
    read_all: ReadAll, venue: str, statuses: Sequence[OrderStatus], account: str
) -> list[OrderRecord]:
    """The venue's orders of `account` in `statuses`, oldest first."""
    query = (
        select(Order)
        .where(
            Order.venue == venue,
            Order.status.in_([s.value for s in statuses]),
            Order.account == account,
        )
        .order_by(Order.id)
    )
    return [order_record(o) for o in await read_all(query)]


async def unfinished_orders(
    read_all: ReadAll, venue: str | None, account: str
) -> list[OrderRecord]:
    """Orders of `account` in `UNFINISHED_STATUSES`, oldest first, of `venue` when given."""
    query = select(Order).where(
        Order.status.in_([s.value for s in UNFINISHED_STATUSES]), Order.account == account
    )
    if venue is not None:
        query = query.where(Order.venue == venue)
    return [order_record(o) for o in await read_all(query.order_by(Order.id))]


async def one_order(read: Callable[[], AsyncSession], order_id: int) -> OrderRecord:
    """One order row; NotFoundError when there is none."""
    async with read() as session:
        return order_record(await get_row(session, Order, order_id))


async def orders_for(read_all: ReadAll, trade_id: int) -> list[OrderRecord]:
    """The trade's orders, oldest first."""
    query = select(Order).where(Order.trade_id == trade_id).order_by(Order.id)
    return [order_record(o) for o in await read_all(query)]
