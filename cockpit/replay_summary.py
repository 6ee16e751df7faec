"""What a replay run came to, said once when its data ends.

A trader replays a file to learn from it: at the end they want the run's own result, not the
journal's (a replay database holds every earlier run too), so only the trades opened in this run
count: those with an id above the last one on record when the run started.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from state.records import TradeSummary


def run_summary(trades: Sequence[TradeSummary], still_open: int) -> str:
    """One line: trades, win rate, net P&L after fees, exits by reason, positions left open."""
    if not trades:
        head = "no trade closed in this run"
    else:
        net = [t.realized_pnl - t.fees for t in trades]
        wins = sum(1 for pnl in net if pnl > 0)
        reasons = Counter(t.exit_reason or "unknown" for t in trades)
        by_reason = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
        head = (
            f"{len(trades)} trade(s), win rate {100 * wins / len(trades):.0f} %, "
            f"net P&L {sum(net):+.2f} USDT after fees; exits: {by_reason}"
        )
    tail = f"; {still_open} position(s) still open (c closes one)" if still_open else ""
    return f"replay finished: {head}{tail}"
