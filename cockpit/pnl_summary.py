"""The dashboard's P&L strip in numbers: realized today, unrealized, open risk, exposure by side.

Pure arithmetic on what the session already holds in memory (open positions, marks, the closed
trades it lists); nothing here reads the database, so the strip can be computed on every redraw.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cockpit.domain import PositionState, Side

DAY_MS = 86_400_000


class ClosedTrade(Protocol):
    @property
    def realized_pnl(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def exit_ts_ms(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class PnlSummary:
    realized_today: float
    """Net of fees: trades closed since 00:00 UTC, plus what open positions opened today already
    took (partial exits, less the entry fee)."""
    unrealized: float
    """Open positions at their marks (positions without a mark yet count 0)."""
    open_risk: float
    """What the open positions would give back from their marks if every stop filled now
    (negative: stops in loss from here; a stop above the mark of a long counts as 0 risk)."""
    exposure_long: float
    exposure_short: float
    """Notional at the mark, USDT, by side."""
    unmarked: int
    """Open positions without a price yet (left out of the sums above)."""
    unstopped: int = 0
    """Open positions without a stop a price can reach (an adopted one's): out of `open_risk`."""


def pnl_summary(
    positions: Iterable[PositionState],
    marks: Mapping[str, float],
    closed: Sequence[ClosedTrade],
    now_ms: int,
) -> PnlSummary:
    day_start = now_ms - now_ms % DAY_MS
    realized = sum(
        t.realized_pnl - t.fees
        for t in closed
        if t.exit_ts_ms is not None and t.exit_ts_ms >= day_start
    )
    unrealized = risk = long = short = 0.0
    unmarked = unstopped = 0
    for pos in positions:
        if pos.closed:
            continue
        if pos.opened_ms >= day_start:
            realized += pos.realized_pnl - pos.fees
        mark = marks.get(pos.symbol)
        if mark is None:
            unmarked += 1
            continue
        unrealized += pos.unrealized_pnl(mark)
        if 0 < pos.stop < math.inf:
            risk += min(0.0, pos.side.sign * (pos.stop - mark) * pos.size)
        else:
            unstopped += 1
        if pos.side is Side.LONG:
            long += pos.size * mark
        else:
            short += pos.size * mark
    return PnlSummary(realized, unrealized, risk, long, short, unmarked, unstopped)
