"""Reads for one trade's detail screen: its row with the frozen plan, and its audit rows.

Orders, fills, stop moves and candles have their reads on `Store` already; these two are what
the detail adds. Read-only, through `Store.read_session` (the extension point for state modules).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cockpit.domain import ExitPlan
from state.mapping import audit_record, trade_summary
from state.models import AuditEvent, Trade
from state.records import AuditRecord, TradeSummary
from state.store import Store


@dataclass(frozen=True, slots=True)
class TradeWithPlan:
    summary: TradeSummary
    plan: ExitPlan
    leverage: float
    stop_price: float


async def trade_with_plan(store: Store, trade_id: int) -> TradeWithPlan | None:
    """The trade's summary and the plan frozen at its entry; None if there is no such trade."""
    async with store.read_session() as session:
        trade = await session.get(Trade, trade_id)
        if trade is None:
            return None
        return TradeWithPlan(
            trade_summary(trade),
            ExitPlan.from_json(trade.plan_json),
            trade.leverage,
            trade.stop_price,
        )


async def audit_for(store: Store, trade_id: int) -> list[AuditRecord]:
    """The trade's audit rows (refusals, confirmations, manual actions), oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.trade_id == trade_id)
        .order_by(AuditEvent.ts_ms, AuditEvent.id)
    )
    async with store.read_session() as session:
        return [audit_record(row) for row in (await session.scalars(query)).all()]
