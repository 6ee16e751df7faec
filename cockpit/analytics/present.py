"""A snapshot as rows of text: what the analytics screen puts in its tables and the report
writes as Markdown. Both call these functions, so every number reads the same in both places.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from cockpit.analytics import fmt
from cockpit.analytics.attribution import AttributionTable
from cockpit.analytics.direction_regime import direction_regime_rows
from cockpit.analytics.filters import filter_rows
from cockpit.analytics.gates import Gate
from cockpit.analytics.metrics import Metrics
from cockpit.analytics.portfolio import portfolio_rows
from cockpit.analytics.portfolio_correlation import correlation_rows
from cockpit.analytics.significance import Interval
from cockpit.analytics.snapshot import AnalyticsSnapshot

PNL_NOTE = (
    "P&L is net of fees (realized P&L - fees) unless marked gross; a win is a trade with "
    "net P&L > 0."
)
GATE_COLUMNS = ("Gate", "State", "Check", "Result", "Value", "Threshold", "Note")
TABLE_COLUMNS = ("Group", "Trades", "Win %", "Net $", "Avg $", "PF", "Avg MFE %")
COMPARISON_COLUMNS = ("Metric", "Baseline", "Now")
SPARK_BARS = "▁▂▃▄▅▆▇█"


def day_text(ts_ms: int | None) -> str:
    if ts_ms is None:
        return fmt.NA
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def metric_rows(snapshot: AnalyticsSnapshot) -> list[tuple[str, str]]:
    """Label and value of every headline metric, in reading order (short enough for a 72
    column panel)."""
    m = snapshot.metrics
    imported = f" ({snapshot.imported} imported)" if snapshot.imported else ""
    rows = [
        ("Closed trades", f"{snapshot.trades}{imported}"),
        (
            "Period (exit days, UTC)",
            f"{day_text(snapshot.first_exit_ms)} .. {day_text(snapshot.last_exit_ms)} ({m.days} d)",
        ),
    ]
    rows += performance_rows(m)
    rows += interval_rows(snapshot)
    rows += [
        ("Starting equity (for DD %)", f"{snapshot.config.starting_equity_usdt:,.0f} USDT"),
        (
            "r(quality, net P&L)",
            f"{_with_p(m.quality_pnl.r, m.quality_pnl.p)}, {m.scored_trades} scored",
        ),
        ("Spearman(quality, net P&L)", _with_p(m.quality_pnl.rho, m.quality_pnl.rho_p)),
        ("r(quality, MFE)", _with_p(m.quality_mfe.r, m.quality_mfe.p)),
        ("Spearman(quality, MFE)", _with_p(m.quality_mfe.rho, m.quality_mfe.rho_p)),
        ("r(quality, duration)", _with_p(m.quality_duration.r, m.quality_duration.p)),
        (
            "Spearman(quality, duration)",
            _with_p(m.quality_duration.rho, m.quality_duration.rho_p),
        ),
        ("r(quality, win)", _with_p(m.quality_win.r, m.quality_win.p)),
        ("Spearman(quality, win)", _with_p(m.quality_win.rho, m.quality_win.rho_p)),
    ]
    rows += runner_rows(snapshot)
    return rows


def _with_p(value: float | None, p: float | None) -> str:
    """A correlation and its p-value: "0.31 (p 0.10)"."""
    if value is None:
        return fmt.NA
    return f"{value:.2f} (p {fmt.p_value(p)})"


def _interval(interval: Interval | None, text: Callable[[float | None], str]) -> str:
    if interval is None:
        return fmt.NA
    return f"{text(interval.low)} .. {text(interval.high)}"


def interval_rows(snapshot: AnalyticsSnapshot) -> list[tuple[str, str]]:
    """The seeded 95 % bootstrap intervals of the headline ratios (docs/analytics.md)."""
    iv = snapshot.intervals
    return [
        ("Win rate, 95% interval", _interval(iv.win_rate, fmt.share)),
        ("Profit factor, 95% interval", _interval(iv.profit_factor, fmt.ratio)),
        ("Expectancy $, 95% interval", _interval(iv.expectancy, fmt.usd)),
        ("Sharpe per trade, 95% interval", _interval(iv.sharpe_trade, fmt.ratio)),
    ]


def performance_rows(m: Metrics) -> list[tuple[str, str]]:
    """The rows that exist for any set of trades (also used per period)."""
    dd = m.max_drawdown
    dd_text = fmt.NA if dd is None else f"{fmt.plain_usd(dd.usd)} ({fmt.pct(dd.pct, 2)})"
    return [
        ("Net P&L $", fmt.usd(m.total_net)),
        ("Gross P&L / fees $", f"{fmt.usd(m.total_gross)} / {fmt.plain_usd(m.total_fees)}"),
        ("Average net P&L per trade $", fmt.usd(m.avg_net)),
        ("Win rate", f"{fmt.share(m.win_rate)} ({m.wins} W / {m.losses} L)"),
        ("Average win / average loss $", f"{fmt.usd(m.avg_win)} / {fmt.usd(m.avg_loss)}"),
        ("Win/loss ratio", fmt.times(m.win_loss_ratio)),
        ("Profit factor", fmt.ratio(m.profit_factor)),
        ("Expectancy per trade $", fmt.usd(m.expectancy)),
        ("Max drawdown $ (% of equity)", dd_text),
        ("Sharpe per day, x sqrt(365)", fmt.ratio(m.sharpe_daily)),
        ("Sortino per day, x sqrt(365)", fmt.ratio(m.sortino_daily)),
        ("Sharpe per trade (not annualised)", fmt.ratio(m.sharpe_trade)),
        ("Sortino per trade (not annualised)", fmt.ratio(m.sortino_trade)),
    ]


def runner_rows(snapshot: AnalyticsSnapshot) -> list[tuple[str, str]]:
    r = snapshot.metrics.runner
    cfg = snapshot.config
    if r.missed_usd is None:
        missed = "no candles recorded"
    else:
        without = f", {r.no_candle_trades} without candles" if r.no_candle_trades else ""
        missed = f"{fmt.usd(r.missed_usd)} ({r.missed_trades} trades{without})"
    rows = [
        ("MFE beyond TP2", f"{r.beyond_tp2} of {r.with_mfe} ({fmt.share(r.beyond_share)})"),
        (
            "Average MFE / TP2 distance",
            f"{fmt.pct(r.avg_mfe_pct, 2)} / {fmt.pct(r.avg_tp2_distance_pct, 2)}",
        ),
        ("Average MFE of TP2 exits", f"{fmt.pct(r.avg_mfe_tp2_exits_pct, 2)} ({r.tp2_exits})"),
        (
            f"Missed after exit $ ({cfg.runner_share_pct:g}% runner, {cfg.missed_window_h:g} h)",
            missed,
        ),
    ]
    q = snapshot.metrics.exits
    rows += [
        ("MFE capture (exit move / MFE)", f"{fmt.pct(q.capture_pct, 1)} ({q.capture_trades})"),
        ("Average R (net P&L / risk to SL)", f"{fmt.ratio(q.avg_r)} ({q.r_trades})"),
        ("SQN (sqrt n x mean R / sd R)", fmt.ratio(q.sqn)),
    ]
    if r.tp2_fallbacks:
        rows.insert(
            1,
            (
                "Trades without own TP2 level",
                f"{r.tp2_fallbacks} (use {snapshot.fallback_tp2_pct:g}%)",
            ),
        )
    return rows


def gate_rows(gates: Sequence[Gate]) -> list[tuple[str, str, str, str, str, str, str]]:
    """One row per check; the gate's label and state on its first row only."""
    rows: list[tuple[str, str, str, str, str, str, str]] = []
    for gate in gates:
        for i, check in enumerate(gate.checks):
            rows.append(
                (
                    gate.label if i == 0 else "",
                    gate.state.label if i == 0 else "",
                    check.name,
                    check.state.label,
                    check.value,
                    check.threshold,
                    check.note,
                )
            )
    return rows


