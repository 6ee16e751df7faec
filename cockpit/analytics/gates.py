"""The roadmaps' decision gates: does the journal yet justify each strategy change?

Each gate is a list of checks. A check is `pass`, `fail`, or `need_data` (not enough trades to
say, with what is missing: "14/20 trades with ATR"). A gate needs data while any of its checks
does (its other checks are still computed and shown, but not acted on), fails when a check fails,
passes when all pass. The P2 win condition is the exception: it passes when ANY one of its four
criteria improves by its target (roadmap: "need ONE of these") while no other moved the wrong way
by as much as its own target, and it is flagged "not significant" while either period has fewer
than `min_trades_significant` trades.

Thresholds come from `cockpit.config.GatesConfig` (roadmap defaults); comparisons follow the
roadmap's words: "20+", "30%+", "3x+", "50%+" are >=; "correlation > 0.3", "average winner > 2x
average loser", "profit factor > 2.0" are strictly greater. Sources and the interpretation of
each gate: docs/analytics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from cockpit.analytics import fmt
from cockpit.analytics.metrics import Array, Metrics, mean_or_none
from cockpit.analytics.significance import trades_needed
from cockpit.analytics.trades import TradeRecord
from cockpit.config import GatesConfig


class GateState(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NEED_DATA = "need_data"

    @property
    def label(self) -> str:
        """The word shown next to the colour, so the state never depends on colour alone."""
        return {"pass": "PASS", "fail": "FAIL", "need_data": "NEED"}[self.value]


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a gate, with its current value and threshold as text."""

    name: str
    value: str
    threshold: str
    state: GateState
    missing: str = ""
    short: str = ""
    """A compact value for the one-line verdict ("r 0.17"); `value` when empty."""
    counted: bool = False
    """A plain "enough of X?" check, whose value and threshold already say what is missing."""

    @property
    def brief(self) -> str:
        return self.short or self.value

    @property
    def note(self) -> str:
        """What the detail table adds beside value and threshold (why data is missing)."""
        return "" if self.counted else self.missing


