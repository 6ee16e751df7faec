"""Translation between domain values and rows, in one place so reads and writes cannot drift.

`live_fields` is the contract for what "the position's state" means in the trades table: the
throttled snapshots, exit fills and the restore after a restart all go through it and its inverse
`position_from_trade`, so a field added to one side and not the other shows up in one test.
"""

from __future__ import annotations

from typing import Any

from cockpit.domain import (
    Candle,
    ExitPlan,
    Fill,
    Mode,
    OrderRequest,
    OrderSide,
    PaperQuote,
    PositionState,
    Side,
    StopRole,
)
from state.models import (
    NUMERIC_FEATURES,
    TEXT_FEATURES,
    Alert,
    AuditEvent,
    CandleRow,
    FillRow,
    ModeChange,
    Order,
    StopMove,
    Trade,
)
from state.records import (
    AlertRecord,
    AuditRecord,
    FillRecord,
    ModeChangeRecord,
    OrderRecord,
    OrderStatus,
    StopMoveRecord,
    TradeStatus,
    TradeSummary,
)


def live_fields(position: PositionState) -> dict[str, Any]:
    """The trades columns that change while a position is open."""
    return {
        "size": position.size,
        "stop_price": position.stop,
        "stop_role": position.stop_role.value,
        "tp1_filled": position.tp1_filled,
        "tp2_filled": position.tp2_filled,
        "trailing_active": position.trailing_active,
        "breakeven_done": position.breakeven_done,
        "profit_lock_done": position.profit_lock_done,
        "trail_paused": position.trail_paused,
        "trail_mult": position.trail_mult,
        "ambiguous_bars": position.ambiguous_bars,
        "peak": position.peak,
        "mfe_pct": position.mfe_pct,
        "mae_pct": position.mae_pct,
        "mfe_quote": position.mfe_quote,
        "mae_quote": position.mae_quote,
        "last_price": position.last_price,
        "realized_pnl": position.realized_pnl,
        "fees": position.fees,
    }


def entry_fields(position: PositionState, fill: Fill | None) -> dict[str, Any]:
    """The trades columns fixed at entry (the plan is frozen, DESIGN.md section 2); `fill` is
    None for a position adopted from the venue, which the cockpit did not open."""
    return {
        "symbol": position.symbol,
        "side": position.side.value,
        "mode": position.mode.value,
        "venue": position.venue,
        "entry_price": position.entry,
        "entry_ts_ms": position.opened_ms or (fill.ts_ms if fill is not None else 0),
        "initial_size": position.initial_size,
        "leverage": position.leverage,
        "policy": position.plan.policy,
        "plan_json": position.plan.to_json(),
    }


def feature_values(features: dict[str, object] | None) -> dict[str, float | str | None]:
    """Validate signal features against the schema's feature columns.

    Unknown names and wrong types raise instead of being dropped: a feature that silently never
    reaches the database would skew every decision gate computed from it later.
    """
    if not features:
        return {}
    unknown = sorted(set(features) - set(NUMERIC_FEATURES) - set(TEXT_FEATURES))
    if unknown:
        raise ValueError(f"unknown signal features: {', '.join(unknown)}")
    values: dict[str, float | str | None] = {}
    for name, value in features.items():
        if value is None:
            values[name] = None
        elif name in NUMERIC_FEATURES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"feature {name} must be a number, got {type(value).__name__}")
            values[name] = float(value)
        else:
            if not isinstance(value, str):
                raise TypeError(f"feature {name} must be a string, got {type(value).__name__}")
            values[name] = value
    return values


def order_row(
    order: OrderRequest,
    *,
    mode: Mode,
    venue: str,
    status: OrderStatus,
    now_ms: int,
    order_type: str = "market",
    user_order_id: int | None = None,
    trigger_price: float | None = None,
    intent_json: str | None = None,
    paper: PaperQuote | None = None,
) -> Order:
    return Order(
        order_type=order_type,
        user_order_id=user_order_id,
        trigger_price=trigger_price,
        intent_json=intent_json,
        paper_price=None if paper is None else paper.price,
        paper_ts_ms=None if paper is None else paper.ts_ms,
        client_order_id=order.client_order_id,
        trade_id=order.trade_id,
        symbol=order.symbol,
        side=order.side.value,
        size=order.size,
        reduce_only=order.reduce_only,
        reason=order.reason,
        leverage=order.leverage,
        mode=mode.value,
        venue=venue,
        status=status.value,
        error=None,
        created_at_ms=now_ms,
        updated_at_ms=now_ms,
    )


def fill_row(fill: Fill, *, trade_id: int, order_id: int) -> FillRow:
    return FillRow(
        trade_id=trade_id,
        order_id=order_id,
        client_order_id=fill.client_order_id,
        side=fill.side.value,
        size=fill.size,
        price=fill.price,
        fee=fill.fee,
        ts_ms=fill.ts_ms,
        price_source=fill.price_source,
        reduce_only=fill.reduce_only,
        reason=fill.reason,
        trigger_source=fill.trigger_source,
        paper_price=None if fill.paper is None else fill.paper.price,
        paper_fee=None if fill.paper is None else fill.paper.fee,
        paper_ts_ms=None if fill.paper is None else fill.paper.ts_ms,
        paper_missing=fill.paper_missing,
    )


