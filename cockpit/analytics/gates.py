"""The roadmaps' decision gates: does the journal yet justify each strategy change?

(What a gate is made of is in `gate_parts`, the directional edge in `direction`, the P2 win
condition in `p2_win`; this module holds the phase and success-criteria gates and lists them.)

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

from collections.abc import Callable, Sequence

import numpy as np

from cockpit.analytics import fmt
from cockpit.analytics.ab import trades_needed_for_difference, welch_p
from cockpit.analytics.columns import TradeColumns, as_columns
from cockpit.analytics.direction import DirectionalEdge, directional_edge
from cockpit.analytics.gate_parts import (
    Check,
    Gate,
    GateState,
    PeriodComparison,
    combined_state,
    count_check,
    gate,
    verdict,
)
from cockpit.analytics.metrics import Array, Metrics, mean_or_none
from cockpit.analytics.p2_win import p2_win_gate
from cockpit.analytics.significance import (
    BootstrapIntervals,
    Interval,
    profit_factor_test,
    rate_p_value,
    trades_needed,
    trades_needed_for_rate,
)
from cockpit.analytics.trades import TradeRecord
from cockpit.config import GatesConfig

__all__ = [
    "Check",
    "DirectionalEdge",
    "Gate",
    "GateState",
    "PeriodComparison",
    "combined_state",
    "count_check",
    "directional_edge",
    "evaluate_gates",
    "p2_win_gate",
    "phase2_gate",
    "phase3_gate",
    "phase4_gate",
    "phase5_gate",
    "phase6_gate",
    "profit_factor_gate",
    "win_loss_gate",
    "win_rate_gate",
]


# ------------------------------------------------------------------ the roadmap's phases
def phase2_gate(trades: Sequence[TradeRecord] | TradeColumns, cfg: GatesConfig) -> Gate:
    """Before ATR-based targets: 20+ trades with ATR, ATR in 0.5-3.5, volatility that varies."""
    cols = as_columns(trades)
    atrs = cols.atr[cols.atr_known]
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
        checks.append(Check("ATR range", value, in_range, verdict(not outside), short=short))
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
                verdict(cv >= cfg.atr_min_cv_pct),
                short=f"ATR variation {cv:.0f}%",
            )
        )
    summary = f"{checks[1].brief}, variation {checks[2].value}"
    return gate("phase2", "Ph2 ATR targets", "Phase 2: ATR-based dynamic targets", checks, summary)


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
            Check("r(quality, P&L)", f"{r:.2f}", threshold, verdict(ok), short=f"r {r:.2f}")
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
    return gate("phase3", "Ph3 quality tiers", "Phase 3: quality-based scaling", checks, summary)


def phase4_gate(trades: Sequence[TradeRecord] | TradeColumns, cfg: GatesConfig) -> Gate:
    """Before direction bias: 50+ trades, 25+ each way, one side 3x+ better per trade."""
    cols = as_columns(trades)
    longs, shorts = cols.net[cols.long], cols.net[cols.short]
    edge = DirectionalEdge(
        int(longs.size), int(shorts.size), mean_or_none(longs), mean_or_none(shorts)
    )
    per_dir = cfg.phase4_min_per_direction
    checks = [count_check("trades", cols.size, cfg.phase4_min_trades, "trades")]
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
        detail = _direction_significance(longs, shorts, cfg)
        checks.append(
            Check("directional edge", value, threshold, verdict(ok), short=short, detail=detail)
        )
    return gate("phase4", "Ph4 direction", "Phase 4: direction-based optimisation", checks, short)


def _direction_significance(longs: Array, shorts: Array, cfg: GatesConfig) -> str:
    """How sure the long/short gap is (Welch's t on net P&L per trade), and while it is not
    significant, the trades per side its current size needs (see `ab.py`). Shown beside the
    edge; the seed's gate is the 3x gap, so this never changes the gate's state."""
    p = welch_p(longs, shorts)
    if p is None:
        return ""
    said = f"Welch p {fmt.p_value(p)}"
    if p >= cfg.significance_alpha:
        more = trades_needed_for_difference(
            longs, shorts, alpha=cfg.significance_alpha, power=cfg.significance_power
        )
        if more:
            said += f", need ~{more} more per side"
    return said


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
        ok = pct >= cfg.phase5_min_runner_pct
        said, need = _share_significance(runner.beyond_share, runner.with_mfe, cfg)
        short = f"{pct:.0f}% beyond TP2" + (f" ({said})" if said else "")
        short += f", {need}" if need and ok else ""  # a FAIL's line names the threshold instead
        checks.append(
            Check(
                "MFE beyond TP2",
                f"{fmt.pct(pct)} ({runner.beyond_tp2}/{runner.with_mfe})",
                threshold,
                verdict(ok),
                short=short,
                detail=", ".join(part for part in (said, need) if part),
            )
        )
    return gate(
        "phase5", "Ph5 runners", "Phase 5: runner with trailing stop", checks, checks[1].brief
    )


def _share_significance(share: float, n: int, cfg: GatesConfig) -> tuple[str, str]:
    """("p 0.30", "need ~150 more"): the runner share against its threshold (one-sample
    proportion test), and while p is not below alpha the trades its current size needs."""
    target = cfg.phase5_min_runner_pct / 100.0
    p = rate_p_value(share, target, n)
    if p is None:
        return "", ""
    need = ""
    if p >= cfg.significance_alpha:
        total = trades_needed_for_rate(
            share, target, alpha=cfg.significance_alpha, power=cfg.significance_power
        )
        if total is not None and total > n:
            need = f"need ~{total - n} more"
    return f"p {fmt.p_value(p)}", need


def phase6_gate(trades: Sequence[TradeRecord] | TradeColumns, cfg: GatesConfig) -> Gate:
    """Before ML exits: 100+ trades with every feature (ATR, ADX, RSI, volume ratio, price
    position, quality score, timeframe; direction is always known)."""
    complete = int(np.count_nonzero(as_columns(trades).complete))
    need = cfg.phase6_min_complete_trades
    checks = [count_check("trades with all features", complete, need, "trades with all features")]
    return gate(
        "phase6",
        "Ph6 ML features",
        "Phase 6: ML-based exit prediction",
        checks,
        f"{complete} trades with all features",
    )


# ------------------------------------------------------------------ success criteria
def interval_text(interval: Interval | None, text: Callable[[float | None], str]) -> str:
    """ "95% 48.0%..71.3%", or "" without an interval."""
    if interval is None or (interval.low is None and interval.high is None):
        return ""
    return f"95% {text(interval.low)}..{text(interval.high)}"


def win_rate_gate(metrics: Metrics, cfg: GatesConfig, interval: Interval | None = None) -> Gate:
    """Win rate against the success threshold, with its bootstrap interval when given; while the
    interval still holds the threshold, how many trades the current win rate needs to be told
    apart from it (p < `significance_alpha`, power `significance_power`)."""
    need = cfg.min_trades_significant
    checks = [count_check("trades", metrics.trades, need, "trades")]
    threshold = f"≥ {cfg.success_min_win_rate_pct:g}%"
    summary = ""
    if metrics.win_rate is None:
        checks.append(Check("win rate", fmt.NA, threshold, GateState.NEED_DATA, "no trades"))
    else:
        pct = 100.0 * metrics.win_rate
        ok = pct >= cfg.success_min_win_rate_pct
        spread = interval_text(interval, fmt.share)
        detail = spread
        target = cfg.success_min_win_rate_pct / 100.0
        low, high = (None, None) if interval is None else (interval.low, interval.high)
        if low is not None and high is not None and low <= target <= high:
            total = trades_needed_for_rate(
                metrics.win_rate, target, alpha=cfg.significance_alpha, power=cfg.significance_power
            )
            if total is not None and total > metrics.trades:
                detail += f", need ~{total - metrics.trades} more to tell from {threshold}"
        short = f"{fmt.pct(pct)} ({spread})" if spread else ""
        checks.append(
            Check("win rate", fmt.pct(pct), threshold, verdict(ok), short=short, detail=detail)
        )
        summary = f"{fmt.pct(pct)} of {metrics.trades}" + (f", {detail}" if detail else "")
    return gate(
        "win_rate",
        f"Win rate ≥ {cfg.success_min_win_rate_pct:g}%",
        "Success: win rate",
        checks,
        summary or f"{checks[1].value} of {metrics.trades}",
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
        checks.append(Check(name, value, threshold, verdict(ratio > mult), short=fmt.times(ratio)))
    return gate(
        "win_loss",
        f"Avg win > {mult:g}x loss",
        "Success: average winner vs average loser",
        checks,
        checks[1].brief,
    )


def profit_factor_gate(
    metrics: Metrics,
    cfg: GatesConfig,
    interval: Interval | None = None,
    pnls: Array | None = None,
) -> Gate:
    """Profit factor against the success threshold, with its bootstrap interval when given;
    with the trades' net P&Ls, its p-value against the threshold and, while that is not below
    `significance_alpha`, the trades still needed (`significance.profit_factor_test`)."""
    need = cfg.min_trades_significant
    checks = [count_check("trades", metrics.trades, need, "trades")]
    threshold = f"> {cfg.success_min_profit_factor:g}"
    pf = metrics.profit_factor
    if metrics.trades == 0:
        checks.append(Check("profit factor", fmt.NA, threshold, GateState.NEED_DATA, "no trades"))
    elif pf is None:
        ok = metrics.wins > 0
        value = "no losing trades" if ok else "no wins, no losses"
        checks.append(Check("profit factor", value, threshold, verdict(ok)))
    else:
        ok = pf > cfg.success_min_profit_factor
        spread = interval_text(interval, fmt.ratio)
        said, more = _pf_significance(pnls, cfg)
        detail = ", ".join(part for part in (spread, said, more) if part)
        inner = ", ".join(part for part in (spread, said) if part)
        short = f"{fmt.ratio(pf)} ({inner})" if inner else ""
        if more and ok:  # a FAIL's line names the threshold instead
            short = f"{short or fmt.ratio(pf)}, {more}"
        checks.append(
            Check(
                "profit factor", fmt.ratio(pf), threshold, verdict(ok), short=short, detail=detail
            )
        )
    return gate(
        "profit_factor",
        f"Profit factor > {cfg.success_min_profit_factor:g}",
        "Success: profit factor",
        checks,
        checks[1].brief,
    )


def _pf_significance(pnls: Array | None, cfg: GatesConfig) -> tuple[str, str]:
    """("p 0.21", "need ~140 more"); no count once p is below alpha, nothing without P&Ls."""
    if pnls is None:
        return "", ""
    p, more = profit_factor_test(
        pnls,
        cfg.success_min_profit_factor,
        alpha=cfg.significance_alpha,
        power=cfg.significance_power,
    )
    if p is None:
        return "", ""
    return f"p {fmt.p_value(p)}", f"need ~{more} more" if more else ""


# ------------------------------------------------------------------ all gates
def evaluate_gates(
    trades: Sequence[TradeRecord] | TradeColumns,
    metrics: Metrics,
    comparison: PeriodComparison | None,
    cfg: GatesConfig,
    intervals: BootstrapIntervals | None = None,
) -> tuple[Gate, ...]:
    """Every gate, in the order the panel shows them (phases, success criteria, P2)."""
    trades = as_columns(trades)
    return (
        phase2_gate(trades, cfg),
        phase3_gate(metrics, cfg),
        phase4_gate(trades, cfg),
        phase5_gate(metrics, cfg),
        phase6_gate(trades, cfg),
        win_rate_gate(metrics, cfg, intervals.win_rate if intervals else None),
        win_loss_gate(metrics, cfg),
        profit_factor_gate(
            metrics, cfg, intervals.profit_factor if intervals else None, trades.net
        ),
        p2_win_gate(comparison, cfg),
    )
