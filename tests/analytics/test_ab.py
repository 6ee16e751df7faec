"""A/B groups compared: Welch's t and Mann-Whitney p-values equal scipy.stats', the trades still
needed follow the two-sample formula, one group alone is no comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cockpit.analytics.ab import ab_comparison, mann_whitney_p, welch_p
from cockpit.analytics.attribution import Tier
from cockpit.analytics.report import render_kind
from cockpit.analytics.snapshot import build_snapshot
from cockpit.analytics.trades import TradeRecord
from cockpit.config import AnalyticsConfig
from tests.analytics.builders import trade

SIDE = st.lists(st.integers(-20, 20).map(lambda v: v / 4), min_size=2, max_size=40)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy on nearly equal samples
@settings(max_examples=60)
@given(a=SIDE, b=SIDE)
def test_p_values_equal_scipy(a: list[float], b: list[float]) -> None:
    w = welch_p(a, b)
    if np.var(a) + np.var(b) > 0:
        ref = stats.ttest_ind(a, b, equal_var=False).pvalue
        assert w == pytest.approx(ref, rel=1e-6, abs=1e-12)
    m = mann_whitney_p(a, b)
    if len(set(a) | set(b)) > 1:
        ref_u = stats.mannwhitneyu(b, a, alternative="two-sided", method="asymptotic").pvalue
        assert m == pytest.approx(ref_u, rel=1e-6, abs=1e-12)
    else:
        assert m is None


def journal(a: list[float], b: list[float]) -> list[TradeRecord]:
    out = [trade(p, i=i, ab_group="A") for i, p in enumerate(a)]
    out += [trade(p, i=1000 + i, ab_group="B") for i, p in enumerate(b)]
    return out


def test_groups_are_compared_with_both_tests_and_the_trades_still_needed() -> None:
    a = [1.0, -1.0, 0.5, -0.5, 2.0] * 4
    b = [1.5, -0.8, 0.9, -0.4, 2.2] * 4
    ab = ab_comparison(journal(a, b), alpha=0.05, power=0.8)
    assert ab is not None
    assert [(g.name, g.trades) for g in ab.groups] == [("A", 20), ("B", 20)]
    (test,) = ab.tests
    assert (test.baseline, test.group) == ("A", "B")
    assert test.diff == pytest.approx(np.mean(b) - np.mean(a))
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    need = math.ceil(
        z**2 * (np.var(a, ddof=1) + np.var(b, ddof=1)) / (np.mean(b) - np.mean(a)) ** 2
    )
    assert test.more_needed == need - 20
    assert test.welch_p is not None and test.welch_p > 0.05  # not yet significant


def test_one_group_alone_is_no_comparison_and_the_report_says_so() -> None:
    assert ab_comparison(journal([1.0, 2.0], []), alpha=0.05, power=0.8) is None
    records = journal([1.0, -1.0] * 10, [2.0, -1.0] * 10)
    snapshot = build_snapshot(
        records, AnalyticsConfig(), tiers=[Tier("high", 80)], fallback_tp2_pct=3
    )
    text = render_kind(snapshot, "ab", source="test", generated_ms=0)
    assert "| B vs A | +0.50 |" in text
    assert "Welch p" in text and "Mann-Whitney p" in text
