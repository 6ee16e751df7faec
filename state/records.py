"""Plain, frozen read models the UI and analytics render without touching the ORM.

A record is a copy taken inside a read session: no lazy loading, no session lifetime to manage,
safe to hand to another task or thread. Enum-typed fields use the domain's `StrEnum`s (and
`cockpit.orders.OrderStatus`, re-exported here), which compare and format as their string values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cockpit.domain import Mode, OrderSide, PaperQuote, Side, StopRole
from cockpit.orders import OrderStatus

__all__ = [
    "AlertRecord",
    "AuditRecord",
    "FillRecord",
    "ModeChangeRecord",
    "OrderRecord",
    "OrderStatus",
    "StopMoveRecord",
    "TradeStatus",
    "TradeSummary",
]


class TradeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class TradeSummary:
    """One trade as the history table shows it; exit fields are None while it is open."""

    id: int
    symbol: str
    side: Side
    mode: Mode
    venue: str
    status: TradeStatus
    entry_price: float
    exit_price: float | None
    initial_size: float
    realized_pnl: float
    fees: float
    exit_reason: str | None
    entry_ts_ms: int
    exit_ts_ms: int | None
    mfe_pct: float
    mae_pct: float
    policy: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit row: who did what, why, and (as JSON) what was in force at the time."""

    id: int
    ts_ms: int
    kind: str
    who: str
    action: str
    reason: str
    detail_json: str | None
    trade_id: int | None


@dataclass(frozen=True, slots=True)
class ModeChangeRecord:
    id: int
    ts_ms: int
    from_mode: str
    to_mode: str
    who: str
    reason: str
    limits_json: str | None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    ts_ms: int
    level: str
    message: str


@dataclass(frozen=True, slots=True)
class FillRecord:
    id: int
    trade_id: int
    order_id: int
    client_order_id: str
    side: OrderSide
    size: float
    price: float
    fee: float
    ts_ms: int
    price_source: str
    reduce_only: bool
    reason: str
    trigger_source: str | None = None
    paper_price: float | None = None
    paper_fee: float | None = None
    paper_ts_ms: int | None = None
    paper_missing: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    id: int
    client_order_id: str
    trade_id: int | None
    symbol: str
    side: OrderSide
    size: float
    reduce_only: bool
    reason: str
    leverage: float
    mode: Mode
    venue: str
    status: OrderStatus
    error: str | None
    created_at_ms: int
    updated_at_ms: int
    order_type: str = "market"
    user_order_id: int | None = None
    trigger_price: float | None = None
    tx_sig: str | None = None
    intent_json: str | None = None
    """What must happen when the order fills (JSON, written with the intent row), so a restart
    can resume it; None for rows that need nothing beyond the fill itself."""
    paper: PaperQuote | None = None
    """A LIVE-SMALL order's paper price on the tick it was decided on (its fill's twin)."""


@dataclass(frozen=True, slots=True)
class StopMoveRecord:
    id: int
    trade_id: int
    ts_ms: int
    old_price: float
    new_price: float
    role: StopRole
    reason: str
    who: str