def candle_values(candle: Candle, source: str) -> dict[str, Any]:
    return {
        "symbol": candle.symbol,
        "timeframe": candle.timeframe,
        "ts_ms": candle.ts_ms,
        "open": candle.open,
        "high": candle.high,
        "low": candle.low,
        "close": candle.close,
        "volume": candle.volume,
        "source": source,
    }


def position_from_trade(trade: Trade) -> PositionState:
    """Rebuild the live position exactly as it was last written (plan from its frozen JSON)."""
    return PositionState(
        symbol=trade.symbol,
        side=Side(trade.side),
        entry=trade.entry_price,
        initial_size=trade.initial_size,
        size=trade.size,
        leverage=trade.leverage,
        plan=ExitPlan.from_json(trade.plan_json),
        stop=trade.stop_price,
        stop_role=StopRole(trade.stop_role),
        opened_ms=trade.entry_ts_ms,
        trade_id=trade.id,
        mode=Mode(trade.mode),
        venue=trade.venue,
        tp1_filled=trade.tp1_filled,
        tp2_filled=trade.tp2_filled,
        trailing_active=trade.trailing_active,
        breakeven_done=trade.breakeven_done,
        profit_lock_done=trade.profit_lock_done,
        trail_paused=trade.trail_paused,
        trail_mult=trade.trail_mult,
        ambiguous_bars=trade.ambiguous_bars,
        peak=trade.peak,
        mfe_pct=trade.mfe_pct,
        mae_pct=trade.mae_pct,
        mfe_quote=trade.mfe_quote,
        mae_quote=trade.mae_quote,
        last_price=trade.last_price,
        realized_pnl=trade.realized_pnl,
        fees=trade.fees,
        closed=trade.status == TradeStatus.CLOSED,
    )


def trade_summary(trade: Trade) -> TradeSummary:
    return TradeSummary(
        id=trade.id,
        symbol=trade.symbol,
        side=Side(trade.side),
        mode=Mode(trade.mode),
        venue=trade.venue,
        status=TradeStatus(trade.status),
        entry_price=trade.entry_price,
        exit_price=trade.exit_price,
        initial_size=trade.initial_size,
        realized_pnl=trade.realized_pnl,
        fees=trade.fees,
        exit_reason=trade.exit_reason,
        entry_ts_ms=trade.entry_ts_ms,
        exit_ts_ms=trade.exit_ts_ms,
        mfe_pct=trade.mfe_pct,
        mae_pct=trade.mae_pct,
        policy=trade.policy,
    )


def fill_record(row: FillRow) -> FillRecord:
    return FillRecord(
        id=row.id,
        trade_id=row.trade_id,
        order_id=row.order_id,
        client_order_id=row.client_order_id,
        side=OrderSide(row.side),
        size=row.size,
        price=row.price,
        fee=row.fee,
        ts_ms=row.ts_ms,
        price_source=row.price_source,
        reduce_only=row.reduce_only,
        reason=row.reason,
        trigger_source=row.trigger_source,
        paper_price=row.paper_price,
        paper_fee=row.paper_fee,
        paper_ts_ms=row.paper_ts_ms,
        paper_missing=row.paper_missing,
    )


def order_record(row: Order) -> OrderRecord:
    return OrderRecord(
        id=row.id,
        client_order_id=row.client_order_id,
        trade_id=row.trade_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        size=row.size,
        reduce_only=row.reduce_only,
        reason=row.reason,
        leverage=row.leverage,
        mode=Mode(row.mode),
        venue=row.venue,
        status=OrderStatus(row.status),
        error=row.error,
        created_at_ms=row.created_at_ms,
        updated_at_ms=row.updated_at_ms,
        order_type=row.order_type,
        user_order_id=row.user_order_id,
        trigger_price=row.trigger_price,
        tx_sig=row.tx_sig,
        intent_json=row.intent_json,
        paper=(
            None
            if row.paper_price is None or row.paper_ts_ms is None
            else PaperQuote(row.paper_price, row.paper_ts_ms)
        ),
    )


def stop_move_record(row: StopMove) -> StopMoveRecord:
    return StopMoveRecord(
        id=row.id,
        trade_id=row.trade_id,
        ts_ms=row.ts_ms,
        old_price=row.old_price,
        new_price=row.new_price,
        role=StopRole(row.role),
        reason=row.reason,
        who=row.who,
    )


def audit_record(row: AuditEvent) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        ts_ms=row.ts_ms,
        kind=row.kind,
        who=row.who,
        action=row.action,
        reason=row.reason,
        detail_json=row.detail_json,
        trade_id=row.trade_id,
    )


def mode_change_record(row: ModeChange) -> ModeChangeRecord:
    return ModeChangeRecord(
        id=row.id,
        ts_ms=row.ts_ms,
        from_mode=row.from_mode,
        to_mode=row.to_mode,
        who=row.who,
        reason=row.reason,
        limits_json=row.limits_json,
    )


def alert_record(row: Alert) -> AlertRecord:
    return AlertRecord(id=row.id, ts_ms=row.ts_ms, level=row.level, message=row.message)


def candle_from_row(row: CandleRow) -> Candle:
    return Candle(
        symbol=row.symbol,
        timeframe=row.timeframe,
        ts_ms=row.ts_ms,
        open=row.open,
        high=row.high,
        low=row.low,
        close=row.close,
        volume=row.volume,
    )
