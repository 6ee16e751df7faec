"""Shadow vs live fidelity: each LIVE-SMALL fill against its paper twin (issue 18 item 6).

Seed 003: "Shadow data != real data (no slippage, no liquidity issues)", so before scaling:
"Compare shadow vs real (calibration check)". Every live fill is stored with the fill the paper
model would have made on the same ticks (cockpit/execution/paper_twin.py). Per fill, with the
sign chosen so that a positive number is what live trading cost more than paper:

- **slippage $** = (live price - paper price) x size for a buy, (paper price - live price) x
  size for a sell; in **bps** of the paper notional;
- **fee difference $** = live fee - paper fee;
- **trigger delay** = live fill time - paper fill time (the tick the paper model fills on: the
  tick an order was decided on, for a stop the first tick through it).

Per trade and in total: the sums of slippage and fee differences, their sum (what live cost
more than paper), the slippage in bps of the paper notional, the mean and largest delay. A live
fill without a twin (a stop the venue filled with no tick through it seen by the cockpit, an
order with no tick kept) is counted, never compared, and counted again under the reason stored
with it (`not_compared`). A fill reported after a restart has its twin: the order's row keeps
its paper price (migration 0017).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

UNKNOWN_MISSING = "no twin recorded (a fill from before migration 0017)"


@dataclass(frozen=True, slots=True)
class LiveFill:
    """One LIVE-SMALL fill as stored, with its paper twin when it has one."""

    trade_id: int
    symbol: str
    side: str  # "buy" / "sell"
    size: float
    reason: str
    price: float
    fee: float
    ts_ms: int
    paper_price: float | None
    paper_fee: float | None
    paper_ts_ms: int | None
    missing: str | None = None
    """Why it has no twin, as stored (`fills.paper_missing`); None for a row from before 0017."""

    @property
    def compared(self) -> bool:
        return None not in (self.paper_price, self.paper_fee, self.paper_ts_ms)

    @property
    def slippage_usd(self) -> float:
        assert self.paper_price is not None
        sign = 1.0 if self.side == "buy" else -1.0
        return sign * (self.price - self.paper_price) * self.size


@dataclass(frozen=True, slots=True)
class FidelityRow:
    """Fills of one trade (or all of them) against their twins."""

    label: str
    fills: int
    compared: int
    slippage_usd: float
    slippage_bps: float | None
    fee_diff_usd: float
    live_cost_usd: float
    """slippage + fee difference: what live trading cost more than paper."""
    avg_delay_s: float | None
    max_delay_s: float | None
    not_compared: tuple[tuple[str, int], ...] = ()
    """Fills without a twin by reason (most first), e.g. ("no tick through the stop ...", 1)."""


@dataclass(frozen=True, slots=True)
class FidelityReport:
    trades: tuple[FidelityRow, ...]
    total: FidelityRow


def _row(label: str, fills: Sequence[LiveFill]) -> FidelityRow:
    done = [f for f in fills if f.compared]
    slip = sum(f.slippage_usd for f in done)
    fees = sum(f.fee - (f.paper_fee or 0.0) for f in done)
    notional = sum((f.paper_price or 0.0) * f.size for f in done)
    delays = [(f.ts_ms - (f.paper_ts_ms or 0)) / 1000.0 for f in done]
    reasons = Counter(f.missing or UNKNOWN_MISSING for f in fills if not f.compared)
    return FidelityRow(
        label=label,
        fills=len(fills),
        compared=len(done),
        slippage_usd=slip,
        slippage_bps=slip / notional * 1e4 if notional > 0 else None,
        fee_diff_usd=fees,
        live_cost_usd=slip + fees,
        avg_delay_s=sum(delays) / len(delays) if delays else None,
        max_delay_s=max(delays) if delays else None,
        not_compared=tuple(reasons.most_common()),
    )


def fidelity_report(fills: Sequence[LiveFill]) -> FidelityReport | None:
    """Per trade (in trade order) and in total; None without any LIVE-SMALL fill."""
    if not fills:
        return None
    by_trade: dict[int, list[LiveFill]] = {}
    for fill in fills:
        by_trade.setdefault(fill.trade_id, []).append(fill)
    trades = tuple(
        _row(f"#{tid} {group[0].symbol}", group) for tid, group in sorted(by_trade.items())
    )
    return FidelityReport(trades, _row("Total", fills))
