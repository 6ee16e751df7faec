"""Seed 003 step 6: "Symbol correlation during drawdowns", "Leverage exposure during drawdowns",
on journals built here; every r, p-value and Welch p is checked against scipy.stats."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from cockpit.analytics import present, report
from cockpit.analytics.attribution import Tier
from cockpit.analytics.columns import columns
from cockpit.analytics.portfolio import in_drawdown
from cockpit.analytics.portfolio_correlation import portfolio_correlation
from cockpit.analytics.snapshot import build_snapshot
from cockpit.analytics.trades import TradeRecord
from cockpit.config import AnalyticsConfig, GatesConfig
from tests.analytics.builders import T0, trade

CFG = GatesConfig()
MIN = 60_000


def _pair(journal: list[TradeRecord], a: float, b: float, *, leverage: float = 1.0) -> None:
    """Two positions open at once (b in ETH), closing one after the other, then a pause."""
    k = len(journal)
    start = T0 + k * 10 * MIN
    for n, net, symbol in ((0, a, "SOL-PERP"), (1, b, "ETH-PERP")):
        journal.append(
            trade(
                net,
                i=k + n,
                symbol=symbol,
                leverage=leverage,
                entry_ts_ms=start + n * MIN,
                exit_ts_ms=start + (5 + n) * MIN,
            )
        )


def _journal() -> tuple[list[TradeRecord], list[tuple[float, float]], list[tuple[float, float]]]:
    """A climb of pairs that do not move together, then a slide of pairs that lose together."""
    journal: list[TradeRecord] = []
    calm = [(3.0, -1.0), (1.0, 2.0), (4.0, -0.5), (0.5, 3.0), (2.5, 1.0), (1.5, 0.2)]
    slide = [(-1.0, -1.2), (-3.0, -2.5), (-0.5, -0.8), (-2.0, -2.2), (-4.0, -3.5), (-1.5, -1.0)]
    for k, (a, b) in enumerate(calm):
        _pair(journal, a, b, leverage=1.0 + k % 2)
    for a, b in slide:
        _pair(journal, a, b, leverage=5.0)
    return journal, calm, slide


def test_in_drawdown_is_a_close_that_leaves_equity_below_its_peak() -> None:
    trades = [trade(net, i=i) for i, net in enumerate([2.0, -1.0, 0.5, 0.5, 1.0, -3.0])]
    assert in_drawdown(columns(trades)).tolist() == [False, True, True, False, False, True]


def test_positions_that_lose_together_in_drawdowns_show_it_with_n_and_p() -> None:
    journal, calm, slide = _journal()
    result = portfolio_correlation(columns(journal), CFG)
    dd, outside = result.in_drawdown, result.outside
    assert (dd.n, outside.n) == (len(slide), len(calm))
    expected = stats.pearsonr(*zip(*slide, strict=True))
    assert dd.r == pytest.approx(expected.statistic) and dd.p == pytest.approx(expected.pvalue)
    expected = stats.pearsonr(*zip(*calm, strict=True))
    assert outside.r == pytest.approx(expected.statistic)
    assert outside.p == pytest.approx(expected.pvalue)
    z = (math.atanh(dd.r) - math.atanh(outside.r)) / math.sqrt(1 / 3 + 1 / 3)
    assert result.difference_p == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert result.cross_symbol_pairs == 12
    closed_in_dd = in_drawdown(columns(journal)).tolist()
    lev_dd = [t.leverage for t, dd in zip(journal, closed_in_dd, strict=True) if dd]
    lev_out = [t.leverage for t, dd in zip(journal, closed_in_dd, strict=True) if not dd]
    assert len(lev_dd) == 14  # the slide's 12 and two losers of the climb
    assert result.leverage_in_drawdown == pytest.approx(sum(lev_dd) / 14)
    assert result.leverage_outside == pytest.approx(sum(lev_out) / len(lev_out))
    welch = stats.ttest_ind(lev_out, lev_dd, equal_var=False)
    assert result.leverage_p == pytest.approx(welch.pvalue, rel=1e-9)
    assert result.conclusion.startswith("open positions move together more in drawdowns: r +")


def test_without_overlapping_positions_nothing_is_guessed() -> None:
    alone = [trade(net, i=i) for i, net in enumerate([1.0, -2.0, 0.5, -1.0])]
    result = portfolio_correlation(columns(alone), CFG)
    assert result.in_drawdown.n == 0 and result.in_drawdown.r is None
    assert result.difference_p is None
    assert result.conclusion == "no positions were open at the same time: no correlation to read"


def test_the_portfolio_proof_and_the_filters_tab_state_the_correlation() -> None:
    journal, _, _ = _journal()
    tiers = [Tier("high", 80)]
    snapshot = build_snapshot(journal, AnalyticsConfig(), tiers=tiers, fallback_tp2_pct=3.0)
    document = report.render_kind(snapshot, "portfolio", source="t", generated_ms=0)
    assert "Not computed yet" not in document
    assert snapshot.portfolio_correlation is not None
    assert f"**Answer: {snapshot.portfolio_correlation.conclusion}.**" in document
    rows = [r for r in present.filter_table(snapshot)[1] if r[0] == "Portfolio corr"]
    assert [r[1] for r in rows] == ["pairs in drawdowns", "pairs outside", "answer"]
    assert rows[-1][-1] == snapshot.portfolio_correlation.conclusion
