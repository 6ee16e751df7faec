"""Builders for the domain values the store persists, and a window onto the raw database file.

Plans are built by hand (not through cockpit.engine) so these tests pin the storage contract
independently of how the engine computes levels.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import (
    ExitPlan,
    Fill,
    Mode,
    OrderRequest,
    PositionState,
    Side,
    price_at_move,
)
from cockpit.engine.policy import open_position
from state.store import Store

SYMBOL = "SOL-PERP"
T0 = 1_700_000_000_000


@dataclass
class FakeClock:
    """Wall clock for audit columns: starts at `now` and advances `step` ms per reading."""

    now: int = 1_800_000_000_000
    step: int = 1

    def __call__(self) -> int:
        self.now += self.step
        return self.now


def make_plan(
    side: Side = Side.LONG, entry: float = 150.0, size: float = 2.0, policy: str = "fixed"
) -> ExitPlan:
    return ExitPlan(
        policy=policy,
        side=side,
        entry=entry,
        initial_size=size,
        stop_loss=price_at_move(side, entry, -0.015),
        breakeven_trigger=price_at_move(side, entry, 0.005),
        profit_lock_trigger=price_at_move(side, entry, 0.012),
        profit_lock_stop=price_at_move(side, entry, 0.004),
        tp1_price=price_at_move(side, entry, 0.015),
        tp1_fraction=0.75,
        tp2_price=price_at_move(side, entry, 0.03),
        tp2_fraction=0.25,
        atr=2.0,
        params={"stop_loss_pct": 1.5, "note": "hand-built", "nested": {"k": [1, 2]}},
    )


def make_position(
    plan: ExitPlan,
    *,
    symbol: str = SYMBOL,
    leverage: float = 2.0,
    opened_ms: int = T0,
    mode: Mode = Mode.SHADOW,
    venue: str = "paper",
    fees: float = 0.0,
) -> PositionState:
    """A freshly opened position exactly as the engine builds it, plus the entry fee paid."""
    position = open_position(
        plan, symbol=symbol, leverage=leverage, opened_ms=opened_ms, mode=mode, venue=venue
    )
    position.fees = fees
    return position


def entry_order(
    cid: str, side: Side = Side.LONG, size: float = 2.0, symbol: str = SYMBOL
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=symbol,
        side=side.opening_order_side,
        size=size,
        reduce_only=False,
        reason="entry",
        leverage=2.0,
    )


def exit_order(cid: str, position: PositionState, size: float, reason: str) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=position.symbol,
        side=position.side.closing_order_side,
        size=size,
        reduce_only=True,
        reason=reason,
        leverage=position.leverage,
        trade_id=position.trade_id,
    )


def fill_for(
    order: OrderRequest, price: float, ts_ms: int, fee: float = 0.05, source: str = "mark"
) -> Fill:
    return Fill(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        size=order.size,
        price=price,
        fee=fee,
        ts_ms=ts_ms,
        price_source=source,
        reduce_only=order.reduce_only,
        reason=order.reason,
    )


async def open_trade(
    store: Store,
    cid: str = "ck-entry-1",
    *,
    side: Side = Side.LONG,
    entry: float = 150.0,
    size: float = 2.0,
    ts_ms: int = T0,
    features: dict[str, object] | None = None,
) -> PositionState:
    """Intent, entry fill and trade row, as the session does it; returns the live position."""
    order = entry_order(cid, side, size)
    order_id = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
    fill = fill_for(order, entry, ts_ms)
    position = make_position(make_plan(side, entry, size), opened_ms=ts_ms, fees=fill.fee)
    position.trade_id = await store.record_open(order_id, fill, position, features)
    return position


def raw_connect(db_path: Path) -> sqlite3.Connection:
    """An independent connection, outside SQLAlchemy and the store: what another process sees."""
    conn = sqlite3.connect(db_path, timeout=5.0)
    conn.row_factory = sqlite3.Row
    return conn


def raw_one(db: Path | str, sql: str, params: tuple[object, ...] = ()) -> Any:
    """One row read outside the store: `db` is a SQLite file, or a PostgreSQL URL (then the
    `?` placeholders become `$n` and the row is an asyncpg Record, read by name or position
    like a sqlite3.Row)."""
    if isinstance(db, str):
        return _pg_one(db, sql, params)
    conn = raw_connect(db)
    try:
        row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
        return row
    finally:
        conn.close()


def _pg_one(url: str, sql: str, params: tuple[object, ...]) -> Any:
    """Runs on its own thread and loop: callers are sync helpers inside async tests."""
    import asyncpg

    parts = sql.split("?")
    numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def one() -> Any:
        conn = await asyncpg.connect(dsn, timeout=30)
        try:
            return await conn.fetchrow(numbered, *params)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, one()).result()
