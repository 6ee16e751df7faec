"""The trader's hands on a position: manual stop moves, partial closes, the trailing multiple.

Pure rules, shared by the dialogs (to explain before anything is sent) and the session (to
enforce, whoever asks). The rules (DESIGN.md section 2, issue 3):

* A stop is never accepted on the wrong side of the mark: a long's stop must be below the
  current price, a short's above. Such a stop would fill at once, which is a close, and a close
  has its own command.
* Tightening is always allowed. Loosening (more risk) is allowed only with an explicit second
  confirmation, and the check says how much risk it adds so the dialog can show it.
* A manual stop plays the role `manual_stop`. After a loosening, the breakeven and profit-lock
  triggers the price has already passed are marked as fired, and a running trail is paused:
  otherwise the engine's next tick would tighten the stop straight back, and the trader's
  confirmed decision would last 250 ms. Triggers not yet reached still fire later (they only
  ever tighten), and the trailing multiple dialog resumes the trail.
* Stops are compared at the venue's price precision (`price_tick`; by default the 4 decimals
  prices are shown with): a stop "moved" to the price it already has at that precision is
  refused as `stop unchanged`, never called a tightening or a loosening, and nothing is sent.
* A partial close never leaves a crumb: when what would be left is below the venue's minimum
  order (`min_order_size`, 0 on paper) or the engine's dust, the close takes everything left;
  a close that is itself below the minimum is refused with the share that would do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from cockpit.domain import MoveStop, PositionState, StopRole, favorable_move, price_at_move
from cockpit.engine.exits import dust, tightens

PRICE_DIGITS_TICK = 1e-4
"""The default price precision: prices are shown, typed and audited with 4 decimals."""
PRICE_REL_TICK = 1e-4
"""...but never coarser than 1e-4 of the price, so a sub-cent coin keeps its digits."""


def default_price_tick(price: float) -> float:
    """The precision two prices are compared at when the venue's tick is not given."""
    return min(PRICE_DIGITS_TICK, PRICE_REL_TICK * abs(price))


def same_price(a: float, b: float, price_tick: float | None = None) -> bool:
    """True if `a` and `b` are the same price at `price_tick` (default: `default_price_tick`).

    Same means at most half a tick apart (plus a hair, for the float error of a price typed or
    shown rounded to the tick): 147.75 and 147.750000001 are one price, and so are a stop and
    the dialog's 4-decimal rendering of it. A venue's tick (Drift: the market's
    `order_tick_size`) can be passed where it is known.
    """
    tick = default_price_tick(a) if price_tick is None else price_tick
    return abs(a - b) <= tick / 2.0 * (1.0 + 1e-9)


class ManualRefused(ValueError):
    """A manual action that must not happen; the message tells the trader why."""


class StopInput(StrEnum):
    """How the trader states a new stop in the dialog."""

    PRICE = "price"
    """An absolute price."""
    FROM_ENTRY = "from_entry"
    """A favorable move from entry in percent: -1 = 1 % below a long's entry, +0.5 locks 0.5 %."""
    LOCK_MOVE = "lock_move"
    """Lock X % of the current favorable move: 50 on a long up 4 % puts the stop at +2 %."""


def stop_from_input(pos: PositionState, how: StopInput, value: float, mark: float) -> float:
    """The stop price a dialog entry means, or ManualRefused if it means nothing sensible."""
    if not math.isfinite(value):
        raise ManualRefused(f"{value!r} is not a number")
    if how is StopInput.PRICE:
        if value <= 0.0:
            raise ManualRefused("a stop price must be above 0")
        return value
    if how is StopInput.FROM_ENTRY:
        if value <= -100.0:
            raise ManualRefused("a stop 100 % or more from entry is no stop")
        return price_at_move(pos.side, pos.entry, value / 100.0)
    if not 0.0 < value <= 100.0:
        raise ManualRefused("lock a share of the move between 0 and 100 %")
    move = favorable_move(pos.side, pos.entry, mark)
    if move <= 0.0:
        raise ManualRefused(
            f"there is no move to lock: the mark {mark:.4f} is not beyond the entry {pos.entry:.4f}"
        )
    return price_at_move(pos.side, pos.entry, move * value / 100.0)


@dataclass(frozen=True, slots=True)
class StopCheck:
    """What moving the stop to `new` would mean, for the dialog and the audit row."""

    old: float
    new: float
    loosens: bool
    risk_change_quote: float
    """Extra loss if stopped at the new level instead of the old one (negative: less risk)."""
    distance_pct: float
    """How far the new stop is from the mark, in percent of the mark (always positive)."""


def check_stop(
    pos: PositionState, new: float, mark: float, *, price_tick: float | None = None
) -> StopCheck:
    """Validate a manual stop against the mark; raise ManualRefused if it must not be set.

    `price_tick` is the venue's price precision in quote (None: `default_price_tick`); a new
    stop within half a tick of the current one is `stop unchanged`, not a move.
    """
    if pos.closed or pos.size <= 0.0:
        raise ManualRefused("the position is closed")
    if not (math.isfinite(new) and new > 0.0):
        raise ManualRefused(f"a stop must be a price above 0, got {new!r}")
    sign = pos.side.sign
    if sign * (mark - new) <= 0.0:
        where = "below" if sign > 0 else "above"
        raise ManualRefused(
            f"a {pos.side.value}'s stop must be {where} the mark {mark:.4f}; {new:.4f} would "
            "fill at once (use close for that)"
        )
    if same_price(pos.stop, new, price_tick):
        raise ManualRefused(f"stop unchanged at {pos.stop:.4f}: nothing to move")
    loosens = not tightens(pos.side, pos.stop, new)
    risk_change = sign * (pos.stop - new) * pos.size
    return StopCheck(
        old=pos.stop,
        new=new,
        loosens=loosens,
        risk_change_quote=risk_change,
        distance_pct=100.0 * abs(mark - new) / mark,
    )


