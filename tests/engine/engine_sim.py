"""Test helpers: drive the engine over a price path the way the session does.

The session executes every decision before the next tick, so the simulator fills each `Close` in
full at its trigger price right away; that keeps hand calculations simple (P&L = move x size).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cockpit.config import FixedPolicyConfig
from cockpit.domain import (
    Action,
    Candle,
    Close,
    ExitPlan,
    Fill,
    MoveStop,
    PositionState,
    Side,
    price_at_move,
)
from cockpit.engine.bars import bar_prices
from cockpit.engine.exits import apply_fill, on_price
from cockpit.engine.policy import fixed_plan, open_position

ENTRY = 100.0


def fill_for(pos: PositionState, close: Close, ts_ms: int, fee: float = 0.0) -> Fill:
    """The fill a perfect broker would report for `close` (full size, at the trigger price)."""
    return Fill(
        client_order_id=f"t-{ts_ms}-{close.reason.value}",
        symbol=pos.symbol,
        side=pos.side.closing_order_side,
        size=close.size,
        price=close.trigger_price,
        fee=fee,
        ts_ms=ts_ms,
        price_source="last",
        reduce_only=True,
        reason=close.reason.value,
    )


def new_position(plan: ExitPlan) -> PositionState:
    return open_position(plan, symbol="SOL-PERP", leverage=20.0, opened_ms=0)


def default_position(side: Side, size: float = 1.0, entry: float = ENTRY) -> PositionState:
    return new_position(fixed_plan(side, entry, size, FixedPolicyConfig()))


def at(side: Side, move_pct: float, entry: float = ENTRY) -> float:
    """The price at a favorable move of `move_pct` percent (negative = adverse)."""
    return price_at_move(side, entry, move_pct / 100.0)


@dataclass
class Run:
    """Everything that happened on a path: actions per tick and the stop after each tick."""

    ticks: list[list[Action]] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)

    @property
    def actions(self) -> list[Action]:
        return [a for tick in self.ticks for a in tick]

    @property
    def closes(self) -> list[Close]:
        return [a for a in self.actions if isinstance(a, Close)]

    @property
    def moves(self) -> list[MoveStop]:
        return [a for a in self.actions if isinstance(a, MoveStop)]


def decide_and_fill(pos: PositionState, price: float, ts: int) -> list[Action]:
    """One price: the engine's decisions, each close filled in full at once, and the stop moves
    those fills cause (breakeven after TP1, the runner's start), in the order they happened."""
    out = on_price(pos, price, ts)
    for action in list(out):
        if isinstance(action, Close):
            out.extend(apply_fill(pos, fill_for(pos, action, ts)))
    return out


def run(pos: PositionState, prices: list[float], *, ts0: int = 1_000) -> Run:
    """Feed `prices` one by one, filling every close immediately, like the session does."""
    out = Run()
    for i, price in enumerate(prices):
        ts = ts0 + i * 1_000
        actions = decide_and_fill(pos, price, ts)
        out.ticks.append(actions)
        out.stops.append(pos.stop)
        out.sizes.append(pos.size)
    return out


def run_bars(pos: PositionState, bars: list[Candle], *, optimistic: bool = False) -> Run:
    """Feed candles through `bar_prices`, filling each close at its trigger price at once."""
    out = Run()
    for i, bar in enumerate(bars):
        ts = bar.ts_ms if bar.ts_ms else 1_000 + i * 60_000
        for price in bar_prices(pos, bar, optimistic=optimistic):
            actions = decide_and_fill(pos, price, ts)
            out.ticks.append(actions)
            out.stops.append(pos.stop)
            out.sizes.append(pos.size)
    return out


def ohlc(o: float, h: float, low: float, c: float, i: int = 0) -> Candle:
    return Candle("SOL-PERP", "1m", 60_000 * (i + 1), o, h, low, c, 1.0)
