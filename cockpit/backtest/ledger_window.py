"""Which recorded bars a closed trade's ledger rows run on (no numba here: the ledger job asks
this on the event loop, and the cockpit must start without importing the kernel).

The path: the trade symbol's recorded 1m bars that open at or after the entry, the first within
one bar of the entry, each following the one before, up to the later of the actual exit and
`HORIZON_MS` after the entry. A missing bar ends the path there: what came after it is not known
in the engine's order of events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from state.ledger_rows import TradeInput

TIMEFRAME: Final = "1m"
BAR_MS: Final = 60_000
HORIZON_MS: Final = 48 * 3_600_000
"""How long after its entry a policy may hold a trade on the ledger (the actual trade's own
duration when longer)."""

Bar = tuple[int, float, float, float, float]
"""(open time ms, open, high, low, close)"""


def window_end_ms(trade: TradeInput) -> int:
    """Where a trade's path ends: the later of its actual exit and the horizon."""
    return max(trade.exit_ts_ms, trade.entry_ts_ms + HORIZON_MS)


def usable_path(trade: TradeInput, bars: Sequence[Bar]) -> tuple[list[Bar], bool]:
    """The bars the ledger may use, and whether they reach the window's end."""
    end = window_end_ms(trade)
    if not bars or bars[0][0] >= trade.entry_ts_ms + BAR_MS or bars[0][0] < trade.entry_ts_ms:
        return [], False
    used = [bars[0]]
    for bar in bars[1:]:
        if bar[0] >= end or bar[0] != used[-1][0] + BAR_MS:
            break
        used.append(bar)
    return used, used[-1][0] + BAR_MS >= end
