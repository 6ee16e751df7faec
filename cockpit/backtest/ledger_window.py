"""Which recorded bars a closed trade's ledger rows run on (no numba here: the ledger job asks
this on the event loop, and the cockpit must start without importing the kernel).

The path: the trade symbol's recorded bars of the `[ledger]` timeframe (1m by default) that open
at or after the entry, the first within one bar of the entry, each following the one before, up
to the later of the actual exit and the horizon (48 h by default) after the entry. A missing bar
ends the path there: what came after it is not known in the engine's order of events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cockpit.ledger_config import LedgerConfig
from state.ledger_rows import TradeInput

TIMEFRAME: Final = "1m"
BAR_MS: Final = 60_000
HORIZON_MS: Final = 48 * 3_600_000
"""How long after its entry a policy may hold a trade on the ledger by default (the actual
trade's own duration when longer)."""

Bar = tuple[int, float, float, float, float]
"""(open time ms, open, high, low, close)"""


@dataclass(frozen=True, slots=True)
class LedgerWindow:
    """The candles a ledger runs on: their timeframe, bar length, and the horizon."""

    timeframe: str = TIMEFRAME
    bar_ms: int = BAR_MS
    horizon_ms: int = HORIZON_MS

    @classmethod
    def of(cls, config: LedgerConfig) -> LedgerWindow:
        return cls(config.timeframe, config.bar_ms, config.horizon_ms)

    def end_ms(self, trade: TradeInput) -> int:
        """Where a trade's path ends: the later of its actual exit and the horizon."""
        return max(trade.exit_ts_ms, trade.entry_ts_ms + self.horizon_ms)

    def usable_path(self, trade: TradeInput, bars: Sequence[Bar]) -> tuple[list[Bar], bool]:
        """The bars the ledger may use, and whether they reach the window's end."""
        end = self.end_ms(trade)
        step = self.bar_ms
        if not bars or bars[0][0] >= trade.entry_ts_ms + step or bars[0][0] < trade.entry_ts_ms:
            return [], False
        used = [bars[0]]
        for bar in bars[1:]:
            if bar[0] >= end or bar[0] != used[-1][0] + step:
                break
            used.append(bar)
        return used, used[-1][0] + step >= end


DEFAULT: Final = LedgerWindow()


def window_end_ms(trade: TradeInput) -> int:
    """`LedgerWindow.end_ms` of the default window (48 h of 1m)."""
    return DEFAULT.end_ms(trade)


def usable_path(trade: TradeInput, bars: Sequence[Bar]) -> tuple[list[Bar], bool]:
    """`LedgerWindow.usable_path` of the default window (48 h of 1m)."""
    return DEFAULT.usable_path(trade, bars)
