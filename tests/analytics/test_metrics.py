"""Every metric against a hand calculation, and the cases where a ratio does not exist."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cockpit.analytics.metrics import (
    Metrics,
    average_loss,
    average_win,
    compute_metrics,
    daily_pnl,
    downside_deviation,
    drawdown_curve,
    equity_curve,
    expectancy,
    max_drawdown,
    missed_after_exit,
    pearson,
    profit_factor,
    runner_stats,
    sharpe_ratio,
    sortino_ratio,
    win_loss_ratio,
    win_rate,
)
from tests.analytics.builders import DAY_MS, T0, trade, trades

MIXED = [30.0, -10.0, 20.0, -20.0, 0.0]


def metrics_of(nets: list[float]) -> Metrics:
    return compute_metrics(
        trades(nets), starting_equity=1000.0, fallback_tp2_pct=3.0, runner_share=0.25
    )


def test_wins_losses_and_their_ratio() -> None:
    # wins 30, 20; losses -10, -20; the 0 trade is neither
    assert win_rate(MIXED) == pytest.approx(2 / 5)  # 2 wins of 5 trades = 0.4
    assert average_win(MIXED) == pytest.approx(25.0)  # (30 + 20) / 2
    assert average_loss(MIXED) == pytest.approx(-15.0)  # (-10 - 20) / 2
    assert win_loss_ratio(MIXED) == pytest.approx(25 / 15)  # 1.667
    assert profit_factor(MIXED) == pytest.approx(50 / 30)  # (30 + 20) / |-10 - 20|


def test_expectancy_is_the_average_net_pnl_per_trade() -> None:
    # P(win) x avg win + P(loss) x avg loss = 0.4 x 25 + 0.4 x (-15) = 10 - 6 = 4
    assert expectancy(MIXED) == pytest.approx(4.0)
    assert expectancy(MIXED) == pytest.approx(sum(MIXED) / len(MIXED))  # 20 / 5


def test_equity_and_drawdown_in_dollars_and_percent() -> None:
    pnls = [10.0, -5.0, -10.0, 20.0, -3.0]
    # curve 10, 5, -5, 15, 12; running peak (from the 0 start) 10, 10, 10, 15, 15
    assert list(equity_curve(pnls)) == pytest.approx([10, 5, -5, 15, 12])
    assert list(drawdown_curve(pnls)) == pytest.approx([0, 5, 15, 0, 3])
    dd = max_drawdown(pnls, starting_equity=100.0)
    assert dd is not None
    assert dd.usd == pytest.approx(15.0)  # 10 -> -5
    # equity 100, 110, 105, 95, 115, 112: the 15 fall is from a 110 peak: 15 / 110 = 13.64 %
    assert dd.pct == pytest.approx(100 * 15 / 110)


def test_a_first_trade_that_loses_is_a_drawdown_from_the_start() -> None:
    dd = max_drawdown([-4.0, 1.0], starting_equity=100.0)
    assert dd is not None
    assert (dd.usd, dd.pct) == pytest.approx((4.0, 4.0))  # 0 -> -4: 4 $, 4 / 100 = 4 %


def test_sharpe_and_sortino_per_trade_are_not_annualised() -> None:
    # [1, 2, 3, 4]: mean 2.5, std (ddof=1) = sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3) = 1.29099
    assert sharpe_ratio([1, 2, 3, 4]) == pytest.approx(2.5 / math.sqrt(5 / 3))  # 1.93649
    # [2, -1, 3, -2]: mean 0.5, downside sqrt((0 + 1 + 0 + 4) / 4) = sqrt(1.25) = 1.11803
    assert downside_deviation([2, -1, 3, -2]) == pytest.approx(math.sqrt(1.25))
    assert sortino_ratio([2, -1, 3, -2]) == pytest.approx(0.5 / math.sqrt(1.25))  # 0.44721


def test_daily_ratios_fill_quiet_days_with_zero_and_annualise_with_365() -> None:
    records = [trade(3, i=0, day=0), trade(1, i=1, day=0), trade(-2, i=2, day=2)]
    # day 0: 3 + 1 = 4; day 1: no close, 0; day 2: -2
    series = daily_pnl([t.exit_ts_ms for t in records], [t.net_pnl for t in records])
    assert list(series) == [4.0, 0.0, -2.0]
    m = compute_metrics(records, starting_equity=1000, fallback_tp2_pct=3, runner_share=0.25)
    # mean 2/3; std (ddof=1) = sqrt(((10/3)^2 + (2/3)^2 + (8/3)^2) / 2) = sqrt(28/3) = 3.05505
    assert m.days == 3
    assert m.sharpe_daily == pytest.approx((2 / 3) / math.sqrt(28 / 3) * math.sqrt(365))  # 4.169
    # downside = sqrt((0 + 0 + 4) / 3) = 1.15470 over all 3 days
    assert m.sortino_daily == pytest.approx((2 / 3) / math.sqrt(4 / 3) * math.sqrt(365))  # 11.03


def test_pearson_correlation() -> None:
    # x 1,2,3 (mean 2), y 2,4,7 (mean 13/3): sum dx*dy = 5, sum dx^2 = 2, sum dy^2 = 38/3
    assert pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(5 / math.sqrt(2 * 38 / 3))  # 0.99339
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_quality_score_correlates_with_pnl_and_mfe_over_scored_trades_only() -> None:
    records = [
        trade(-1, i=0, quality_score=60, mfe_pct=0.5),
        trade(2, i=1, quality_score=70, mfe_pct=1.0),
        trade(4, i=2, quality_score=90, mfe_pct=4.0),
        trade(100, i=3),  # no score: left out of both correlations
    ]
    m = compute_metrics(records, starting_equity=1000, fallback_tp2_pct=3, runner_share=0.25)
    assert m.scored_trades == 3
    # scores 60, 70, 90 (mean 220/3): dx = -40/3, -10/3, 50/3; P&L -1, 2, 4 (mean 5/3):
    # dy = -8/3, 1/3, 7/3. sum dx*dy = 660/9, sum dx^2 = 4200/9, sum dy^2 = 114/9
    # r = 660 / sqrt(4200 x 114) = 0.95382
    assert m.corr_quality_pnl == pytest.approx(660 / math.sqrt(4200 * 114))
    assert m.corr_quality_mfe == pytest.approx(pearson([60, 70, 90], [0.5, 1.0, 4.0]))


def test_net_pnl_is_after_fees_and_gross_is_kept() -> None:
    m = compute_metrics(
        [trade(9, i=0, fees=1), trade(-3, i=1, fees=0.5)],
        starting_equity=1000,
        fallback_tp2_pct=3,
        runner_share=0.25,
    )
    # gross 10 and -2.5; fees 1 and 0.5; net 9 and -3
    assert (m.total_net, m.total_gross, m.total_fees) == pytest.approx((6.0, 7.5, 1.5))
    assert m.wins == 1 and m.losses == 1


# ------------------------------------------------------------------ edge cases
def test_no_trades_gives_no_ratios_and_no_crash() -> None:
    m = compute_metrics([], starting_equity=1000, fallback_tp2_pct=3, runner_share=0.25)
    assert m.trades == 0 and m.total_net == 0 and m.days == 0
    for value in (
        m.win_rate,
        m.avg_win,
        m.avg_loss,
        m.win_loss_ratio,
        m.profit_factor,
        m.expectancy,
        m.avg_net,
        m.max_drawdown,
        m.sharpe_trade,
        m.sortino_trade,
        m.sharpe_daily,
        m.sortino_daily,
        m.corr_quality_pnl,
    ):
        assert value is None
    assert m.runner.beyond_share is None and m.runner.missed_usd is None


def test_all_wins_has_no_profit_factor_and_no_sortino() -> None:
    m = metrics_of([1.0, 2.0, 3.0])
    assert m.win_rate == 1.0
    assert m.profit_factor is None  # 6 / 0
    assert m.avg_loss is None and m.win_loss_ratio is None
    assert m.sortino_trade is None  # no downside
    assert m.max_drawdown is not None and m.max_drawdown.usd == 0.0


def test_all_losses() -> None:
    m = metrics_of([-1.0, -3.0])
    assert m.win_rate == 0.0
    assert m.profit_factor == 0.0  # 0 / 4
    assert m.avg_win is None and m.win_loss_ratio is None
    assert m.max_drawdown is not None and m.max_drawdown.usd == pytest.approx(4.0)
    # mean -2, std sqrt(2): per trade Sharpe -1.41421; downside sqrt((1 + 9) / 2) = sqrt(5)
    assert m.sharpe_trade == pytest.approx(-2 / math.sqrt(2))
    assert m.sortino_trade == pytest.approx(-2 / math.sqrt(5))


@pytest.mark.parametrize("value", [0.1, 5.0, -0.3, 0.0])
def test_zero_variance_is_not_a_sharpe_of_ten_to_the_sixteen(value: float) -> None:
    # the mean of [0.1, 0.1, 0.1] is not exactly 0.1 in floating point; the std is ~1e-17
    assert sharpe_ratio([value] * 3) is None
    assert pearson([value] * 3, [1, 2, 3]) is None


def test_one_trade_has_no_dispersion() -> None:
    assert sharpe_ratio([5.0]) is None
    assert sortino_ratio([-5.0]) is None
    assert pearson([1.0], [2.0]) is None


# ------------------------------------------------------------------ runners
def test_runner_stats_against_each_trades_own_tp2() -> None:
    records = [
        trade(5, i=0, mfe_pct=4.0, tp2_price=103.0, exit_reason="tp2"),  # 4 > 3: beyond
        trade(2, i=1, mfe_pct=2.0, tp2_price=103.0, exit_reason="profit_lock"),  # not
        trade(5, i=2, mfe_pct=3.0, tp2_price=103.0, exit_reason="tp2"),  # 3 is not > 3
        trade(1, i=3, mfe_pct=5.0, tp2_price=106.0),  # 5 > 6? no
        trade(1, i=4, mfe_pct=3.5),  # no TP2 level: the 3 % fallback, beyond
        trade(1, i=5),  # no MFE recorded: left out
    ]
    stats = runner_stats(records, fallback_tp2_pct=3.0, runner_share=0.25)
    assert (stats.with_mfe, stats.beyond_tp2) == (5, 2)
    assert stats.beyond_share == pytest.approx(2 / 5)
    assert stats.tp2_fallbacks == 1
    assert stats.avg_mfe_pct == pytest.approx((4 + 2 + 3 + 5 + 3.5) / 5)  # 3.5
    assert stats.avg_tp2_distance_pct == pytest.approx((3 + 3 + 3 + 6 + 3) / 5)  # 3.6
    assert stats.tp2_exits == 2
    assert stats.avg_mfe_tp2_exits_pct == pytest.approx(3.5)  # (4 + 3) / 2
    assert stats.missed_usd is None and stats.no_candle_trades == 6


def test_missed_profit_after_exit_needs_candles() -> None:
    long_trade = trade(5, i=0, exit_price=100.0, size=2.0, after_exit_high=104.0)
    short_trade = trade(
        1, i=1, side="short", exit_price=50.0, size=1.0, after_exit_low=48.0, after_exit_high=60.0
    )
    fell_after = trade(1, i=2, exit_price=100.0, after_exit_high=99.0, after_exit_low=90.0)
    # long: (104 - 100) x 2 x 0.25 = 2.0; short: (50 - 48) x 1 x 0.25 = 0.5; fell_after: 0
    assert missed_after_exit(long_trade, 0.25) == pytest.approx(2.0)
    assert missed_after_exit(short_trade, 0.25) == pytest.approx(0.5)
    assert missed_after_exit(fell_after, 0.25) == 0.0
    stats = runner_stats(
        [long_trade, short_trade, fell_after, trade(1, i=3)], fallback_tp2_pct=3, runner_share=0.25
    )
    assert stats.missed_usd == pytest.approx(2.5)
    assert (stats.missed_trades, stats.no_candle_trades) == (3, 1)


# ------------------------------------------------------------------ properties
PNLS = st.lists(
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_subnormal=False), max_size=60
)


@given(PNLS)
@example([748.0, -4.155e-306])  # once a random failure: the profit factor overflowed
def test_identities_hold_for_any_journal(pnls: list[float]) -> None:
    records = trades(pnls)
    m = compute_metrics(records, starting_equity=1e6, fallback_tp2_pct=3, runner_share=0.25)
    assert m.total_net == pytest.approx(sum(pnls), abs=1e-6)
    if pnls:
        assert m.expectancy == pytest.approx(sum(pnls) / len(pnls), abs=1e-6)
        assert m.win_rate is not None and 0.0 <= m.win_rate <= 1.0
        assert m.max_drawdown is not None
        # never more than everything lost, never negative
        assert -1e-9 <= m.max_drawdown.usd <= sum(-p for p in pnls if p < 0) + 1e-6
    for ratio in (m.sharpe_trade, m.sortino_trade, m.profit_factor, m.win_loss_ratio):
        assert ratio is None or math.isfinite(ratio)


@given(PNLS, st.floats(min_value=0.01, max_value=100))
@example([0.0, 2.2e-162], 2.0)  # once a random failure: the tiny std underflowed to 0
@example([0.0, 2.2e-162], 0.01)
@example([748.0, -4.155e-306], 0.01)
def test_ratios_do_not_depend_on_position_size(pnls: list[float], scale: float) -> None:
    scaled = [p * scale for p in pnls]
    for metric in (sharpe_ratio, sortino_ratio, profit_factor, win_loss_ratio):
        a, b = metric(pnls), metric(scaled)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert b == pytest.approx(a, rel=1e-6, abs=1e-9)


def test_exit_order_not_list_order_builds_the_equity_curve() -> None:
    late = trade(-10, i=0, exit_ts_ms=T0 + 2 * DAY_MS)
    early = trade(10, i=1, exit_ts_ms=T0)
    m = compute_metrics([late, early], starting_equity=100, fallback_tp2_pct=3, runner_share=0.25)
    # +10 then -10: a 10 $ drawdown from the 10 peak (in list order it would be 10 from 0 too,
    # but the percent differs: 10 / 110 here, 10 / 100 the other way round)
    assert m.max_drawdown is not None
    assert m.max_drawdown.pct == pytest.approx(100 * 10 / 110)
