"""Seed 000 Phase 4, "Edge is consistent across different market conditions": the direction x
regime table on adversarial journals; every interval and p-value is checked against scipy.stats."""

from __future__ import annotations

import pytest
from scipy import stats

from cockpit.analytics import present, report
from cockpit.analytics.attribution import Tier
from cockpit.analytics.columns import columns
from cockpit.analytics.direction_regime import direction_regime
from cockpit.analytics.snapshot import build_snapshot
from cockpit.analytics.trades import TradeRecord
from cockpit.config import AnalyticsConfig, GatesConfig
from tests.analytics.builders import trade

CFG = GatesConfig()
TIERS = [Tier("high", 80), Tier("medium", 70), Tier("low", 60)]


def _noisy(mean: float, n: int, spread: float = 1.0) -> list[float]:
    """n values with exactly this mean, alternating around it."""
    return [mean + (spread if k % 2 else -spread) for k in range(n - n % 2)] + (
        [mean] if n % 2 else []
    )


class Journal:
    def __init__(self) -> None:
        self.trades: list[TradeRecord] = []

    def add(self, regime: str | None, side: str, nets: list[float]) -> list[float]:
        start = len(self.trades)
        self.trades += [trade(p, i=start + k, side=side, regime=regime) for k, p in enumerate(nets)]
        return nets


def test_each_regime_says_whether_the_overall_edge_holds_reverses_or_cannot_be_told() -> None:
    j = Journal()
    trend_short = j.add("trend", "short", _noisy(2.0, 20, 0.5))
    trend_long = j.add("trend", "long", _noisy(-0.5, 20, 0.5))
    chop_short = j.add("chop", "short", _noisy(-1.0, 15, 0.5))  # the edge turns round here
    chop_long = j.add("chop", "long", _noisy(1.0, 15, 0.5))
    j.add("high_vol", "short", _noisy(0.5, 3, 2.0))  # three a side of noise
    j.add("high_vol", "long", _noisy(0.2, 3, 2.0))
    j.add("quiet", "long", _noisy(1.0, 6, 0.5))  # no short in this regime at all
    j.add(None, "short", [5.0])  # no regime: counted in the overall edge, in no regime row
    table = direction_regime(columns(j.trades), CFG)
    assert table.leader == "short"
    by = {r.regime: r for r in table.regimes}
    assert list(by) == ["chop", "high_vol", "quiet", "trend"]

    trend = by["trend"]
    assert (trend.short.trades, trend.long.trades) == (20, 20)
    assert trend.short.win_rate == 1.0 and trend.long.win_rate == 0.0
    assert trend.short.expectancy == pytest.approx(2.0)
    low, high = stats.t.interval(0.95, 19, loc=2.0, scale=stats.sem(trend_short))
    assert (trend.short.low, trend.short.high) == (pytest.approx(low), pytest.approx(high))
    welch = stats.ttest_ind(trend_short, trend_long, equal_var=False)
    assert trend.gap == pytest.approx(2.5)
    assert trend.p == pytest.approx(welch.pvalue, rel=1e-9)
    ci = welch.confidence_interval(0.95)
    assert (trend.gap_low, trend.gap_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert trend.verdict == "consistent"

    chop = by["chop"]
    assert chop.gap == pytest.approx(-2.0)  # short minus long: against the overall leader
    welch = stats.ttest_ind(chop_short, chop_long, equal_var=False)
    assert chop.p == pytest.approx(welch.pvalue, rel=1e-9)
    assert chop.verdict == "reverses"
    assert by["high_vol"].verdict == "not enough trades"
    assert by["high_vol"].more_needed is not None and by["high_vol"].more_needed > 0
    assert by["quiet"].verdict == "not enough trades" and by["quiet"].short.trades == 0
    assert table.conclusion == (
        "the short edge reverses in chop; holds in trend; not enough trades in high_vol, quiet"
    )


def test_a_significant_gap_over_too_few_trades_is_not_yet_consistent() -> None:
    j = Journal()
    j.add("trend", "short", _noisy(2.0, 6, 0.1))  # p far below 0.05, but 12 trades, not 30
    j.add("trend", "long", _noisy(-1.0, 6, 0.1))
    [row] = direction_regime(columns(j.trades), CFG).regimes
    assert row.p is not None and row.p < 1e-6
    assert row.verdict == "not enough trades" and row.more_needed == 18
    assert "30 needed" in row.text


def test_the_edge_holding_everywhere_and_no_edge_at_all_are_said_plainly() -> None:
    j = Journal()
    for regime in ("trend", "range"):
        j.add(regime, "short", _noisy(2.0, 20, 0.5))
        j.add(regime, "long", _noisy(0.5, 20, 0.5))
    assert direction_regime(columns(j.trades), CFG).conclusion == (
        "the short edge holds in every regime (2)"
    )
    only_longs = Journal()
    only_longs.add("trend", "long", _noisy(1.0, 40, 0.5))
    result = direction_regime(columns(only_longs.trades), CFG)
    assert result.leader is None
    assert result.conclusion == "no directional edge to check: trades both ways needed"
    no_regime = Journal()
    no_regime.add(None, "short", [1.0, 2.0])
    no_regime.add(None, "long", [-1.0])
    said = direction_regime(columns(no_regime.trades), CFG).conclusion
    assert said == "no trade carries a regime: the edge cannot be checked across regimes"


def test_the_filters_tab_and_the_regime_proof_show_the_same_rows() -> None:
    j = Journal()
    j.add("trend", "short", _noisy(2.0, 20, 0.5))
    j.add("trend", "long", _noisy(-0.5, 20, 0.5))
    snapshot = build_snapshot(j.trades, AnalyticsConfig(), tiers=TIERS, fallback_tp2_pct=3.0)
    _, rows = present.filter_table(snapshot)
    mine = [row for row in rows if row[0] == "Direction x regime"]
    assert [row[1] for row in mine] == ["trend short", "trend long", "trend edge", "answer"]
    assert mine[2][-1].startswith("consistent: short leads")
    document = report.render_kind(snapshot, "regime", source="t", generated_ms=0)
    assert "Not computed yet" not in document
    for row in mine[:-1]:
        assert "| " + " | ".join(row[1:]) + " |" in document.splitlines(), row
    assert f"**Answer: {mine[-1][-1]}.**" in document
