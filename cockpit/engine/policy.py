"""Exit plans: the levels computed once at entry, frozen and stored with the trade.

A plan is computed from *moves* (fractions of entry, favorable = positive) and turned into prices
with `domain.price_at_move`, so a short is the exact mirror of a long and leverage never touches a
level (DESIGN.md section 2). Every policy funnels through `build_plan`, which owns the validation:
`fixed` is just one set of moves; `atr_scaled` will multiply the same moves by `atr_factor`,
`quality_tiers` will express them as ATR multiples, and `direction_bias` will scale the target
moves for one side before calling it. Keeping that single choke point means a new policy cannot
produce a plan the exit engine was not written for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cockpit.config import FixedPolicyConfig
from cockpit.domain import ExitPlan, Mode, PositionState, Side, StopRole, price_at_move

# A runner fraction below this is float residue of `1 - tp1 - tp2`, not a runner: treating it as
# one would leave an unsellable sliver of the position trailing forever.
RUNNER_EPS = 1e-9


def _require_positive(name: str, value: float) -> None:
    """Reject zero, negatives, NaN and infinities with a message a trader can act on."""
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a finite number above 0, got {value!r}")


def build_plan(
    side: Side,
    entry: float,
    size: float,
    *,
    policy: str,
    stop_loss_move: float,
    breakeven_trigger_move: float,
    profit_lock_trigger_move: float,
    profit_lock_move: float,
    tp1_move: float,
    tp1_fraction: float,
    tp2_move: float | None,
    tp2_fraction: float,
    trail_atr_mult: float | None = None,
    atr: float | None = None,
    atr_factor: float = 1.0,
    params: Mapping[str, Any] | None = None,
) -> ExitPlan:
    """Build a validated plan from moves given as fractions of entry (0.015 means 1.5 %).

    `stop_loss_move` is the adverse distance (positive); every other move is favorable.
    `tp2_move=None` means a single target (then `tp2_fraction` must be 0). Whatever
    `1 - tp1_fraction - tp2_fraction` leaves is the runner; it trails only if `trail_atr_mult`
    and `atr` are given (the product is the trail distance in quote), otherwise it rides on its
    breakeven-or-better stop until stopped or closed by hand.

    Raises ValueError for anything the exit engine could not act on sensibly, because a bad plan
    found at entry is a refused trade while a bad plan found at exit is a lost stop.
    """
    _require_positive("entry", entry)
    _require_positive("size", size)
    _require_positive("stop_loss_move", stop_loss_move)
    if stop_loss_move >= 1.0 and side is Side.LONG:
        raise ValueError(f"a long's stop_loss_move must be below 1 (100 %), got {stop_loss_move}")
    _require_positive("breakeven_trigger_move", breakeven_trigger_move)
    _require_positive("profit_lock_trigger_move", profit_lock_trigger_move)
    if not (math.isfinite(profit_lock_move) and 0.0 <= profit_lock_move < profit_lock_trigger_move):
        raise ValueError(
            "profit_lock_move must be >= 0 and below profit_lock_trigger_move "
            f"(got {profit_lock_move} vs {profit_lock_trigger_move})"
        )
    _require_positive("tp1_move", tp1_move)
    if not 0.0 < tp1_fraction <= 1.0:
        raise ValueError(f"tp1_fraction must be in (0, 1], got {tp1_fraction}")
    if tp2_move is None:
        if tp2_fraction != 0.0:
            raise ValueError("tp2_fraction must be 0 when the plan has no second target")
    else:
        _require_positive("tp2_move", tp2_move)
        if tp2_move <= tp1_move:
            raise ValueError(f"tp2_move ({tp2_move}) must be beyond tp1_move ({tp1_move})")
        if not 0.0 <= tp2_fraction <= 1.0:
            raise ValueError(f"tp2_fraction must be in [0, 1], got {tp2_fraction}")
    total = tp1_fraction + tp2_fraction
    if total > 1.0 + RUNNER_EPS:
        raise ValueError(f"tp1_fraction + tp2_fraction must not exceed 1, got {total}")
    runner_fraction = 1.0 - total
    if runner_fraction < RUNNER_EPS:
        runner_fraction = 0.0
    if trail_atr_mult is not None:
        _require_positive("trail_atr_mult", trail_atr_mult)
        if atr is None:
            raise ValueError("a trailing runner (trail_atr_mult set) needs the ATR at entry")
    if atr is not None:
        _require_positive("atr", atr)
    _require_positive("atr_factor", atr_factor)

    return ExitPlan(
        policy=policy,
        side=side,
        entry=entry,
        initial_size=size,
        stop_loss=price_at_move(side, entry, -stop_loss_move),
        breakeven_trigger=price_at_move(side, entry, breakeven_trigger_move),
        profit_lock_trigger=price_at_move(side, entry, profit_lock_trigger_move),
        profit_lock_stop=price_at_move(side, entry, profit_lock_move),
        tp1_price=price_at_move(side, entry, tp1_move),
        tp1_fraction=tp1_fraction,
        tp2_price=None if tp2_move is None else price_at_move(side, entry, tp2_move),
        tp2_fraction=tp2_fraction,
        runner_fraction=runner_fraction,
        trail_atr_mult=trail_atr_mult,
        atr=atr,
        atr_factor=atr_factor,
        params=dict(params) if params is not None else {},
    )


def fixed_plan(side: Side, entry: float, size: float, cfg: FixedPolicyConfig) -> ExitPlan:
    """The `fixed` policy: today's strategy, the baseline every other policy is compared with.

    Config percentages are converted to fractions here (1.5 -> 0.015). `params` records the
    config values used so that a stored trade explains its own levels even after the settings
    change.
    """
    return build_plan(
        side,
        entry,
        size,
        policy="fixed",
        stop_loss_move=cfg.stop_loss_pct / 100.0,
        breakeven_trigger_move=cfg.breakeven_trigger_pct / 100.0,
        profit_lock_trigger_move=cfg.profit_lock_trigger_pct / 100.0,
        profit_lock_move=cfg.profit_lock_pct / 100.0,
        tp1_move=cfg.tp1_pct / 100.0,
        tp1_fraction=cfg.tp1_fraction,
        tp2_move=cfg.tp2_pct / 100.0,
        tp2_fraction=cfg.tp2_fraction,
        params=cfg.model_dump(),
    )


def open_position(
    plan: ExitPlan,
    *,
    symbol: str,
    leverage: float,
    opened_ms: int,
    mode: Mode = Mode.SHADOW,
    venue: str = "paper",
) -> PositionState:
    """The live state of a freshly filled entry: full size, the plan's stop as a plain stop loss.

    `last_price` starts at the entry so the UI has something to show before the first tick, and
    the extremes start at 0 (the entry itself is neither favorable nor adverse).
    """
    _require_positive("leverage", leverage)
    return PositionState(
        symbol=symbol,
        side=plan.side,
        entry=plan.entry,
        initial_size=plan.initial_size,
        size=plan.initial_size,
        leverage=leverage,
        plan=plan,
        stop=plan.stop_loss,
        stop_role=StopRole.STOP_LOSS,
        opened_ms=opened_ms,
        mode=mode,
        venue=venue,
        last_price=plan.entry,
    )
