"""The P2 win condition: Sharpe +20 %, max drawdown -20 %, win rate +10 points (capped at 65 %),
profit factor +25 %: ONE of them between the baseline period and now, provided no other criterion
moved the wrong way by as much as its own target, flagged "not significant" while either period
has fewer than `min_trades_significant` trades (docs/analytics.md, "P2 win condition").
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.analytics import fmt
from cockpit.analytics.gate_parts import (
    Check,
    Gate,
    GateState,
    PeriodComparison,
    count_check,
    verdict,
)
from cockpit.analytics.metrics import Metrics
from cockpit.config import GatesConfig


@dataclass(frozen=True, slots=True)
class _Criterion:
    """One P2 criterion: its check, its change in words ("Sharpe -55.0%") and whether
    it moved the wrong way by at least its own target (a collapse, which vetoes a win)."""

    check: Check
    change: str = ""
    collapsed: bool = False


def _relative_change(now: float, base: float) -> float:
    """(now - base) / |base| in percent: +20 means 20 % better for a bigger-is-better number."""
    return (now - base) / abs(base) * 100.0


def p2_win_gate(comparison: PeriodComparison | None, cfg: GatesConfig) -> Gate:
    """Sharpe +20 %, max drawdown -20 %, win rate +10 points (capped at 65 %), profit factor
    +25 %: ONE of them, between the baseline period and now, provided no other criterion moved
    the wrong way by as much as its own target (docs/analytics.md, "P2 win condition")."""
    key, label, title = "p2_win", "Win vs baseline", "P2 win condition (baseline vs now)"
    if comparison is None:
        check = Check(
            "baseline period",
            "not set",
            "analytics.baseline_end",
            GateState.NEED_DATA,
            "set analytics.baseline_end",
        )
        return Gate(key, label, title, GateState.NEED_DATA, check.missing, (check,))
    base, now = comparison.baseline, comparison.now
    need = cfg.min_trades_significant
    counts = [
        count_check("baseline trades", base.trades, need, "baseline trades"),
        count_check("trades since baseline", now.trades, need, "trades now"),
    ]
    criteria = [
        _sharpe_criterion(base, now, cfg),
        _drawdown_criterion(base, now, cfg),
        _win_rate_criterion(base, now, cfg),
        _profit_factor_criterion(base, now, cfg),
    ]
    checks = [c.check for c in criteria]
    passed = [c for c in criteria if c.check.state is GateState.PASS]
    collapsed = [c for c in criteria if c.collapsed]
    worse = ", ".join(c.change for c in collapsed)
    if passed and not collapsed:
        first = passed[0].check
        state, summary = GateState.PASS, f"{first.name} {first.brief}"
    elif passed:
        state, summary = GateState.FAIL, f"{passed[0].change} but {worse}: not a win"
    elif all(c.state is GateState.NEED_DATA for c in checks):
        state, summary = GateState.NEED_DATA, "no criterion measurable yet"
    else:
        state = GateState.FAIL
        summary = f"no criterion met; worse: {worse}" if collapsed else "no criterion met"
    note = ""
    said = _significance(comparison, cfg)
    if said:
        summary = f"{summary}; {said}"
    if any(c.state is GateState.NEED_DATA for c in counts):
        note = f"fewer than {need} trades: not significant"
        missing = ", ".join(c.missing for c in counts if c.state is GateState.NEED_DATA)
        verdict = {GateState.PASS: "would pass", GateState.FAIL: "would fail"}.get(state, "")
        state = GateState.NEED_DATA
        summary = f"{missing}: not significant" + (f" ({verdict})" if verdict else "")
        summary += f"; {said}" if said else ""
    return Gate(key, label, title, state, summary, (*counts, *checks), note)


def _significance(comparison: PeriodComparison, cfg: GatesConfig) -> str:
    """ "avg P&L Welch p 0.22, need ~98 more per period": how sure the change in P&L per trade
    is, and while it is not, the trades per period its current size needs."""
    p = comparison.pnl_p
    if p is None:
        return ""
    said = f"avg P&L Welch p {fmt.p_value(p)}"
    if p >= cfg.significance_alpha and comparison.pnl_more:
        said += f", need ~{comparison.pnl_more} more per period"
    return said


def _sharpe_criterion(base: Metrics, now: Metrics, cfg: GatesConfig) -> _Criterion:
    name, target = "Sharpe (daily)", cfg.p2_sharpe_improvement_pct
    threshold = f"≥ +{target:g}%"
    b, n = base.sharpe_daily, now.sharpe_daily
    if b is None or n is None or b == 0:
        return _Criterion(
            Check(
                name,
                f"{fmt.ratio(b)} -> {fmt.ratio(n)}",
                threshold,
                GateState.NEED_DATA,
                "Sharpe undefined in a period",
            )
        )
    change = _relative_change(n, b)
    value = f"{fmt.signed_pct(change)} ({fmt.ratio(b)} -> {fmt.ratio(n)})"
    check = Check(name, value, threshold, verdict(change >= target))
    return _Criterion(check, f"Sharpe {fmt.signed_pct(change)}", change <= -target)


def _drawdown_criterion(base: Metrics, now: Metrics, cfg: GatesConfig) -> _Criterion:
    name, target = "max drawdown $", cfg.p2_drawdown_improvement_pct
    threshold = f"≤ -{target:g}%"
    b = base.max_drawdown.usd if base.max_drawdown else None
    n = now.max_drawdown.usd if now.max_drawdown else None
    if b is None or n is None or b == 0:
        return _Criterion(
            Check(
                name,
                f"{fmt.plain_usd(b)} -> {fmt.plain_usd(n)}",
                threshold,
                GateState.NEED_DATA,
                "no baseline drawdown to improve on",
            )
        )
    change = (n - b) / b * 100.0
    value = f"{fmt.signed_pct(change)} ({fmt.plain_usd(b)} -> {fmt.plain_usd(n)})"
    check = Check(name, value, threshold, verdict(change <= -target))
    return _Criterion(check, f"drawdown {fmt.signed_pct(change)}", change >= target)


_EPSILON_PTS = 1e-9
"""Win rates are ratios of counts: 18/30 must compare equal to 50 % + 10 points."""


def _win_rate_criterion(base: Metrics, now: Metrics, cfg: GatesConfig) -> _Criterion:
    """Now >= base + 10 points, the target capped at 65 %; an improvement is always required,
    so a baseline at or above the cap passes on any rise and never by standing still."""
    name, points, cap = "win rate", cfg.p2_win_rate_points, cfg.p2_win_rate_cap_pct
    if base.win_rate is None or now.win_rate is None:
        return _Criterion(
            Check(
                name, fmt.NA, f"+{points:g} points", GateState.NEED_DATA, "a period without trades"
            )
        )
    b, n = 100.0 * base.win_rate, 100.0 * now.win_rate
    if b + points <= cap:
        threshold = f"≥ {fmt.pct(b + points)} (+{points:g} pts)"
        ok = n >= b + points - _EPSILON_PTS
    elif b < cap:
        threshold = f"≥ {fmt.pct(cap)} (+{points:g} pts, cap {cap:g}%)"
        ok = n >= cap - _EPSILON_PTS
    else:
        threshold = f"> {fmt.pct(b)} (at or above the {cap:g}% cap: must rise)"
        ok = n > b + _EPSILON_PTS
    change = f"{n - b:+.1f} pts"
    value = f"{change} ({fmt.pct(b)} -> {fmt.pct(n)})"
    check = Check(name, value, threshold, verdict(ok))
    return _Criterion(check, f"{name} {change}", n - b <= -points + _EPSILON_PTS)


def _profit_factor_criterion(base: Metrics, now: Metrics, cfg: GatesConfig) -> _Criterion:
    name, target = "profit factor", cfg.p2_profit_factor_improvement_pct
    threshold = f"≥ +{target:g}%"
    b, n = base.profit_factor, now.profit_factor
    if b is None or b == 0:
        return _Criterion(
            Check(
                name,
                f"{fmt.ratio(b)} -> {fmt.ratio(n)}",
                threshold,
                GateState.NEED_DATA,
                "baseline profit factor undefined or 0",
            )
        )
    if n is None:
        ok = now.wins > 0
        check = Check(name, f"{fmt.ratio(b)} -> no losses", threshold, verdict(ok))
        return _Criterion(check, f"{name} {fmt.ratio(b)} -> no losses", not ok)
    change = _relative_change(n, b)
    value = f"{fmt.signed_pct(change)} ({fmt.ratio(b)} -> {fmt.ratio(n)})"
    check = Check(name, value, threshold, verdict(change >= target))
    return _Criterion(check, f"{name} {fmt.signed_pct(change)}", change <= -target)
