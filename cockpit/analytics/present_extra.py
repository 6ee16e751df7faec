"""A/B groups, shadow vs live fidelity and the chosen baseline as rows of text: what the
analytics screen's own tabs show and `cockpit report` writes (the same functions for both, as
`present.py` does for the rest)."""

from __future__ import annotations

from cockpit.analytics import fmt
from cockpit.analytics.ab import GroupTest
from cockpit.analytics.fidelity import FidelityRow
from cockpit.analytics.snapshot import AnalyticsSnapshot

AB_GROUP_COLUMNS = ("Group", "Trades", "Win %", "Avg $", "PF")
AB_TEST_COLUMNS = ("Comparison", "Avg $ diff", "Welch p", "Mann-Whitney p", "Still needed")
FIDELITY_COLUMNS = (
    "Trade",
    "Fills",
    "Compared",
    "Slippage $",
    "Slippage bps",
    "Fee diff $",
    "Live - paper $",
    "Avg delay s",
    "Max delay s",
)


def still_needed(test: GroupTest, alpha: float) -> str:
    """The trades per group still needed for the difference found so far to reach p < alpha."""
    if test.more_needed is None:
        return "n/a (2+ trades a group, a difference)"
    if test.more_needed == 0:
        return f"none: enough for p < {alpha:g}"
    return f"~{test.more_needed} more per group"


def ab_scope(snapshot: AnalyticsSnapshot) -> str:
    """Which trades the A/B tables compare."""
    if snapshot.ab_test is not None:
        return f"A/B test {snapshot.ab_test!r}: the trades entered while it ran."
    return "Every trade with an A/B group (no [[ab]] test in the config)."


def ab_group_rows(snapshot: AnalyticsSnapshot) -> list[tuple[str, ...]]:
    ab = snapshot.ab
    if ab is None:
        return []
    return [
        (
            g.name,
            str(g.trades),
            fmt.share(g.win_rate),
            fmt.usd(g.avg_pnl),
            fmt.ratio(g.profit_factor),
        )
        for g in ab.groups
    ]


def ab_test_rows(snapshot: AnalyticsSnapshot) -> list[tuple[str, ...]]:
    ab = snapshot.ab
    if ab is None:
        return []
    alpha = snapshot.config.gates.significance_alpha
    return [
        (
            f"{t.group} vs {t.baseline}",
            fmt.usd(t.diff),
            fmt.p_value(t.welch_p),
            fmt.p_value(t.mann_whitney_p),
            still_needed(t, alpha),
        )
        for t in ab.tests
    ]


def _seconds(value: float | None) -> str:
    return fmt.NA if value is None else f"{value:.1f}"


def _fidelity_row(row: FidelityRow) -> tuple[str, ...]:
    return (
        row.label,
        str(row.fills),
        str(row.compared),
        fmt.usd(row.slippage_usd),
        fmt.NA if row.slippage_bps is None else f"{row.slippage_bps:+.1f}",
        fmt.usd(row.fee_diff_usd),
        fmt.usd(row.live_cost_usd),
        _seconds(row.avg_delay_s),
        _seconds(row.max_delay_s),
    )


def fidelity_rows(snapshot: AnalyticsSnapshot) -> list[tuple[str, ...]]:
    """One row per live trade, then the total (empty without LIVE-SMALL fills)."""
    report = snapshot.fidelity
    if report is None:
        return []
    return [*(_fidelity_row(r) for r in report.trades), _fidelity_row(report.total)]


def fidelity_missing(snapshot: AnalyticsSnapshot) -> list[str]:
    """The live fills with no twin, by reason: "1 fill not compared: no tick through the stop
    seen by the cockpit" (empty when every fill was compared)."""
    report = snapshot.fidelity
    if report is None:
        return []
    return [
        f"{n} fill{'s' if n != 1 else ''} not compared: {reason}"
        for reason, n in report.total.not_compared
    ]


FIDELITY_NOTE = (
    "Each LIVE-SMALL fill against the paper model's fill on the same ticks; positive: live "
    "cost more than paper. Delay: live fill time - paper fill time."
)


def baseline_text(snapshot: AnalyticsSnapshot) -> str:
    """Which baseline the P2 win condition uses, in words."""
    choice = snapshot.baseline
    if choice is not None:
        return f"Baseline: {choice.kind}:{choice.value} (chosen with b on the screen or --baseline)"
    end = snapshot.config.baseline_end
    if end is not None:
        return f"Baseline: trades entered before {end:%Y-%m-%d} (analytics.baseline_end)"
    return "No baseline chosen: press b to choose one (date, phase, A/B group or policy)"