def gate_line(gate: Gate) -> tuple[str, str, str]:
    """State word, short label and one-line verdict: the dashboard panel's line."""
    return gate.state.label, gate.label, gate.summary


def table_rows(table: AttributionTable) -> list[tuple[str, ...]]:
    return [
        (
            row.key,
            str(row.trades),
            fmt.share(row.win_rate),
            fmt.usd(row.net_pnl),
            fmt.usd(row.expectancy),
            fmt.ratio(row.profit_factor),
            fmt.pct(row.avg_mfe_pct, 2),
        )
        for row in table.rows
    ]


def comparison_rows(snapshot: AnalyticsSnapshot) -> list[tuple[str, str, str]]:
    """Baseline and now side by side (empty without `analytics.baseline_end`)."""
    comparison = snapshot.comparison
    if comparison is None:
        return []
    base = performance_rows(comparison.baseline)
    now = performance_rows(comparison.now)
    rows = [("Trades", str(comparison.baseline.trades), str(comparison.now.trades))]
    rows += [(label, b, n) for (label, b), (_, n) in zip(base, now, strict=True)]
    return rows


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """Block characters for a text chart (the report's equity and drawdown lines)."""
    if not values:
        return ""
    step = max(1, -(-len(values) // width))
    points = [values[min(i + step - 1, len(values) - 1)] for i in range(0, len(values), step)]
    low, high = min(points), max(points)
    if high == low:
        return SPARK_BARS[0] * len(points)
    top = len(SPARK_BARS) - 1
    return "".join(SPARK_BARS[round((v - low) / (high - low) * top)] for v in points)


FILTER_TABLE_COLUMNS = ("Test", "Group", "Trades", "Expectancy $", "95% interval", "p", "Verdict")


def filter_table(snapshot: AnalyticsSnapshot) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Seed 003's hypotheses on one table (the analytics screen's "Filters" tab): each
    confidence bucket and regime with its verdict, each test's answer, the directional edge
    per regime (each side, the gap and whether the edge holds there), and the drawdown with 1
    vs 2+ positions open with the 1.5x rule's answer."""
    rows: list[tuple[str, ...]] = []
    for name, test in (("Confidence", snapshot.confidence), ("Regime", snapshot.regime)):
        if test is None:
            continue
        rows += [(name, *row) for row in filter_rows(test)]
        rows.append((name, "answer", "", "", "", "", test.conclusion))
    edge = snapshot.direction_regime
    if edge is not None:
        name = "Direction x regime"
        rows += [(name, *row) for row in direction_regime_rows(edge)]
        rows.append((name, "answer", "", "", "", "", edge.conclusion))
    result = snapshot.portfolio
    if result is not None:
        for kind, events, avg, largest in portfolio_rows(result):
            rows.append(("Portfolio DD", kind, "", f"avg {avg}", f"largest {largest}", "", events))
        rows.append(("Portfolio DD", "answer", "", "", "", "", result.conclusion))
    corr = snapshot.portfolio_correlation
    if corr is not None:
        for name, pairs, r, rho, leverage in correlation_rows(corr):
            rows.append(("Portfolio corr", name, pairs, f"r {r}", f"rho {rho}", "", leverage))
        rows.append(("Portfolio corr", "answer", "", "", "", "", corr.conclusion))
    return FILTER_TABLE_COLUMNS, rows
