"""Plans at entry: the fixed policy's levels, mirroring for shorts, validation, initial state."""

from __future__ import annotations

import json

import pytest

from cockpit.config import FixedPolicyConfig
from cockpit.domain import ExitPlan, Mode, Side, StopRole
from cockpit.engine.policy import build_plan, fixed_plan, open_position


def test_fixed_long_levels_match_the_roadmap() -> None:
    plan = fixed_plan(Side.LONG, 100.0, 2.0, FixedPolicyConfig())
    assert plan.policy == "fixed"
    assert plan.side is Side.LONG
    assert plan.entry == 100.0
    assert plan.initial_size == 2.0
    assert plan.stop_loss == pytest.approx(98.5)
    assert plan.breakeven_trigger == pytest.approx(100.5)
    assert plan.profit_lock_trigger == pytest.approx(101.2)
    assert plan.profit_lock_stop == pytest.approx(100.4)
    assert plan.tp1_price == pytest.approx(101.5)
    assert plan.tp1_fraction == 0.75
    assert plan.tp2_price == pytest.approx(103.0)
    assert plan.tp2_fraction == 0.25
    assert plan.runner_fraction == 0.0
    assert plan.trail_atr_mult is None
    assert plan.atr is None
    assert plan.atr_factor == 1.0


def test_fixed_short_levels_mirror_the_long() -> None:
    plan = fixed_plan(Side.SHORT, 100.0, 2.0, FixedPolicyConfig())
    assert plan.stop_loss == pytest.approx(101.5)
    assert plan.breakeven_trigger == pytest.approx(99.5)
    assert plan.profit_lock_trigger == pytest.approx(98.8)
    assert plan.profit_lock_stop == pytest.approx(99.6)
    assert plan.tp1_price == pytest.approx(98.5)
    assert plan.tp2_price == pytest.approx(97.0)


def test_leverage_never_touches_levels() -> None:
    plan = fixed_plan(Side.LONG, 150.0, 1.0, FixedPolicyConfig())
    low = open_position(plan, symbol="SOL-PERP", leverage=1.0, opened_ms=0)
    high = open_position(plan, symbol="SOL-PERP", leverage=20.0, opened_ms=0)
    assert low.stop == high.stop == plan.stop_loss


def test_params_record_the_config_used_and_survive_json() -> None:
    cfg = FixedPolicyConfig(tp1_pct=1.8, tp2_pct=3.5)
    plan = fixed_plan(Side.SHORT, 150.0, 0.3, cfg)
    assert plan.params["fixed"] == cfg.model_dump()
    assert plan.params["fixed"]["tp1_pct"] == 1.8
    json.loads(plan.to_json())
    assert ExitPlan.from_json(plan.to_json()) == plan


def test_config_fractions_leaving_float_residue_make_no_runner() -> None:
    # 1 - 0.7 - 0.3 is 5.6e-17 in floats, not a runner.
    plan = fixed_plan(Side.LONG, 100.0, 1.0, FixedPolicyConfig(tp1_fraction=0.7, tp2_fraction=0.3))
    assert plan.runner_fraction == 0.0


def test_config_fractions_below_one_leave_a_runner() -> None:
    plan = fixed_plan(Side.LONG, 100.0, 1.0, FixedPolicyConfig(tp1_fraction=0.5, tp2_fraction=0.25))
    assert plan.runner_fraction == pytest.approx(0.25)


@pytest.mark.parametrize("entry", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_entry_is_refused(entry: float) -> None:
    with pytest.raises(ValueError, match="entry"):
        fixed_plan(Side.LONG, entry, 1.0, FixedPolicyConfig())


@pytest.mark.parametrize("size", [0.0, -0.5, float("nan")])
def test_bad_size_is_refused(size: float) -> None:
    with pytest.raises(ValueError, match="size"):
        fixed_plan(Side.SHORT, 100.0, size, FixedPolicyConfig())


def _plan(**overrides: object) -> ExitPlan:
    kwargs: dict[str, object] = {
        "policy": "test",
        "stop_loss_move": 0.015,
        "breakeven_trigger_move": 0.005,
        "profit_lock_trigger_move": 0.012,
        "profit_lock_move": 0.004,
        "tp1_move": 0.015,
        "tp1_fraction": 0.5,
        "tp2_move": 0.03,
        "tp2_fraction": 0.25,
    }
    kwargs.update(overrides)
    return build_plan(Side.LONG, 100.0, 1.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tp2_move": 0.01}, "tp2_move"),
        ({"tp1_fraction": 0.9}, "must not exceed 1"),
        ({"tp1_fraction": 0.0}, "tp1_fraction"),
        ({"profit_lock_move": 0.012}, "profit_lock_move"),
        ({"stop_loss_move": 1.0}, "below 1"),
        ({"trail_atr_mult": 2.5}, "needs the ATR"),
        ({"trail_atr_mult": 2.5, "atr": 0.0}, "atr"),
        ({"tp2_move": None}, "tp2_fraction must be 0"),
    ],
)
def test_build_plan_refuses_plans_the_engine_cannot_run(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _plan(**overrides)


def test_build_plan_single_target_and_runner() -> None:
    plan = _plan(tp2_move=None, tp2_fraction=0.0, trail_atr_mult=2.0, atr=1.0)
    assert plan.tp2_price is None
    assert plan.runner_fraction == pytest.approx(0.5)


def test_open_position_starts_at_full_size_with_the_plain_stop() -> None:
    plan = fixed_plan(Side.SHORT, 150.0, 0.4, FixedPolicyConfig())
    pos = open_position(
        plan, symbol="SOL-PERP", leverage=2.0, opened_ms=1234, mode=Mode.LIVE_SMALL, venue="drift"
    )
    assert pos.symbol == "SOL-PERP"
    assert pos.side is Side.SHORT
    assert pos.entry == 150.0
    assert pos.size == pos.initial_size == 0.4
    assert pos.stop == plan.stop_loss
    assert pos.stop_role is StopRole.STOP_LOSS
    assert pos.last_price == 150.0
    assert pos.opened_ms == 1234
    assert pos.mode is Mode.LIVE_SMALL
    assert pos.venue == "drift"
    assert pos.leverage == 2.0
    assert not (pos.tp1_filled or pos.tp2_filled or pos.trailing_active or pos.closed)
    assert (pos.mfe_pct, pos.mae_pct, pos.realized_pnl) == (0.0, 0.0, 0.0)


def test_open_position_defaults_to_shadow_paper() -> None:
    pos = open_position(
        fixed_plan(Side.LONG, 1.0, 1.0, FixedPolicyConfig()),
        symbol="X",
        leverage=1.0,
        opened_ms=0,
    )
    assert (pos.mode, pos.venue) == (Mode.SHADOW, "paper")
