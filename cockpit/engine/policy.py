"""Exit plans: the levels computed once at entry, frozen and stored with the trade.

A plan is computed from *moves* (fractions of entry, favorable = positive) and turned into prices
with `domain.price_at_move`, so a short is the exact mirror of a long and leverage never touches a
level (DESIGN.md section 2). Every policy funnels through `build_plan`, which owns the validation:
`fixed` is just one set of moves; `atr_scaled` multiplies the same moves by `atr_factor`,
`quality_tiers` expresses the targets as ATR multiples, and direction bias scales the target
moves for one side before calling it. Keeping that single choke point means a new policy cannot
produce a plan the exit engine was not written for.

`plan_for` is the one entry point the session uses: it picks the policy by name and turns every
reason a plan cannot be made (score below the lowest tier, no ATR, no baseline for the symbol)
into a `PlanRefused` whose message is shown to the trader as is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cockpit.config import (
    POLICY_NAMES,
    AtrConfig,
    FixedPolicyConfig,
    QualityTier,
    QualityTiersConfig,
    Settings,
)
from cockpit.domain import (
    EXTERNAL_POLICY,
    ExitPlan,
    Mode,
    PositionState,
    Side,
    StopRole,
    price_at_move,
)

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


def fixed_plan(
    side: Side,
    entry: float,
    size: float,
    cfg: FixedPolicyConfig,
    *,
    target_mult: float = 1.0,
    params: Mapping[str, Any] | None = None,
) -> ExitPlan:
    """The `fixed` policy: today's strategy, the baseline every other policy is compared with.

    Config percentages are converted to fractions here (1.5 -> 0.015). `params` records the
    config values used so that a stored trade explains its own levels even after the settings
    change. `target_mult` is direction bias: it stretches TP1 and TP2, nothing else.
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
        tp1_move=cfg.tp1_pct / 100.0 * target_mult,
        tp1_fraction=cfg.tp1_fraction,
        tp2_move=cfg.tp2_pct / 100.0 * target_mult,
        tp2_fraction=cfg.tp2_fraction,
        params={"fixed": cfg.model_dump(), **(params or {})},
    )


class PlanRefused(ValueError):
    """No plan can be made for this entry; the message says why, in the trader's words."""


def base_asset(symbol: str) -> str:
    """The traded asset of a symbol in any of the spellings the feeds use.

    "SOL-PERP" (Drift), "SOL/USDT:USDT" (ccxt), "SOLUSDT" (exchange ids) all give "SOL": the
    baseline ATR is a property of the asset, not of the venue's naming.
    """
    name = symbol.upper()
    for sep in ("/", "-", ":"):
        if sep in name:
            return name.split(sep, 1)[0]
    for quote in ("USDT", "USDC", "USD", "PERP"):
        if name.endswith(quote) and len(name) > len(quote):
            return name[: -len(quote)]
    return name


@dataclass(frozen=True, slots=True)
class AtrFactor:
    """ATR / baseline for one entry, clamped; `raw` is kept so the clamp is visible later."""

    atr: float
    baseline: float
    raw: float
    factor: float


def atr_factor(symbol: str, atr: float | None, cfg: AtrConfig) -> AtrFactor:
    """The volatility factor of `atr_scaled`: ATR over the asset's baseline ATR, clamped."""
    if atr is None:
        raise PlanRefused(
            f"no ATR for {symbol}: the feed has fewer than {cfg.period} closed {cfg.timeframe} "
            "bars yet"
        )
    if not (math.isfinite(atr) and atr > 0.0):
        raise PlanRefused(f"ATR for {symbol} is {atr!r}; an ATR plan needs a positive ATR")
    asset = base_asset(symbol)
    baseline = cfg.baseline.get(asset)
    if baseline is None:
        raise PlanRefused(
            f"no baseline ATR configured for {asset}; set atr.baseline.{asset} in the config "
            "to use ATR policies on it"
        )
    raw = atr / baseline
    return AtrFactor(atr, baseline, raw, min(max(raw, cfg.factor_min), cfg.factor_max))


def _atr_params(factor: AtrFactor, cfg: AtrConfig) -> dict[str, Any]:
    return {
        "atr": factor.atr,
        "atr_timeframe": cfg.timeframe,
        "atr_period": cfg.period,
        "baseline_atr": factor.baseline,
        "atr_factor_raw": factor.raw,
        "atr_factor": factor.factor,
    }


