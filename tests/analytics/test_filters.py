"""Seed 003's filter hypotheses (confidence, regime) and the portfolio drawdown rule, on
adversarial journals built here; every interval and p-value is checked against scipy.stats."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from cockpit.analytics import present, report
from cockpit.analytics.attribution import Tier
from cockpit.analytics.columns import columns
from cockpit.analytics.filters import confidence_test, regime_test
from cockpit.analytics.portfolio import overlapping, portfolio_drawdown
from cockpit.analytics.snapshot import build_snapshot
from cockpit.analytics.trades import TradeRecord
from cockpit.config import AnalyticsConfig, GatesConfig
from tests.analytics.builders import T0, trade

CFG = GatesConfig()
TIERS = [Tier("high", 80), Tier("medium", 70), Tier("low", 60)]
MIN = 60_000


def _bucket(nets: list[float], confidence: float, start: int) -> list[TradeRecord]:
    return [trade(p, i=start + k, confidence=confidence) for k, p in enumerate(nets)]


def _noisy(mean: float, n: int, spread: float = 1.0) -> list[float]:
    """n values with exactly this mean, alternating around it."""
    return [mean + (spread if k % 2 else -spread) for k in range(n - n % 2)] + (
        [mean] if n % 2 else []
    )


def test_a_low_bucket_with_a_significant_loss_suggests_min_confidence() -> None:
    low = _noisy(-0.5, 40, 0.8)  # clearly negative over 40 trades
    mid = _noisy(0.4, 40, 0.8)
    trades = _bucket(low, 0.55, 0) + _bucket(mid, 0.65, 100)
    test = confidence_test(columns(trades), CFG)
    row = test.rows[0]
    assert row.group == "0.50-0.60" and row.trades == 40
    expected = stats.ttest_1samp(low, 0.0)
    assert row.p == pytest.approx(expected.pvalue, rel=1e-9)
    low_ci, high_ci = stats.t.interval(0.95, 39, loc=-0.5, scale=stats.sem(low))
    assert row.low == pytest.approx(low_ci)
    assert row.high == pytest.approx(high_ci)
    assert row.verdict == "negative" and row.suggest == "MIN_CONFIDENCE=0.60"
    assert row.text.endswith(": negative: suggest MIN_CONFIDENCE=0.60")
    assert test.rows[1].verdict == "positive" and test.rows[1].suggest == ""
    assert test.conclusion == "suggest MIN_CONFIDENCE=0.60"


def test_an_uncertain_loss_is_not_significant_and_says_how_many_more_trades() -> None:
    # the example: expectancy -0.42 over 23 trades, an interval that holds 0
    nets = _noisy(-0.42, 23, 1.2)
    test = confidence_test(columns(_bucket(nets, 0.52, 0)), CFG)
    row = test.rows[0]
    assert row.low is not None and row.high is not None and row.low < 0 < row.high
    assert row.verdict == "not significant" and row.suggest == ""
    s = stats.tstd(nets)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert row.more_needed == math.ceil((z * s / -0.42) ** 2) - 23
    assert row.text.startswith("0.50-0.60: expectancy -0.42 [")
    assert f"n 23, p {stats.ttest_1samp(nets, 0).pvalue:.2f}: not significant" in row.text
    assert test.conclusion.startswith("no MIN_CONFIDENCE suggested")


def test_a_significant_loss_over_too_few_trades_suggests_nothing() -> None:
    nets = _noisy(-1.0, 12, 0.1)  # p far below 0.05, but the seed asks for 30 trades
    row = confidence_test(columns(_bucket(nets, 0.55, 0)), CFG).rows[0]
    assert row.p is not None and row.p < 1e-6
    assert row.verdict == "too few trades (30 needed)" and row.more_needed == 18
    assert row.suggest == ""


def test_both_low_buckets_losing_suggest_the_higher_bar() -> None:
    trades = _bucket(_noisy(-0.5, 40, 0.5), 0.55, 0) + _bucket(_noisy(-0.3, 40, 0.5), 0.6, 100)
    test = confidence_test(columns(trades), CFG)
    assert [r.group for r in test.rows] == ["0.50-0.60", "0.60-0.70"]  # 0.60 is in 0.60-0.70
    assert test.conclusion == "suggest MIN_CONFIDENCE=0.70"


def test_a_losing_high_bucket_suggests_no_min_confidence() -> None:
    test = confidence_test(columns(_bucket(_noisy(-0.5, 40, 0.5), 0.85, 0)), CFG)
    assert test.rows[0].verdict == "negative" and test.rows[0].suggest == ""
    assert test.conclusion == "no MIN_CONFIDENCE suggested: no trades in 0.50-0.70"


def test_regimes_follow_the_seed_rules() -> None:
    def regime(nets: list[float], name: str, start: int) -> list[TradeRecord]:
        return [trade(p, i=start + k, regime=name) for k, p in enumerate(nets)]

    losing = _noisy(-0.5, 40, 0.5)
    trades = (
        regime(losing, "Sideways", 0)
        + regime(losing, "high_vol", 100)
        + regime(losing, "trend", 200)
        + regime(_noisy(-0.5, 40, 3.0), "chop", 300)  # negative but not significant
    )
    test = regime_test(columns(trades), CFG)
    by = {r.group: r for r in test.rows}
    assert by["Sideways"].suggest == "SKIP_SIDEWAYS"
    assert by["high_vol"].suggest == "MAX_VOL_PERCENTILE"
    assert by["trend"].verdict == "negative" and by["trend"].suggest == ""  # no rule for it
    assert by["chop"].verdict == "not significant" and by["chop"].suggest == ""
    assert test.conclusion == "suggest MAX_VOL_PERCENTILE and SKIP_SIDEWAYS"


# ------------------------------------------------------------------ portfolio
def _at(net: float, i: int, entry_min: int, exit_min: int) -> TradeRecord:
    return trade(net, i=i, entry_ts_ms=T0 + entry_min * MIN, exit_ts_ms=T0 + exit_min * MIN)


def test_overlap_is_open_at_the_same_time_half_open() -> None:
    trades = [
        _at(1, 0, 0, 10),  # contains the next one
        _at(1, 1, 2, 3),
        _at(1, 2, 10, 20),  # starts exactly when the first ends: no overlap with it
        _at(1, 3, 30, 30),  # never open: overlaps nothing, even inside another
        _at(1, 4, 25, 40),  # holds 3's instant, but 3 was never open
        _at(1, 5, 50, 60),
        _at(1, 6, 50, 55),  # same entry as 5
        _at(1, 7, 100, 110),
        _at(1, 8, 110, 120),  # entered the moment 7 closed: neither overlaps
    ]
    found = overlapping(columns(trades)).tolist()
    assert found == [True, True, False, False, False, True, True, False, False]


def test_multi_position_drawdowns_deeper_than_1_5x_suggest_a_filter() -> None:
    trades = [
        _at(2, 0, 0, 5),
        _at(-1, 1, 10, 15),  # alone: a 1.00 drawdown
        _at(2, 2, 20, 25),
        _at(-1, 3, 30, 35),  # alone again: 1.00
        _at(3, 4, 40, 45),
        _at(-2, 5, 50, 60),  # two open at once: a 4.00 drawdown
        _at(-2, 6, 55, 65),
        _at(9, 7, 70, 75),
    ]
    result = portfolio_drawdown(columns(trades))
    assert (result.single.events, result.multi.events) == (2, 1)
    assert result.single.avg_depth == 1.0 and result.multi.avg_depth == 4.0
    assert result.ratio == 4.0
    assert result.conclusion == (
        "multi-position drawdown 4.00x single-position: add a position correlation filter"
    )
    shallow = [*trades[:5], _at(-0.75, 5, 50, 60), _at(-0.75, 6, 55, 65), trades[7]]
    calm = portfolio_drawdown(columns(shallow))
    assert calm.ratio == 1.5  # exactly 1.5x is not "more than 1.5x"
    assert calm.conclusion.endswith("no correlation filter needed")


def test_without_overlapping_trades_the_rule_cannot_be_read() -> None:
    result = portfolio_drawdown(columns([_at(1, 0, 0, 5), _at(-1, 1, 10, 15)]))
    assert result.multi.events == 0 and result.ratio is None
    assert result.conclusion == "no multi-position drawdown yet: the 1.5x rule cannot be read"


def test_the_report_kinds_state_each_verdict() -> None:
    trades = _bucket(_noisy(-0.5, 40, 0.8), 0.55, 0)
    snapshot = build_snapshot(trades, AnalyticsConfig(), tiers=TIERS, fallback_tp2_pct=3.0)
    confidence = report.render_kind(snapshot, "confidence", source="t", generated_ms=0)
    assert "suggest MIN_CONFIDENCE=0.60" in confidence
    assert "Not computed yet" not in confidence
    regime = report.render_kind(snapshot, "regime", source="t", generated_ms=0)
    assert "no regime filter suggested" in regime
    portfolio = report.render_kind(snapshot, "portfolio", source="t", generated_ms=0)
    assert "the 1.5x rule cannot be read" in portfolio
    assert any(row[:2] == ("Confidence", "0.50-0.60") for row in present.filter_table(snapshot)[1])
