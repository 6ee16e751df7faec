"""P&L attribution: buckets at their edges, every table adding up to the whole."""

from __future__ import annotations

import pytest

from cockpit.analytics.attribution import (
    Tier,
    attribution_tables,
    by_value,
    confidence_bucket,
    tier_of,
)
from tests.analytics.builders import trade

TIERS = [Tier("high", 80), Tier("medium", 70), Tier("low", 60)]


@pytest.mark.parametrize(
    ("confidence", "bucket"),
    [
        (0.3, "< 0.50"),
        (0.5, "0.50-0.60"),
        (0.5999, "0.50-0.60"),
        (0.6, "0.60-0.70"),
        (0.79, "0.70-0.80"),
        (0.8, "0.80+"),
        (1.0, "0.80+"),
        (None, "(none)"),
    ],
)
def test_confidence_buckets_are_half_open(confidence: float | None, bucket: str) -> None:
    assert confidence_bucket(confidence) == bucket


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (100, "high (80-100)"),
        (80, "high (80-100)"),
        (79.9, "medium (70-79)"),
        (70, "medium (70-79)"),
        (60, "low (60-69)"),
        (59, "below 60"),
        (None, "unscored"),
    ],
)
def test_quality_tiers_follow_the_configured_bands(score: float | None, tier: str) -> None:
    assert tier_of(score, TIERS) == tier


def test_a_group_row_is_computed_like_the_overall_metrics() -> None:
    records = [
        trade(10, i=0, symbol="SOL-PERP", mfe_pct=2.0),
        trade(-4, i=1, symbol="SOL-PERP", mfe_pct=0.5),
        trade(-1, i=2, symbol="BTC-PERP"),
    ]
    sol, btc = by_value(records, lambda t: t.symbol)
    # biggest net P&L first: SOL 10 - 4 = +6, BTC -1
    assert (sol.key, btc.key) == ("SOL-PERP", "BTC-PERP")
    assert (sol.trades, sol.wins, sol.net_pnl) == (2, 1, 6.0)
    assert sol.win_rate == pytest.approx(0.5)
    assert sol.expectancy == pytest.approx(3.0)  # 6 / 2
    assert sol.profit_factor == pytest.approx(2.5)  # 10 / 4
    assert sol.avg_mfe_pct == pytest.approx(1.25)  # (2 + 0.5) / 2
    assert btc.profit_factor == 0.0 and btc.avg_mfe_pct is None


def test_every_table_adds_up_to_the_journal() -> None:
    records = [
        trade(5, i=0, side="short", quality_score=85, confidence=0.82, regime="trend"),
        trade(-2, i=1, quality_score=72, confidence=0.55, exit_reason="stop_loss", ab_group="A"),
        trade(3, i=2, quality_score=50, strategy="breakout", exit_reason="tp1", ab_group="B"),
        trade(-1, i=3),
    ]
    tables = attribution_tables(records, TIERS)
    assert [t.key for t in tables] == [
        "symbol",
        "direction",
        "quality",
        "confidence",
        "regime",
        "strategy",
        "exit_reason",
        "ab_group",
    ]
    for table in tables:
        assert sum(r.trades for r in table.rows) == 4, table.key
        assert sum(r.net_pnl for r in table.rows) == pytest.approx(5.0), table.key  # 5-2+3-1
    quality = next(t for t in tables if t.key == "quality")
    assert [r.key for r in quality.rows] == [
        "high (80-100)",
        "medium (70-79)",
        "below 60",
        "unscored",
    ]
    regime = next(t for t in tables if t.key == "regime")
    assert [r.key for r in regime.rows] == ["trend", "(none)"]  # "(none)" always last