def atr_scaled_plan(
    side: Side,
    entry: float,
    size: float,
    fixed: FixedPolicyConfig,
    factor: AtrFactor,
    atr_cfg: AtrConfig,
    *,
    target_mult: float = 1.0,
    params: Mapping[str, Any] | None = None,
) -> ExitPlan:
    """`atr_scaled`: every percentage of `fixed` times the ATR factor (roadmap Phase 2).

    Wider levels in a volatile market, tighter in a quiet one; the stop, the breakeven and
    profit-lock triggers and the lock level scale with the targets so the plan keeps its shape.
    """
    f = factor.factor
    return build_plan(
        side,
        entry,
        size,
        policy="atr_scaled",
        stop_loss_move=fixed.stop_loss_pct / 100.0 * f,
        breakeven_trigger_move=fixed.breakeven_trigger_pct / 100.0 * f,
        profit_lock_trigger_move=fixed.profit_lock_trigger_pct / 100.0 * f,
        profit_lock_move=fixed.profit_lock_pct / 100.0 * f,
        tp1_move=fixed.tp1_pct / 100.0 * f * target_mult,
        tp1_fraction=fixed.tp1_fraction,
        tp2_move=fixed.tp2_pct / 100.0 * f * target_mult,
        tp2_fraction=fixed.tp2_fraction,
        atr=factor.atr,
        atr_factor=f,
        params={"fixed": fixed.model_dump(), **_atr_params(factor, atr_cfg), **(params or {})},
    )


def quality_tier_for(score: float | None, cfg: QualityTiersConfig) -> QualityTier:
    """The tier a signal quality score falls in; refused below the lowest tier (roadmap: 60)."""
    if score is None:
        raise PlanRefused("quality_tiers needs the signal's quality score (0-100)")
    if not (math.isfinite(score) and 0.0 <= score <= 100.0):
        raise PlanRefused(f"quality score must be between 0 and 100, got {score!r}")
    for tier in cfg.tiers:  # sorted best first
        if score >= tier.min_score:
            return tier
    raise PlanRefused(
        f"signal rejected: quality score {score:g} is below {cfg.min_score:g}, the lowest tier"
    )


def quality_tiers_plan(
    side: Side,
    entry: float,
    size: float,
    fixed: FixedPolicyConfig,
    factor: AtrFactor,
    atr_cfg: AtrConfig,
    tier: QualityTier,
    score: float,
    *,
    target_mult: float = 1.0,
    params: Mapping[str, Any] | None = None,
) -> ExitPlan:
    """`quality_tiers`: targets and runner by the signal's tier, in ATR multiples (Phase 3).

    Stop, breakeven and profit lock are those of `atr_scaled` unless the tier gives its stop an
    ATR multiple. The tier's name and score are stored in the plan, so analytics can group by
    the tier the position was actually managed with.
    """
    atr = factor.atr
    f = factor.factor
    stop_move = (
        tier.stop_atr * atr / entry
        if tier.stop_atr is not None
        else fixed.stop_loss_pct / 100.0 * f
    )
    return build_plan(
        side,
        entry,
        size,
        policy="quality_tiers",
        stop_loss_move=stop_move,
        breakeven_trigger_move=fixed.breakeven_trigger_pct / 100.0 * f,
        profit_lock_trigger_move=fixed.profit_lock_trigger_pct / 100.0 * f,
        profit_lock_move=fixed.profit_lock_pct / 100.0 * f,
        tp1_move=tier.tp1_atr * atr / entry * target_mult,
        tp1_fraction=tier.tp1_fraction,
        tp2_move=None if tier.tp2_atr is None else tier.tp2_atr * atr / entry * target_mult,
        tp2_fraction=tier.tp2_fraction,
        trail_atr_mult=tier.trail_atr,
        atr=atr,
        atr_factor=f,
        params={
            "fixed": fixed.model_dump(),
            **_atr_params(factor, atr_cfg),
            "tier": tier.name,
            "tier_config": tier.model_dump(),
            "quality_score": score,
            **(params or {}),
        },
    )