@dataclass(frozen=True, slots=True)
class Gate:
    """A decision gate: `label` fits the dashboard panel, `summary` is its one-line verdict."""

    key: str
    label: str
    title: str
    state: GateState
    summary: str
    checks: tuple[Check, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class PeriodComparison:
    """Baseline (trades entered before `baseline_end_ms`) against now (entered from it on)."""

    baseline_end_ms: int
    baseline: Metrics
    now: Metrics


# ------------------------------------------------------------------ building blocks
def count_check(name: str, have: int, need: int, what: str) -> Check:
    """Enough of something? Missing reads "14/20 trades with ATR"."""
    if have >= need:
        return Check(name, str(have), f"≥ {need}", GateState.PASS, counted=True)
    missing = f"{have}/{need} {what}"
    return Check(name, str(have), f"≥ {need}", GateState.NEED_DATA, missing, counted=True)


def combined_state(checks: Sequence[Check]) -> GateState:
    states = {check.state for check in checks}
    if GateState.NEED_DATA in states:
        return GateState.NEED_DATA
    if GateState.FAIL in states:
        return GateState.FAIL
    return GateState.PASS


def _gate(key: str, label: str, title: str, checks: list[Check], pass_summary: str) -> Gate:
    """All-checks gate. Its one-line summary, kept short for the dashboard panel, is what is
    missing, the failed check's value and threshold, or `pass_summary`."""
    state = combined_state(checks)
    if state is GateState.NEED_DATA:
        # Too few trades says it all; other reasons only when the counts are met.
        waiting = [c for c in checks if c.state is GateState.NEED_DATA]
        counted = [c for c in waiting if c.counted]
        summary = "; ".join(c.missing for c in counted or waiting[:1])
    elif state is GateState.FAIL:
        failed = next(c for c in checks if c.state is GateState.FAIL)
        summary = f"{failed.brief}, need {failed.threshold}"
    else:
        summary = pass_summary
    return Gate(key, label, title, state, summary, tuple(checks))


def _verdict(ok: bool) -> GateState:
    return GateState.PASS if ok else GateState.FAIL


# ------------------------------------------------------------------ the roadmap's phases
def phase2_gate(trades: Sequence[TradeRecord], cfg: GatesConfig) -> Gate:
    """Before ATR-based targets: 20+ trades with ATR, ATR in 0.5-3.5, volatility that varies."""
    atrs = np.asarray([t.atr for t in trades if t.atr is not None], dtype=np.float64)
    in_range = f"all in {cfg.atr_min:g}-{cfg.atr_max:g}"
    checks = [
        count_check("trades with ATR", atrs.size, cfg.phase2_min_atr_trades, "trades with ATR")
    ]
    if atrs.size == 0:
        checks.append(Check("ATR range", fmt.NA, in_range, GateState.NEED_DATA, "no ATR yet"))
    else:
        outside = int(np.count_nonzero((atrs < cfg.atr_min) | (atrs > cfg.atr_max)))
        span = f"{atrs.min():.2f}-{atrs.max():.2f}"
        if outside:
            value, short = f"{span} ({outside} of {atrs.size} outside)", f"{outside} ATR outside"
        else:
            value, short = span, f"ATR {span}"
        checks.append(Check("ATR range", value, in_range, _verdict(not outside), short=short))
    cv = _coefficient_of_variation(atrs)
    threshold = f"≥ {cfg.atr_min_cv_pct:g}%"
    if cv is None:
        checks.append(
            Check("ATR variation", fmt.NA, threshold, GateState.NEED_DATA, "2+ ATR values needed")
        )
    else:
        checks.append(
            Check(
                "ATR variation",
                fmt.pct(cv),
                threshold,
                _verdict(cv >= cfg.atr_min_cv_pct),
                short=f"ATR variation {cv:.0f}%",
            )
        )
    summary = f"{checks[1].brief}, variation {checks[2].value}"
    return _gate("phase2", "Ph2 ATR targets", "Phase 2: ATR-based dynamic targets", checks, summary)


def _coefficient_of_variation(values: Array) -> float | None:
    """std (ddof=1) / mean in percent: how much the volatility itself moves."""
    if values.size < 2 or float(values.mean()) <= 0:
        return None
    return float(values.std(ddof=1) / values.mean()) * 100.0


def phase3_gate(metrics: Metrics, cfg: GatesConfig) -> Gate:
    """Before quality tiers: 30+ scored trades, r(quality, net P&L) > 0.3 and significant
    (p < `significance_alpha`; roadmap: "statistical significance: high quality scores show
    measurably better outcomes"). A correlation above 0.3 that is not yet significant waits
    for data and says how many more trades the current r needs (power `significance_power`)."""
    need = cfg.phase3_min_scored_trades
    checks = [count_check("scored trades", metrics.scored_trades, need, "scored trades")]
    corr = metrics.quality_pnl
    r, p = corr.r, corr.p
    threshold = f"> {cfg.phase3_min_correlation:.2f}"
    alpha = f"< {cfg.significance_alpha:g}"
    if r is None:
        why = (
            "2+ scored trades needed"
            if metrics.scored_trades < 2
            else "r undefined: no spread in scores or P&L"
        )
        checks.append(Check("r(quality, P&L)", fmt.NA, threshold, GateState.NEED_DATA, why))
    else:
        ok = r > cfg.phase3_min_correlation
        checks.append(
            Check("r(quality, P&L)", f"{r:.2f}", threshold, _verdict(ok), short=f"r {r:.2f}")
        )
    if r is None or p is None:
        checks.append(
            Check("p-value of r", fmt.NA, alpha, GateState.NEED_DATA, "3+ scored trades needed")
        )
        summary = f"r {checks[1].value} over {metrics.scored_trades} scored"
    else:
        stated = f"r {r:.2f} (p {fmt.p_value(p)})"
        if p < cfg.significance_alpha:
            checks.append(Check("p-value of r", fmt.p_value(p), alpha, GateState.PASS))
        elif r > cfg.phase3_min_correlation:
            total = trades_needed(r, alpha=cfg.significance_alpha, power=cfg.significance_power)
            more = max(1, (total or 0) - corr.n)
            missing = f"{stated}, need ~{more} more"
            checks.append(
                Check("p-value of r", fmt.p_value(p), alpha, GateState.NEED_DATA, missing)
            )
        else:
            checks.append(
                Check("p-value of r", fmt.p_value(p), alpha, GateState.FAIL, short=stated)
            )
        summary = f"{stated} over {metrics.scored_trades} scored"
    return _gate("phase3", "Ph3 quality tiers", "Phase 3: quality-based scaling", checks, summary)


@dataclass(frozen=True, slots=True)
class DirectionalEdge:
    """Average net P&L per trade of each side, which side leads and by how much.

    The edge (docs/analytics.md, "Directional edge") is read so that a larger gap never reads
    smaller, and so that it does not depend on position size:
    - both sides profitable: `strength` = leader's average / other's average (>= 1), the
      "x times more profitable" of two profits;
    - only the leader profitable (the other flat or losing): `strength` is infinite, above
      any multiple of two profits; the roadmap's own figure for this case, "shorts 6.6x more
      profitable than longs (+2.46 vs -0.37 avg)", is the leader's gain over the other side's
      loss, kept as `gain_loss` and shown, but it is not the edge: it shrinks as the losing side
      loses more;
    - the leader not profitable: `strength` 0, no edge.
    """

    long_trades: int
    short_trades: int
    long_avg: float | None
    short_avg: float | None

    @property
    def sides(self) -> tuple[str, float, str, float] | None:
        """(leading side, its average, other side, its average); None unless both sides
        traded. On a tie the long side is listed first (`leader` is then None)."""
        if self.long_avg is None or self.short_avg is None:
            return None
        if self.short_avg > self.long_avg:
            return "short", self.short_avg, "long", self.long_avg
        return "long", self.long_avg, "short", self.short_avg

    @property
    def leader(self) -> str | None:
        """The side with the higher average net P&L per trade; None on a tie or one side only."""
        sides = self.sides
        if sides is None or sides[1] == sides[3]:
            return None
        return sides[0]

    @property
    def strength(self) -> float | None:
        """How far ahead the leader is, monotone in the gap and scale-free (see the class)."""
        sides = self.sides
        if sides is None:
            return None
        _, top, _, other = sides
        if top <= 0:
            return 0.0
        if other <= 0:
            return math.inf
        return top / other

    @property
    def gain_loss(self) -> float | None:
        """The roadmap's figure: the leader's gain / |the other side's loss| ("6.6x" for +2.46
        vs -0.37); None unless the leader gains and the other side loses."""
        sides = self.sides
        if sides is None:
            return None
        _, top, _, other = sides
        if top <= 0 or other >= 0:
            return None
        return top / -other

    def passes(self, min_edge: float) -> bool:
        """A leader exists and is at least `min_edge` times ahead (always, when only it profits)."""
        strength = self.strength
        return self.leader is not None and strength is not None and strength >= min_edge

    def reading(self) -> str:
        """The edge in words, the leading side first: "short leads: 3.0x"."""
        sides = self.sides
        if sides is None:
            return fmt.NA
        best, top, other_side, other = sides
        if top <= 0:
            return "neither side profitable"
        if self.leader is None:
            return f"even: {fmt.times(1.0, 1)}"
        if other > 0:
            return f"{best} leads: {fmt.times(top / other, 1)}"
        if other == 0:
            detail = f"{other_side} flat"
        elif top >= -other:
            detail = f"gain {fmt.times(top / -other, 1)} loss"
        else:
            detail = f"loss {fmt.times(-other / top, 1)} gain"
        return f"{best} leads: only {best} profits ({detail})"


def directional_edge(trades: Sequence[TradeRecord]) -> DirectionalEdge:
    longs = [t.net_pnl for t in trades if t.side == "long"]
    shorts = [t.net_pnl for t in trades if t.side == "short"]
    return DirectionalEdge(len(longs), len(shorts), mean_or_none(longs), mean_or_none(shorts))


def phase4_gate(trades: Sequence[TradeRecord], cfg: GatesConfig) -> Gate:
    """Before direction bias: 50+ trades, 25+ each way, one side 3x+ better per trade."""
    edge = directional_edge(trades)
    per_dir = cfg.phase4_min_per_direction
    checks = [count_check("trades", len(trades), cfg.phase4_min_trades, "trades")]
    lacking = [
        f"{name} {have}/{per_dir}"
        for name, have in (("longs", edge.long_trades), ("shorts", edge.short_trades))
        if have < per_dir
    ]
    checks.append(
        Check(
            "trades per direction",
            f"long {edge.long_trades}, short {edge.short_trades}",
            f"≥ {per_dir} each",
            GateState.NEED_DATA if lacking else GateState.PASS,
            ", ".join(lacking),
            counted=True,
        )
    )
    threshold = f"≥ {cfg.phase4_min_edge:g}x"
    sides = edge.sides
    short = edge.reading()
    if sides is None:
        checks.append(
            Check("directional edge", short, threshold, GateState.NEED_DATA, "trades both ways")
        )
    else:
        best, top, other, low = sides
        value = f"{short} ({best} {fmt.usd(top)} vs {other} {fmt.usd(low)} per trade)"
        ok = edge.passes(cfg.phase4_min_edge)
        checks.append(Check("directional edge", value, threshold, _verdict(ok), short=short))
    return _gate("phase4", "Ph4 direction", "Phase 4: direction-based optimisation", checks, short)


def phase5_gate(metrics: Metrics, cfg: GatesConfig) -> Gate:
    """Before runners: 30 %+ of trades with an MFE beyond their TP2 distance."""
    runner = metrics.runner
    checks = [
        count_check("trades with MFE", runner.with_mfe, cfg.runner_min_trades, "trades with MFE")
    ]
    threshold = f"≥ {cfg.phase5_min_runner_pct:g}%"
    if runner.beyond_share is None:
        checks.append(Check("MFE beyond TP2", fmt.NA, threshold, GateState.NEED_DATA, "no MFE yet"))
    else:
        pct = 100.0 * runner.beyond_share
        checks.append(
            Check(
                "MFE beyond TP2",
                f"{fmt.pct(pct)} ({runner.beyond_tp2}/{runner.with_mfe})",
                threshold,
                _verdict(pct >= cfg.phase5_min_runner_pct),
                short=f"{pct:.0f}% beyond TP2",
            )
        )
    return _gate(
        "phase5", "Ph5 runners", "Phase 5: runner with trailing stop", checks, checks[1].brief
    )


def phase6_gate(trades: Sequence[TradeRecord], cfg: GatesConfig) -> Gate:
    """Before ML exits: 100+ trades with every feature (ATR, ADX, RSI, volume ratio, price
    position, quality score, timeframe; direction is always known)."""
    complete = sum(1 for t in trades if t.has_complete_features)
    need = cfg.phase6_min_complete_trades
    checks = [count_check("trades with all features", complete, need, "trades with all features")]
    return _gate(
        "phase6",
        "Ph6 ML features",
        "Phase 6: ML-based exit prediction",
        checks,
        f"{complete} trades with all features",
    )


# ------------------------------------------------------------------ success criteria
def win_rate_gate(metrics: Metrics, cfg: GatesConfig) -> Gate:
    need = cfg.min_trades_significant
    checks = [count_check("trades", metrics.trades, need, "trades")]
    threshold = f"≥ {cfg.success_min_win_rate_pct:g}%"
    if metrics.win_rate is None:
        checks.append(Check("win rate", fmt.NA, threshold, GateState.NEED_DATA, "no trades"))
    else:
        pct = 100.0 * metrics.win_rate
        ok = pct >= cfg.success_min_win_rate_pct
        checks.append(Check("win rate", fmt.pct(pct), threshold, _verdict(ok)))
    return _gate(
        "win_rate",
        f"Win rate ≥ {cfg.success_min_win_rate_pct:g}%",
        "Success: win rate",
        checks,
        f"{checks[1].value} of {metrics.trades}",
    )


def win_loss_gate(metrics: Metrics, cfg: GatesConfig) -> Gate:
    need = cfg.min_trades_significant
    mult = cfg.success_min_win_loss_ratio
    name = "avg win / avg loss"
    checks = [count_check("trades", metrics.trades, need, "trades")]
    threshold = f"> {mult:g}x"
    if metrics.trades == 0:
        checks.append(Check(name, fmt.NA, threshold, GateState.NEED_DATA, "no trades"))
    elif metrics.wins == 0:
        checks.append(Check(name, "no winning trades", threshold, GateState.FAIL))
    elif metrics.losses == 0:
        checks.append(Check(name, "no losing trades", threshold, GateState.PASS))
    else:
        ratio = metrics.win_loss_ratio
        assert ratio is not None  # wins and losses both exist
        value = f"{fmt.times(ratio)} ({fmt.usd(metrics.avg_win)} / {fmt.usd(metrics.avg_loss)})"
        checks.append(Check(name, value, threshold, _verdict(ratio > mult), short=fmt.times(ratio)))
    return _gate(
        "win_loss",
        f"Avg win > {mult:g}x loss",
        "Success: average winner vs average loser",
        checks,
        checks[1].brief,
    )


def profit_factor_gate(metrics: Metrics, cfg: GatesConfig) -> Gate:
    need = cfg.min_trades_significant
    checks = [count_check("trades", metrics.trades, need, "trades")]
    threshold = f"> {cfg.success_min_profit_factor:g}"
    pf = metrics.profit_factor
    if metrics.trades == 0:
        checks.append(Check("profit factor", fmt.NA, threshold, GateState.NEED_DATA, "no trades"))
    elif pf is None:
        ok = metrics.wins > 0
        value = "no losing trades" if ok else "no wins, no losses"
        checks.append(Check("profit factor", value, threshold, _verdict(ok)))
    else:
        ok = pf > cfg.success_min_profit_factor
        checks.append(Check("profit factor", fmt.ratio(pf), threshold, _verdict(ok)))
    return _gate(
        "profit_factor",
        f"Profit factor > {cfg.success_min_profit_factor:g}",
        "Success: profit factor",
        checks,
        checks[1].value,
    )


# ------------------------------------------------------------------ P2 win condition
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
    if any(c.state is GateState.NEED_DATA for c in counts):
        note = f"fewer than {need} trades: not significant"
        missing = ", ".join(c.missing for c in counts if c.state is GateState.NEED_DATA)
        verdict = {GateState.PASS: "would pass", GateState.FAIL: "would fail"}.get(state, "")
        state = GateState.NEED_DATA
        summary = f"{missing}: not significant" + (f" ({verdict})" if verdict else "")
    return Gate(key, label, title, state, summary, (*counts, *checks), note)


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
    check = Check(name, value, threshold, _verdict(change >= target))
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
    check = Check(name, value, threshold, _verdict(change <= -target))
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
    check = Check(name, value, threshold, _verdict(ok))
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
        check = Check(name, f"{fmt.ratio(b)} -> no losses", threshold, _verdict(ok))
        return _Criterion(check, f"{name} {fmt.ratio(b)} -> no losses", not ok)
    change = _relative_change(n, b)
    value = f"{fmt.signed_pct(change)} ({fmt.ratio(b)} -> {fmt.ratio(n)})"
    check = Check(name, value, threshold, _verdict(change >= target))
    return _Criterion(check, f"{name} {fmt.signed_pct(change)}", change <= -target)


# ------------------------------------------------------------------ all gates
def evaluate_gates(
    trades: Sequence[TradeRecord],
    metrics: Metrics,
    comparison: PeriodComparison | None,
    cfg: GatesConfig,
) -> tuple[Gate, ...]:
    """Every gate, in the order the panel shows them (phases, success criteria, P2)."""
    return (
        phase2_gate(trades, cfg),
        phase3_gate(metrics, cfg),
        phase4_gate(trades, cfg),
        phase5_gate(metrics, cfg),
        phase6_gate(trades, cfg),
        win_rate_gate(metrics, cfg),
        win_loss_gate(metrics, cfg),
        profit_factor_gate(metrics, cfg),
        p2_win_gate(comparison, cfg),
    )
