"""Roadmap phases and their success criteria: each phase judged against the one before.

Seed 000, "Strategy Validation: run this after each phase to validate improvement":

    SELECT COUNT(*), AVG("realizedPnL"), SUM("realizedPnL"), win rate FROM "Trade"
    WHERE "createdAt" >= '[phase_start_date]' AND "exitReason" IS NOT NULL

A phase's trades here are exactly those: an exit reason, and created (entered) at or after the
phase's start; and, so that two phases never share a trade, before the next phase's start. P&L
is net (see `trades.py`). The success criteria are the seed's "Success Criteria" section:

- Phase 2: "Average P&L increases by 10%+ vs fixed targets" (vs Phase 1), "Win rate stays stable
  or improves", "No increase in max drawdown".
- Phase 3: "High quality trades show 20%+ better P&L than low quality" (top tier vs the lowest
  tier, within Phase 3), "Overall P&L increases by 15%+ vs Phase 2".
- Phase 4: "Directional P&L gap narrows (improve weak direction) Or: Strong direction P&L
  improves further".
- Phase 5: "Runners capture 20%+ more profit on winning trades" (average winner vs Phase 4),
  "Total P&L increases by 25%+ vs Phase 4", "Runners don't create new losing trades" (no trade
  whose MFE reached its TP2 distance closed at a loss).
- Overall: "2x total P&L vs baseline strategy" (the latest phase vs Phase 1).

"X% better" is `now >= before + X * |before|`, so it reads right when `before` is a loss; P&L
"totals" are compared per trade (the average), because two phases never last equally long.
Each criterion waits for data (NEED) until both phases have `min_trades_significant` trades.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cockpit.analytics import fmt
from cockpit.analytics.gate_parts import Check, Gate, GateState, gate, verdict
from cockpit.analytics.metrics import max_drawdown, tp2_distance
from cockpit.analytics.trades import TradeRecord
from cockpit.config import GatesConfig

PHASE_NAMES: dict[int, str] = {
    1: "data collection",
    2: "ATR-based dynamic targets",
    3: "signal quality-based scaling",
    4: "direction-based optimization",
    5: "runner with trailing stop",
    6: "ML-based exit prediction",
}


@dataclass(frozen=True, slots=True)
class PhaseStart:
    phase: int
    started_at_ms: int


@dataclass(frozen=True, slots=True)
class PhasePeriod:
    """One phase's trades (the seed's validation query) and the numbers its criteria read."""

    phase: int
    start_ms: int
    end_ms: int | None
    trades: tuple[TradeRecord, ...]

    @property
    def count(self) -> int:
        return len(self.trades)

    @property
    def total_pnl(self) -> float:
        return sum(t.net_pnl for t in self.trades)

    @property
    def avg_pnl(self) -> float | None:
        return self.total_pnl / self.count if self.trades else None

    @property
    def win_rate(self) -> float | None:
        if not self.trades:
            return None
        return sum(1 for t in self.trades if t.net_pnl > 0) / self.count

    @property
    def max_drawdown_usd(self) -> float:
        dd = max_drawdown([t.net_pnl for t in self.trades], 1.0)
        return 0.0 if dd is None else dd.usd

    def avg_of(self, keep: Sequence[TradeRecord]) -> float | None:
        return sum(t.net_pnl for t in keep) / len(keep) if keep else None


def phase_periods(trades: Sequence[TradeRecord], starts: Sequence[PhaseStart]) -> list[PhasePeriod]:
    """Each started phase with its trades, in phase order."""
    ordered = sorted(starts, key=lambda s: s.phase)
    periods = []
    for i, start in enumerate(ordered):
        end = ordered[i + 1].started_at_ms if i + 1 < len(ordered) else None
        mine = tuple(
            t
            for t in trades
            if t.exit_reason is not None
            and t.entry_ts_ms >= start.started_at_ms
            and (end is None or t.entry_ts_ms < end)
        )
        periods.append(PhasePeriod(start.phase, start.started_at_ms, end, mine))
    return periods


def better_by(now: float, before: float, share: float) -> bool:
    """`now` is at least `share` (0.10 = 10 %) better than `before`, read right for losses."""
    return now >= before + share * abs(before)


def _compare(
    name: str, now: float | None, before: float | None, share: float, text: str = "usd"
) -> Check:
    show = fmt.usd if text == "usd" else fmt.share
    threshold = f"≥ {show(before)} + {share:.0%}" if share else f"≥ {show(before)}"
    if now is None or before is None:
        return Check(name, show(now), threshold, GateState.NEED_DATA, "no trades")
    return Check(name, show(now), threshold, verdict(better_by(now, before, share)))


def _enough(now: PhasePeriod, before: PhasePeriod | None, cfg: GatesConfig) -> list[Check]:
    need = cfg.min_trades_significant
    checks = []
    for period in (p for p in (before, now) if p is not None):
        have = period.count
        state = GateState.PASS if have >= need else GateState.NEED_DATA
        checks.append(
            Check(
                f"Phase {period.phase} trades",
                str(have),
                f"≥ {need}",
                state,
                "" if have >= need else f"{have}/{need} Phase {period.phase} trades",
                counted=True,
            )
        )
    return checks


def _winners(period: PhasePeriod) -> list[TradeRecord]:
    return [t for t in period.trades if t.net_pnl > 0]


def _side_avg(period: PhasePeriod, side: str) -> float | None:
    return period.avg_of([t for t in period.trades if t.side == side])


def phase_criteria(
    periods: Sequence[PhasePeriod],
    cfg: GatesConfig,
    *,
    high_min_score: float,
    low_below_score: float,
    fallback_tp2_pct: float,
) -> tuple[Gate, ...]:
    """The success criteria of every started phase that has one before it (see the module)."""
    by_phase = {p.phase: p for p in periods}
    gates: list[Gate] = []
    for period in periods:
        before = by_phase.get(period.phase - 1)
        if before is None or period.phase not in (2, 3, 4, 5):
            continue
        checks = _enough(period, before, cfg)
        if period.phase == 2:
            checks += [
                _compare("average P&L vs Phase 1", period.avg_pnl, before.avg_pnl, 0.10),
                _compare("win rate vs Phase 1", period.win_rate, before.win_rate, 0.0, "share"),
                Check(
                    "max drawdown $",
                    fmt.plain_usd(period.max_drawdown_usd),
                    f"≤ {fmt.plain_usd(before.max_drawdown_usd)}",
                    verdict(period.max_drawdown_usd <= before.max_drawdown_usd),
                ),
            ]
        elif period.phase == 3:
            high = period.avg_of(
                [t for t in period.trades if (t.quality_score or -1) >= high_min_score]
            )
            low = period.avg_of(
                [
                    t
                    for t in period.trades
                    if t.quality_score is not None and t.quality_score < low_below_score
                ]
            )
            checks += [
                _compare("high vs low quality avg P&L", high, low, 0.20),
                _compare("average P&L vs Phase 2", period.avg_pnl, before.avg_pnl, 0.15),
            ]
        elif period.phase == 4:
            checks.append(_direction_check(period, before))
        else:
            win_now = period.avg_of(_winners(period))
            win_before = before.avg_of(_winners(before))
            reached_tp2_lost = [
                t
                for t in period.trades
                if t.mfe_pct is not None
                and t.mfe_pct >= tp2_distance(t, fallback_tp2_pct)[0]
                and t.net_pnl < 0
            ]
            checks += [
                _compare("average winner vs Phase 4", win_now, win_before, 0.20),
                _compare("average P&L vs Phase 4", period.avg_pnl, before.avg_pnl, 0.25),
                Check(
                    "losers that reached TP2",
                    str(len(reached_tp2_lost)),
                    "0",
                    verdict(not reached_tp2_lost),
                ),
            ]
        name = PHASE_NAMES[period.phase]
        gates.append(
            gate(
                f"phase{period.phase}_success",
                f"Ph{period.phase} success",
                f"Phase {period.phase} success ({name}) vs Phase {before.phase}",
                checks,
                f"{period.count} trades, {fmt.usd(period.avg_pnl)}/trade vs "
                f"{fmt.usd(before.avg_pnl)}",
            )
        )
    first = by_phase.get(1)
    last = periods[-1] if periods else None
    if first is not None and last is not None and last.phase != 1:
        checks = _enough(last, first, cfg)
        checks.append(_compare("average P&L vs Phase 1 (2x)", last.avg_pnl, first.avg_pnl, 1.0))
        gates.append(
            gate(
                "overall_success",
                "Overall 2x",
                f"Overall success: 2x P&L vs the baseline (Phase {last.phase} vs Phase 1)",
                checks,
                f"{fmt.usd(last.avg_pnl)}/trade vs {fmt.usd(first.avg_pnl)}",
            )
        )
    return tuple(gates)


def _direction_check(period: PhasePeriod, before: PhasePeriod) -> Check:
    """Gap narrows, or the strong direction improves (either passes)."""
    now_long, now_short = _side_avg(period, "long"), _side_avg(period, "short")
    was_long, was_short = _side_avg(before, "long"), _side_avg(before, "short")
    if None in (now_long, now_short, was_long, was_short):
        return Check(
            "direction gap or strong side",
            fmt.NA,
            "narrower / better",
            GateState.NEED_DATA,
            "both directions in both phases needed",
        )
    assert now_long is not None and now_short is not None
    assert was_long is not None and was_short is not None
    gap_now, gap_before = abs(now_long - now_short), abs(was_long - was_short)
    strong = "long" if was_long >= was_short else "short"
    strong_now, strong_before = (now_long, was_long) if strong == "long" else (now_short, was_short)
    ok = gap_now < gap_before or strong_now > strong_before
    value = f"gap {fmt.usd(gap_now)}, {strong} {fmt.usd(strong_now)}"
    threshold = f"gap < {fmt.usd(gap_before)} or {strong} > {fmt.usd(strong_before)}"
    return Check("direction gap or strong side", value, threshold, verdict(ok))
