"""How well exits used what the market gave: MFE capture, R-multiples and SQN (issue 15 item 5).

- MFE capture: the realized favorable move over the best favorable move while open, summed over
  the trades whose MFE is known (`100 x sum(exit move %) / sum(MFE %)`): 100 % would be every
  trade closed at its best price.
- R-multiple: a trade's net P&L over its initial risk, the loss at the plan's first stop
  (`|entry - stop| x size`); trades without a frozen stop (imports) are left out.
- SQN (Van Tharp): `sqrt(n) x mean(R) / sd(R)` (ddof 1), from two trades with some spread.
The same definitions as the backtest's `--out` report (cockpit.backtest.stats), on the journal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cockpit.analytics.trades import TradeRecord


@dataclass(frozen=True, slots=True)
class ExitQuality:
    capture_pct: float | None
    capture_trades: int
    avg_r: float | None
    r_trades: int
    sqn: float | None


def r_multiple(trade: TradeRecord) -> float | None:
    """Net P&L in units of the initial risk to the stop (None: no stop, or no risk)."""
    stop = trade.initial_stop
    if stop is None:
        return None
    risk = abs(trade.entry_price - stop) * trade.size
    return trade.net_pnl / risk if risk > 0 else None


def exit_quality(trades: Sequence[TradeRecord]) -> ExitQuality:
    known = [t for t in trades if t.mfe_pct is not None]
    mfe_sum = sum(t.mfe_pct or 0.0 for t in known)
    capture = 100.0 * sum(t.exit_move_pct for t in known) / mfe_sum if mfe_sum > 0 else None
    rs = np.array([r for t in trades if (r := r_multiple(t)) is not None], dtype=np.float64)
    sqn = None
    if rs.size >= 2 and float(np.std(rs, ddof=1)) > 0.0:
        sqn = math.sqrt(rs.size) * float(np.mean(rs)) / float(np.std(rs, ddof=1))
    return ExitQuality(
        capture_pct=capture,
        capture_trades=len(known),
        avg_r=float(np.mean(rs)) if rs.size else None,
        r_trades=int(rs.size),
        sqn=sqn,
    )
