"""Everything known about one trade, for the detail screen: the plan frozen at entry, every
order, fill, stop move and audit row in time order, and the prices of the trade's window.

Read from the database when the screen opens (never per tick). Prices come from the 1m candles
the candle recorder keeps (live feeds), else from the session's in-memory tick history (demo,
replay), plus the fills themselves, so a chart always has the entry and the exits on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cockpit.domain import ExitPlan, PositionState
from state.detail_rows import audit_for, trade_with_plan
from state.ledger_rows import LedgerRow, rows_for
from state.records import FillRecord, OrderRecord, StopMoveRecord, TradeSummary
from state.store import Store

WINDOW_PAD_MS = 30_000
MAX_BARS = 2000


@dataclass(frozen=True, slots=True)
class TimelineRow:
    ts_ms: int
    kind: str
    """order, fill, stop, audit"""
    text: str


@dataclass(frozen=True, slots=True)
class TradeDetail:
    trade: TradeSummary
    plan: ExitPlan
    leverage: float
    stop_now: float
    timeline: tuple[TimelineRow, ...]
    fills: tuple[FillRecord, ...]
    stop_steps: tuple[tuple[int, float], ...]
    """(time, stop price from then on): the plan's stop at entry, then every move."""
    prices: tuple[tuple[int, float], ...]
    t0_ms: int
    t1_ms: int
    price_source: str
    """'1m candles', 'ticks in memory' or 'fills only'."""
    ledger: tuple[LedgerRow, ...] = ()
    """A closed trade's counterfactual ledger rows (cockpit.backtest.ledger), one per set."""


def order_rows(order: OrderRecord) -> list[TimelineRow]:
    """An order's life as the database has it: written (intent), then where it ended or stands."""
    kind = f"{order.order_type}{' reduce-only' if order.reduce_only else ''}"
    trigger = f" trigger {order.trigger_price:g}" if order.trigger_price else ""
    rows = [
        TimelineRow(
            order.created_at_ms,
            "order",
            f"order {order.id} written: {order.side.value} {order.size:g} {order.reason}, "
            f"{kind}{trigger} on {order.venue} ({order.mode.value})",
        )
    ]
    status = order.status.value
    if status != "intent" or order.error:
        error = f": {order.error}" if order.error else ""
        sig = f" tx {order.tx_sig}" if order.tx_sig else ""
        rows.append(
            TimelineRow(
                max(order.updated_at_ms, order.created_at_ms),
                "order",
                f"order {order.id} {status}{error}{sig}",
            )
        )
    return rows


def fill_row(fill: FillRecord) -> TimelineRow:
    return TimelineRow(
        fill.ts_ms,
        "fill",
        f"fill {fill.side.value} {fill.size:g} @ {fill.price:g} ({fill.reason}, fee {fill.fee:g}, "
        f"{fill.price_source}, order {fill.order_id})",
    )


def stop_row(move: StopMoveRecord) -> TimelineRow:
    return TimelineRow(
        move.ts_ms,
        "stop",
        f"stop {move.old_price:g} -> {move.new_price:g} ({move.role.value}: {move.reason}) "
        f"by {move.who}",
    )


KIND_ORDER = {"order": 0, "fill": 1, "stop": 2, "audit": 3}


def plan_lines(plan: ExitPlan) -> list[tuple[str, str]]:
    """The frozen plan as label/value pairs, in the order a trader reads a plan."""
    lines = [
        ("policy", plan.policy),
        ("side", plan.side.value),
        ("entry", f"{plan.entry:g}"),
        ("size", f"{plan.initial_size:g}"),
        ("stop loss", f"{plan.stop_loss:g}"),
        ("breakeven at", f"{plan.breakeven_trigger:g}"),
        ("profit lock at", f"{plan.profit_lock_trigger:g} -> stop {plan.profit_lock_stop:g}"),
        ("TP1", f"{plan.tp1_price:g} ({plan.tp1_fraction:.0%})"),
    ]
    if plan.tp2_price is not None:
        lines.append(("TP2", f"{plan.tp2_price:g} ({plan.tp2_fraction:.0%})"))
    if plan.runner_fraction:
        trail = f", trail {plan.trail_atr_mult:g}xATR" if plan.trail_atr_mult else ""
        lines.append(("runner", f"{plan.runner_fraction:.0%}{trail}"))
    if plan.atr is not None:
        lines.append(("ATR", f"{plan.atr:g} (factor {plan.atr_factor:g})"))
    for key, value in sorted(plan.params.items()):
        if isinstance(value, float):
            lines.append((key.replace("_", " "), f"{value:.6g}"))
        elif isinstance(value, int | str | bool):  # nested settings stay in the row
            lines.append((key.replace("_", " "), str(value)))
    return lines


