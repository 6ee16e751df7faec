"""Every roadmap policy on hand-made paths: the levels at entry and what happens on the way."""

from __future__ import annotations

import pytest

from cockpit.config import AtrConfig, Settings
from cockpit.domain import ExitPlan, ExitReason, Side, StopRole
from cockpit.engine.policy import PlanRefused, atr_factor, base_asset, plan_for
from tests.engine.engine_sim import new_position, run

SETTINGS = Settings(db_url="sqlite+aiosqlite:///:memory:")


def plan(policy: str, side: Side = Side.LONG, **kw: object) -> ExitPlan:
    args: dict[str, object] = {"symbol": "SOL-PERP", "entry": 100.0, "size": 1.0}
    args.update(kw)
    return plan_for(SETTINGS, policy=policy, side=side, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "symbol", ["SOL-PERP", "SOL/USDT:USDT", "SOLUSDT", "sol-perp", "SOL/USDC", "SOL"]
)
def test_every_spelling_of_a_symbol_finds_the_same_baseline(symbol: str) -> None:
    assert base_asset(symbol) == "SOL"
    assert atr_factor(symbol, 3.0, AtrConfig()).factor == 1.5  # 3.0 / baseline 2.0


def test_atr_factor_is_clamped_and_the_raw_value_kept() -> None:
    cfg = AtrConfig(factor_min=0.5, factor_max=2.0)
    low = atr_factor("SOL-PERP", 0.2, cfg)  # 0.2 / 2 = 0.1 -> 0.5
    high = atr_factor("SOL-PERP", 10.0, cfg)  # 10 / 2 = 5 -> 2.0
    assert (low.raw, low.factor) == (pytest.approx(0.1), 0.5)
    assert (high.raw, high.factor) == (5.0, 2.0)


def test_atr_policies_refuse_without_atr_or_baseline() -> None:
    with pytest.raises(PlanRefused, match="no ATR for SOL-PERP"):
        plan("atr_scaled", atr=None)
    with pytest.raises(
        PlanRefused, match=r"no baseline ATR configured for BTC.*atr\.baseline\.BTC"
    ):
        plan("atr_scaled", symbol="BTC/USDT:USDT", atr=500.0)
    with pytest.raises(PlanRefused, match="unknown policy"):
        plan("yolo")


def test_atr_scaled_multiplies_every_percentage_by_the_factor() -> None:
    # ATR 3.0 on SOL: factor 1.5. SL 1.5 % x 1.5 = 2.25 %, BE 0.75 %, lock trigger 1.8 %,
    # lock 0.6 %, TP1 2.25 %, TP2 4.5 %.
    p = plan("atr_scaled", atr=3.0)
    assert p.policy == "atr_scaled" and p.atr_factor == 1.5 and p.atr == 3.0
    assert p.stop_loss == pytest.approx(97.75)
    assert p.breakeven_trigger == pytest.approx(100.75)
    assert p.profit_lock_trigger == pytest.approx(101.8)
    assert p.profit_lock_stop == pytest.approx(100.6)
    assert p.tp1_price == pytest.approx(102.25)
    assert p.tp2_price == pytest.approx(104.5)
    assert (p.tp1_fraction, p.tp2_fraction, p.runner_fraction) == (0.75, 0.25, 0.0)
    assert p.params["atr_factor"] == 1.5 and p.params["baseline_atr"] == 2.0


def test_atr_scaled_path_breakeven_lock_tp1_then_profit_lock_stop() -> None:
    pos = new_position(plan("atr_scaled", atr=3.0))
    r = run(pos, [100.8, 101.9, 102.3, 101.0, 100.55])
    assert [round(m.new, 4) for m in r.moves] == [100.0, 100.6]  # BE, then lock; TP1 adds none
    assert [(c.reason, round(c.size, 6), c.trigger_price) for c in r.closes] == [
        (ExitReason.TP1, 0.75, 102.3),
        (ExitReason.PROFIT_LOCK, 0.25, 100.55),
    ]
    assert pos.closed
    # 0.75 x 2.3 + 0.25 x 0.55
    assert pos.realized_pnl == pytest.approx(0.75 * 2.3 + 0.25 * 0.55)


@pytest.mark.parametrize(
    ("score", "tier", "tp1", "tp2", "fractions", "trail"),
    [
        (85.0, "high", 104.0, 108.0, (0.5, 0.25, 0.25), 2.5),  # 2 and 4 x ATR 2
        (80.0, "high", 104.0, 108.0, (0.5, 0.25, 0.25), 2.5),
        (79.9, "medium", 103.0, 106.0, (0.75, 0.25, 0.0), None),  # 1.5 and 3 x ATR
        (70.0, "medium", 103.0, 106.0, (0.75, 0.25, 0.0), None),
        (69.0, "low", 102.0, None, (1.0, 0.0, 0.0), None),  # 1 x ATR, all of it
        (60.0, "low", 102.0, None, (1.0, 0.0, 0.0), None),
    ],
)
def test_quality_tiers_by_score(
    score: float,
    tier: str,
    tp1: float,
    tp2: float | None,
    fractions: tuple[float, float, float],
    trail: float | None,
) -> None:
    p = plan("quality_tiers", atr=2.0, quality_score=score)
    assert p.params["tier"] == tier and p.params["quality_score"] == score
    assert p.tp1_price == pytest.approx(tp1)
    assert p.tp2_price == (None if tp2 is None else pytest.approx(tp2))
    assert (p.tp1_fraction, p.tp2_fraction, p.runner_fraction) == pytest.approx(fractions)
    assert p.trail_atr_mult == trail
    # Stop and triggers as atr_scaled with factor 2.0 / 2.0 = 1.
    assert p.stop_loss == pytest.approx(98.5)
    assert ExitPlan.from_json(p.to_json()) == p


