"""The closed trade as analytics sees it: a plain, frozen copy of one `trades` row.

P&L convention (everywhere in analytics): **net** P&L = realized_pnl - fees, in quote currency
(USDT). A win is a trade with net P&L > 0, a loss one with net P&L < 0; a trade at exactly 0 is
neither (it counts in the totals and the averages per trade). Gross P&L (before fees) is kept
for the places where the cost of trading is the question.

Percent fields are price moves in percent of entry (never ROE), as the engine records them.
"""

from __future__ import annotations

from dataclasses import dataclass

IMPORT_VENUE = "import"
"""Trades loaded by `cockpit import` carry this venue (and mode SHADOW): never live trades."""


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One closed trade. Optional fields are None when the trade does not have them (a manual
    entry has no signal features; an imported journal may lack MFE or a TP2 level).

    `after_exit_high` / `after_exit_low` are the extremes of the candles recorded for the symbol
    in the window after the exit (None: no candles recorded there).
    """

    id: int
    symbol: str
    side: str
    entry_ts_ms: int
    exit_ts_ms: int
    entry_price: float
    exit_price: float
    size: float
    realized_pnl: float
    fees: float
    exit_reason: str | None = None
    venue: str = "paper"
    mode: str = "shadow"
    policy: str = "fixed"
    leverage: float = 1.0
    mfe_pct: float | None = None
    mae_pct: float | None = None
    tp2_price: float | None = None
    quality_score: float | None = None
    atr: float | None = None
    adx: float | None = None
    rsi: float | None = None
    volume_ratio: float | None = None
    price_position: float | None = None
    confidence: float | None = None
    regime: str | None = None
    strategy: str | None = None
    timeframe: str | None = None
    ab_group: str | None = None
    after_exit_high: float | None = None
    after_exit_low: float | None = None
    initial_stop: float | None = None
    """The plan's stop at entry (None: no frozen plan, e.g. an imported trade): the R unit."""

    @property
    def net_pnl(self) -> float:
        """What the trade made after fees: the number every metric is computed from."""
        return self.realized_pnl - self.fees

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1

    @property
    def imported(self) -> bool:
        return self.venue == IMPORT_VENUE

    @property
    def exit_move_pct(self) -> float:
        """Favorable price move from entry to the (average) exit, in percent."""
        return 100.0 * self.sign * (self.exit_price - self.entry_price) / self.entry_price

    @property
    def tp2_distance_pct(self) -> float | None:
        """How far the TP2 target was from entry, in percent of entry (None: no TP2 level)."""
        if self.tp2_price is None:
            return None
        return 100.0 * abs(self.tp2_price - self.entry_price) / self.entry_price

    @property
    def has_complete_features(self) -> bool:
        """Every feature the roadmap's Phase 6 model would need (direction is always known)."""
        return all(
            value is not None
            for value in (
                self.atr,
                self.adx,
                self.rsi,
                self.volume_ratio,
                self.price_position,
                self.quality_score,
                self.timeframe,
            )
        )