async def load_trade_detail(
    store: Store,
    trade_id: int,
    *,
    now_ms: int,
    position: PositionState | None = None,
    ticks: Sequence[tuple[int, float]] = (),
    ledger_keys: Sequence[str] | None = None,
) -> TradeDetail | None:
    """The trade's detail, or None if there is no such trade. `position` is the open position
    held in memory (fresher than its row); `ticks` the session's recent (time, price) ticks;
    `ledger_keys` the ledger's configured sets (None: every set ever run on the trade)."""
    found = await trade_with_plan(store, trade_id)
    if found is None:
        return None
    trade = found.summary
    orders = await store.orders_for(trade_id)
    fills = await store.fills_for(trade_id)
    moves = await store.stop_moves_for(trade_id)
    audits = await audit_for(store, trade_id)
    timeline = [row for order in orders for row in order_rows(order)]
    timeline += [fill_row(f) for f in fills]
    timeline += [stop_row(m) for m in moves]
    timeline += [
        TimelineRow(a.ts_ms, "audit", f"{a.kind}: {a.action} ({a.reason}) by {a.who}")
        for a in audits
    ]
    timeline.sort(key=lambda r: (r.ts_ms, KIND_ORDER[r.kind]))

    start = trade.entry_ts_ms
    # An open trade's window ends at its newest price (the feed's time, which a replay runs
    # ahead of or behind the wall clock), else now.
    newest = max((t for t, _ in ticks if t >= start), default=now_ms)
    end = trade.exit_ts_ms if trade.exit_ts_ms is not None else newest
    pad = max(WINDOW_PAD_MS, (end - start) // 4)
    t0, t1 = start - pad, end + (pad if trade.exit_ts_ms is not None else 0)
    bars = await store.candles(trade.symbol, "1m", since_ms=t0, limit=MAX_BARS)
    prices = [(c.ts_ms + 30_000, c.close) for c in bars if c.ts_ms <= t1]
    source = "1m candles"
    if len(prices) < 2:
        prices = [p for p in ticks if t0 <= p[0] <= t1]
        source = "ticks in memory"
    if len(prices) < 2:
        prices = []
        source = "fills only"
    prices = sorted({*prices, *((f.ts_ms, f.price) for f in fills)})
    steps = [(trade.entry_ts_ms, found.plan.stop_loss)]
    steps += [(m.ts_ms, m.new_price) for m in moves]
    stop_now = position.stop if position is not None else found.stop_price
    ledger = await rows_for(store, trade_id, ledger_keys) if trade.exit_ts_ms is not None else []
    return TradeDetail(
        trade=trade,
        plan=found.plan,
        leverage=found.leverage,
        stop_now=stop_now,
        timeline=tuple(timeline),
        fills=tuple(fills),
        stop_steps=tuple(steps),
        prices=tuple(prices),
        t0_ms=t0,
        t1_ms=t1,
        price_source=source,
        ledger=tuple(ledger),
    )


LEDGER_COLUMNS = ("Policy", "Exit", "P&L %", "P&L $", "vs actual $")
LEDGER_WAITING = {
    "no_path": "no candles recorded after the entry",
    "path_ended": "candles end before its exit",
}


def ledger_lines(detail: TradeDetail) -> list[tuple[str, str, str, str, str]]:
    """The ledger's rows as the detail shows them, then the actual trade for comparison.

    P&L is gross (before fees) for the trade's own size, as the actual line; "vs actual" is
    the policy's P&L minus the trade's. A row without a result says why instead of a number.
    """
    t = detail.trade
    if t.exit_ts_ms is None:
        return [("", "the ledger runs once the trade has closed", "", "", "")]
    if not detail.ledger:
        return [
            ("", "not in the ledger yet: it runs in the background after the close", "", "", "")
        ]
    notional = t.entry_price * t.initial_size
    lines = []
    for row in detail.ledger:
        if row.pnl_pct is None:
            why = LEDGER_WAITING.get(row.status) or f"{row.status}: {row.note}"
            lines.append((row.label, why, "-", "-", "-"))
            continue
        usd = row.pnl_pct / 100.0 * notional
        stamp = _stamp(row.exit_ts_ms)
        exit_text = f"{row.exit_reason} {row.exit_price:g} {stamp}".rstrip()
        lines.append(
            (
                row.label,
                exit_text,
                f"{row.pnl_pct:+.2f}%",
                f"{usd:+,.2f}",
                f"{usd - t.realized_pnl:+,.2f}",
            )
        )
    actual_pct = 100.0 * t.realized_pnl / notional if notional > 0 else None
    lines.append(
        (
            "actual",
            f"{t.exit_reason} {t.exit_price:g} {_stamp(t.exit_ts_ms)}" if t.exit_price else "-",
            "-" if actual_pct is None else f"{actual_pct:+.2f}%",
            f"{t.realized_pnl:+,.2f}",
            "",
        )
    )
    return lines


def _stamp(ts_ms: int | None) -> str:
    if ts_ms is None:
        return ""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%m-%d %H:%M")
