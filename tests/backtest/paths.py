"""Test helpers: candle paths as arrays and as `Candle`s, and the kernel vs engine comparison."""

from __future__ import annotations

import numpy as np

from cockpit.backtest import kernel
from cockpit.backtest.plans import plan_row
from cockpit.backtest.reference import TradeResult, run_trade
from cockpit.backtest.tables import PATH_KINDS, SparseTables, sparse_tables
from cockpit.domain import Candle, ExitPlan


def candles(ohlc: list[tuple[float, float, float, float]]) -> list[Candle]:
    return [
        Candle("BT", "1m", 60_000 * i, o, h, lo, c, 1.0) for i, (o, h, lo, c) in enumerate(ohlc)
    ]


def tables(bars: list[Candle], kind: str) -> SparseTables:
    cols = [np.array([getattr(b, name) for b in bars]) for name in ("open", "high", "low", "close")]
    return sparse_tables(*cols, PATH_KINDS[kind])


def kernel_trade(
    plan: ExitPlan, bars: list[Candle], start: int, kind: str, *, optimistic: bool = False
) -> tuple[tuple[tuple[int, float, float, str], ...], float, float, int, float]:
    """The kernel's result for one plan entered at the close of bar start - 1."""
    res = kernel.run(
        tables(bars, kind),
        plan_row(plan)[None, :],
        np.array([start]),
        np.array([len(bars)]),
        optimistic=optimistic,
    )
    return (
        tuple(res.fills(0)),
        float(res.mfe_pct[0]),
        float(res.mae_pct[0]),
        int(res.ambiguous[0]),
        float(res.pnl_pct[0]),
    )


def engine_trade(
    plan: ExitPlan, bars: list[Candle], start: int, kind: str, *, optimistic: bool = False
) -> tuple[tuple[tuple[int, float, float, str], ...], float, float, int, float]:
    ref: TradeResult = run_trade(
        plan,
        bars[start:],
        first_index=start,
        kind=kind,
        optimistic=optimistic,
        entry_close=bars[start - 1].close if start > 0 else None,
    )
    return ref.fills, ref.mfe_pct, ref.mae_pct, ref.ambiguous_bars, ref.pnl_pct