def plan_for(
    settings: Settings,
    *,
    policy: str,
    symbol: str,
    side: Side,
    entry: float,
    size: float,
    atr: float | None = None,
    quality_score: float | None = None,
    direction_bias: bool = False,
) -> ExitPlan:
    """The plan for one entry under the named policy, with direction bias on top if asked.

    Raises PlanRefused for every reason the policy cannot plan this entry. Direction bias
    multiplies the target distances of its side (default: shorts x1.2) and is recorded in the
    plan's params either way, so a stored trade says whether it had the bias.
    """
    if policy not in POLICY_NAMES:
        raise PlanRefused(f"unknown policy {policy!r}; choose one of {', '.join(POLICY_NAMES)}")
    bias = settings.direction_bias
    mult = (bias.long_mult if side is Side.LONG else bias.short_mult) if direction_bias else 1.0
    extra: dict[str, Any] = {"direction_bias": direction_bias, "target_mult": mult}
    if quality_score is not None:
        extra["quality_score"] = quality_score
    try:
        if policy == "fixed":
            return fixed_plan(side, entry, size, settings.policy, target_mult=mult, params=extra)
        if policy == "atr_scaled":
            factor = atr_factor(symbol, atr, settings.atr)
            return atr_scaled_plan(
                side,
                entry,
                size,
                settings.policy,
                factor,
                settings.atr,
                target_mult=mult,
                params=extra,
            )
        # The score first: a rejected signal is rejected whatever the market's ATR.
        tier = quality_tier_for(quality_score, settings.quality_tiers)
        assert quality_score is not None  # quality_tier_for refused None
        factor = atr_factor(symbol, atr, settings.atr)
        return quality_tiers_plan(
            side,
            entry,
            size,
            settings.policy,
            factor,
            settings.atr,
            tier,
            quality_score,
            target_mult=mult,
            params=extra,
        )
    except PlanRefused:
        raise
    except ValueError as exc:  # build_plan's validation: a level the engine cannot act on
        raise PlanRefused(f"{policy} cannot plan this entry: {exc}") from exc


def monitor_plan(side: Side, entry: float, size: float, stop: float | None) -> ExitPlan:
    """A plan that only watches: no target, no breakeven or profit lock can ever trigger, and
    the stop is the venue's (None: none, which no price can reach) until the trader sets one.

    For a position adopted from the venue (DESIGN.md section 4): the engine still tracks its
    extremes and fires a stop the trader set, but never takes profit on a trade it did not
    plan. Unreachable levels are +/-inf on the far side (0 or inf for the stop), so the
    engine's ordinary comparisons need no special case.
    """
    _require_positive("entry", entry)
    _require_positive("size", size)
    never_up, never_down = math.inf, 0.0
    far_target = never_up if side is Side.LONG else never_down
    no_stop = never_down if side is Side.LONG else never_up
    return ExitPlan(
        policy=EXTERNAL_POLICY,
        side=side,
        entry=entry,
        initial_size=size,
        stop_loss=no_stop if stop is None else stop,
        breakeven_trigger=far_target,
        profit_lock_trigger=far_target,
        profit_lock_stop=entry,
        tp1_price=far_target,
        tp1_fraction=1.0,
        tp2_price=None,
        tp2_fraction=0.0,
        params={"adopted": True},
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


def describe_plan(plan: ExitPlan) -> str:
    """One line for the event log: the policy (and tier), the ATR behind it and every level."""
    name = plan.policy
    tier = plan.params.get("tier")
    if tier is not None:
        name += f"/{tier} (score {plan.params.get('quality_score', 0):g})"
    parts = [name]
    if plan.atr is not None:
        parts.append(f"ATR {plan.atr:.4g} x{plan.atr_factor:.2f}")
    if plan.params.get("direction_bias"):
        parts.append(f"bias x{plan.params.get('target_mult', 1.0):g}")
    parts.append(f"SL {plan.stop_loss:.4f}")
    parts.append(f"TP1 {plan.tp1_price:.4f} ({plan.tp1_fraction:.0%})")
    if plan.tp2_price is not None:
        parts.append(f"TP2 {plan.tp2_price:.4f} ({plan.tp2_fraction:.0%})")
    if plan.runner_fraction > 0.0:
        trail = f" trail {plan.trail_atr_mult:g}xATR" if plan.trail_atr_mult else ""
        parts.append(f"runner {plan.runner_fraction:.0%}{trail}")
    return " ".join(parts)