def test_a_score_below_the_lowest_tier_is_rejected_with_the_reason() -> None:
    with pytest.raises(PlanRefused, match=r"quality score 59\.9 is below 60"):
        plan("quality_tiers", atr=2.0, quality_score=59.9)
    with pytest.raises(PlanRefused, match="needs the signal's quality score"):
        plan("quality_tiers", atr=2.0)


def test_high_tier_runner_trails_and_exits_on_the_trail() -> None:
    pos = new_position(plan("quality_tiers", atr=2.0, quality_score=90.0))
    r = run(pos, [104.0, 108.0, 112.0, 110.0, 106.9])
    # TP1 at 104 closes 0.5: stop to breakeven, then the lock trigger (101.2) puts it at 100.4.
    # TP2 at 108 closes 0.25 and starts the runner: trail 108 - 2.5 x 2 = 103.
    # Peak 112: trail 107. 106.9 is through it: the runner (0.25) exits on the trailing stop.
    assert [round(m.new, 6) for m in r.moves] == [100.0, 100.4, 103.0, 107.0]
    assert [(c.reason, c.size) for c in r.closes] == [
        (ExitReason.TP1, 0.5),
        (ExitReason.TP2, 0.25),
        (ExitReason.TRAILING_STOP, 0.25),
    ]
    assert pos.peak == 112.0
    assert pos.realized_pnl == pytest.approx(0.5 * 4 + 0.25 * 8 + 0.25 * 6.9)


def test_short_high_tier_runner_mirrors_the_long() -> None:
    pos = new_position(plan("quality_tiers", Side.SHORT, atr=2.0, quality_score=90.0))
    r = run(pos, [96.0, 92.0, 88.0, 90.0, 93.1])
    assert [round(m.new, 6) for m in r.moves] == [100.0, 99.6, 97.0, 93.0]
    assert [c.reason for c in r.closes][-1] is ExitReason.TRAILING_STOP
    assert pos.stop_role is StopRole.TRAILING_STOP
    assert pos.realized_pnl == pytest.approx(0.5 * 4 + 0.25 * 8 + 0.25 * 6.9)


def test_low_tier_single_target_closes_everything() -> None:
    pos = new_position(plan("quality_tiers", atr=2.0, quality_score=62.0))
    r = run(pos, [101.0, 102.0])
    assert [(c.reason, c.size) for c in r.closes] == [(ExitReason.TP1, 1.0)]
    assert pos.closed


def test_direction_bias_stretches_short_targets_only() -> None:
    # Shorts x1.2: TP1 1.5 % -> 1.8 %, TP2 3 % -> 3.6 %; the stop stays at 1.5 %.
    short = plan("fixed", Side.SHORT, direction_bias=True)
    assert short.tp1_price == pytest.approx(98.2)
    assert short.tp2_price == pytest.approx(96.4)
    assert short.stop_loss == pytest.approx(101.5)
    assert short.params["target_mult"] == 1.2 and short.params["direction_bias"] is True
    long = plan("fixed", Side.LONG, direction_bias=True)
    assert long.tp1_price == pytest.approx(101.5) and long.params["target_mult"] == 1.0
    plain = plan("fixed", Side.SHORT)
    assert plain.tp1_price == pytest.approx(98.5) and plain.params["direction_bias"] is False


def test_direction_bias_on_top_of_a_quality_tier() -> None:
    # Roadmap: a high-quality short gets 2.0 x ATR x 1.2 = 4.8 below entry.
    p = plan("quality_tiers", Side.SHORT, atr=2.0, quality_score=85.0, direction_bias=True)
    assert p.tp1_price == pytest.approx(95.2)
    assert p.tp2_price == pytest.approx(100.0 - 4.0 * 2.0 * 1.2)
    assert p.trail_atr_mult == 2.5  # the trail is not a target distance


def test_a_tier_with_its_own_atr_stop() -> None:
    settings = Settings.model_validate(
        {
            "db_url": "sqlite+aiosqlite:///:memory:",
            "quality_tiers": {
                "tiers": [
                    {
                        "name": "only",
                        "min_score": 50,
                        "tp1_fraction": 1.0,
                        "tp1_atr": 1.0,
                        "stop_atr": 0.5,
                    }
                ]
            },
        }
    )
    p = plan_for(
        settings,
        policy="quality_tiers",
        symbol="SOL-PERP",
        side=Side.LONG,
        entry=100.0,
        size=1.0,
        atr=2.0,
        quality_score=55.0,
    )
    assert p.stop_loss == pytest.approx(99.0)  # 0.5 x ATR 2 below entry
