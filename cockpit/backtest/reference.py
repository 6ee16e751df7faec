"""The engine's own loop over a backtest path: the oracle the kernel is held to.

`run_trade` drives `cockpit.engine` exactly as the session does when every close fills in full at
its trigger price at once: `bar_prices` (candles) or one tick per close (closes), `on_price`,
then `apply_fill` for each decided close before the next price. It is slow (~500 trades/s on
long paths) and that is the point: it is the code that trades, so the kernel's tests and the
benchmark's ratio are measured against it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cockpit.domain import Candle, Close, ExitPlan, Fill, PositionState
from cockpit.engine.bars import bar_prices
from cockpit.engine.exits import apply_fill, on_price
from cockpit.engine.policy import open_position

END_OF_DATA = "end_of_data"


@dataclass(frozen=True, slots=True)
class TradeResult:
    """What one trade did: fills as (bar index, price, fraction of initial size, reason)."""

    fills: tuple[tuple[int, float, float, str], ...]
    mfe_pct: float
    mae_pct: float
    ambiguous_bars: int
    pnl_pct: float
    """Sum over fills of fraction x favorable move in percent (no fees), as the kernel."""


def pnl_pct(fills: Sequence[tuple[int, float, float, str]], sign: float, entry: float) -> float:
    """The kernel's P&L sum, in the same order and the same float operations."""
    total = 0.0
    for _, price, frac, _ in fills:
        total += frac * (100.0 * (sign * (price - entry) / entry))
    return total


def _fill(pos: PositionState, close: Close, ts_ms: int) -> Fill:
    return Fill(
        client_order_id=f"bt-{ts_ms}-{close.reason.value}",
        symbol=pos.symbol,
        side=pos.side.closing_order_side,
        size=close.size,
        price=close.trigger_price,
        fee=0.0,
        ts_ms=ts_ms,
        price_source="last",
        reduce_only=True,
        reason=close.reason.value,
    )


def _prices(
    pos: PositionState, bars: Sequence[Candle], kind: str, optimistic: bool
) -> Iterator[tuple[int, float]]:
    for i, bar in enumerate(bars):
        if pos.closed:
            return
        if kind == "closes":
            yield i, bar.close
        else:
            for price in bar_prices(pos, bar, optimistic=optimistic):
                yield i, price


def run_trade(
    plan: ExitPlan,
    bars: Sequence[Candle],
    *,
    first_index: int,
    kind: str = "candles",
    optimistic: bool = False,
    entry_close: float | None = None,
) -> TradeResult:
    """Run `plan` over `bars` (the bars after the entry; bar k has file index first_index + k).

    A position still open after the last bar closes at its close, reason end_of_data (at
    `entry_close`, else the entry, when there is no bar at all).
    """
    if kind not in ("candles", "closes"):
        raise ValueError(f"unknown path kind {kind!r}: candles or closes")
    pos = open_position(plan, symbol="BT", leverage=1.0, opened_ms=0)
    fills: list[tuple[int, float, float, str]] = []
    size0 = plan.initial_size
    for i, price in _prices(pos, bars, kind, optimistic):
        ts = i + 1
        for action in on_price(pos, price, ts):
            if isinstance(action, Close):
                apply_fill(pos, _fill(pos, action, ts))
                fills.append(
                    (first_index + i, action.trigger_price, action.size / size0, action.reason)
                )
    if not pos.closed:
        if bars:
            last_index, last_price = first_index + len(bars) - 1, bars[-1].close
        else:
            last_index = first_index - 1
            last_price = entry_close if entry_close is not None else plan.entry
        fills.append((last_index, last_price, pos.size / size0, END_OF_DATA))
    done = tuple((b, p, f, str(r)) for b, p, f, r in fills)
    return TradeResult(
        fills=done,
        mfe_pct=pos.mfe_pct,
        mae_pct=pos.mae_pct,
        ambiguous_bars=pos.ambiguous_bars,
        pnl_pct=pnl_pct(done, float(plan.side.sign), plan.entry),
    )