def apply_manual_stop(
    pos: PositionState,
    new: float,
    mark: float,
    *,
    confirm_loosen: bool = False,
    price_tick: float | None = None,
) -> MoveStop:
    """Set the stop by hand after `check_stop`; a loosening needs `confirm_loosen=True`."""
    check = check_stop(pos, new, mark, price_tick=price_tick)
    if check.loosens and not confirm_loosen:
        raise ManualRefused(
            f"{new:.4f} loosens the stop from {check.old:.4f} "
            f"(risk +{check.risk_change_quote:.2f}); it needs an explicit second confirmation"
        )
    if check.loosens:
        plan = pos.plan
        sign = pos.side.sign
        if sign * (mark - plan.breakeven_trigger) >= 0.0:
            pos.breakeven_done = True
        if sign * (mark - plan.profit_lock_trigger) >= 0.0:
            pos.profit_lock_done = True
        if pos.trailing_active:
            pos.trail_paused = True
    pos.stop = new
    pos.stop_role = StopRole.MANUAL_STOP
    reason = "manual loosen (confirmed)" if check.loosens else "manual tighten"
    return MoveStop(old=check.old, new=new, role=StopRole.MANUAL_STOP, reason=reason)


@dataclass(frozen=True, slots=True)
class CloseAmount:
    """What "close N % now" sends, and why it is all of it when less was asked for."""

    size: float
    """Base units to close."""
    wanted: float
    """N % of what is left, as asked."""
    left_wanted: float
    """What asking for `wanted` would have left."""
    below_minimum: bool
    """True if `size` is everything because `left_wanted` is below the venue's minimum."""


def close_amount(pos: PositionState, percent: float, *, min_order_size: float = 0.0) -> CloseAmount:
    """The size of "close N % now" (of what is left), never leaving a crumb behind.

    `min_order_size` is the venue's minimum order in base units (its order step where that is
    larger; 0 on paper). What would be left below it, or below the engine's dust, goes too: no
    later order could close it. A close that is itself below it is refused, saying which share
    would do.
    """
    if pos.closed or pos.size <= 0.0:
        raise ManualRefused("the position is closed")
    if not (math.isfinite(percent) and 0.0 < percent <= 100.0):
        raise ManualRefused(f"close between 0 and 100 % of the position, got {percent!r}")
    if not (math.isfinite(min_order_size) and min_order_size >= 0.0):
        raise ValueError(f"min_order_size must be 0 or above, got {min_order_size!r}")
    wanted = pos.size * percent / 100.0
    left = pos.size - wanted
    if left <= dust(pos):
        return CloseAmount(pos.size, wanted, left, below_minimum=False)
    if _below(left, min_order_size):
        return CloseAmount(pos.size, wanted, left, below_minimum=True)
    if _below(wanted, min_order_size):
        share = 100.0 * min_order_size / pos.size
        raise ManualRefused(
            f"closing {wanted:.6g} {pos.symbol} is below the venue's minimum order "
            f"{min_order_size:.6g}; close at least {share:.4g} % (or all of it)"
        )
    return CloseAmount(wanted, wanted, left, below_minimum=False)


def close_size(pos: PositionState, percent: float, *, min_order_size: float = 0.0) -> float:
    """Base units to close for "close N % now" (of what is left); see `close_amount`."""
    return close_amount(pos, percent, min_order_size=min_order_size).size


def _below(size: float, minimum: float) -> bool:
    """`size` is under `minimum`, beyond float residue (0.1 x 50 % is the minimum 0.05)."""
    return size < minimum * (1.0 - 1e-9)


def effective_trail_mult(pos: PositionState) -> float | None:
    """The trailing multiple in force: the trader's choice, else the plan's."""
    return pos.trail_mult if pos.trail_mult is not None else pos.plan.trail_atr_mult


def trail_stop_now(pos: PositionState, mult: float) -> float | None:
    """The stop a trail of `mult` x ATR from the current peak would ask for (None: no ATR)."""
    atr = pos.plan.atr
    if atr is None:
        return None
    peak = pos.peak if pos.peak is not None else pos.last_price
    if peak is None:
        return None
    return peak - pos.side.sign * mult * atr


def check_trail_mult(pos: PositionState, mult: float) -> None:
    """Raise ManualRefused unless `mult` can become this position's trailing multiple."""
    if pos.closed or pos.size <= 0.0:
        raise ManualRefused("the position is closed")
    if pos.plan.atr is None:
        raise ManualRefused(
            f"this position was opened with the {pos.plan.policy} policy and no ATR: there is "
            "nothing to trail by"
        )
    if pos.plan.runner_fraction <= 0.0:
        raise ManualRefused(
            f"this position's plan ({pos.plan.policy}) has no runner; trailing applies to the "
            "runner left after the targets"
        )
    if not (math.isfinite(mult) and 0.0 < mult <= 50.0):
        raise ManualRefused(f"the trailing multiple must be above 0 and at most 50, got {mult!r}")


def apply_trail_mult(pos: PositionState, mult: float) -> tuple[float | None, float]:
    """Set the trailing multiple (and resume a paused trail); returns (old, new) multiples.

    The stop itself is not touched here: the engine applies the trail on the next price, and
    only if it tightens, so a wider multiple never loosens the stop already in force.
    """
    check_trail_mult(pos, mult)
    old = effective_trail_mult(pos)
    pos.trail_mult = mult
    pos.trail_paused = False
    return old, mult
