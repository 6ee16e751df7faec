"""The exit engine: one price in, a list of decisions out (DESIGN.md section 2).

`on_price` is pure apart from mutating the `PositionState` it is given: no I/O, no clock (time
arrives with the price), so live, replay and backtest run this exact code. It decides; it never
executes. Sizes change only when the broker reports a fill through `apply_fill`, because a decided
close is not a done close (an order can be rejected, partially filled or slipped) and the position
must always show what the venue really holds.

Per price, in this order (the order is the strategy, so it is spelled out and tested):
1. extremes: MFE/MAE in percent of entry (price move, never ROE) and in quote for the initial size;
2. stop: a price at or through the stop closes everything left, reason = the stop's role, and
   nothing else happens on that tick (a stopped position takes no profit and moves no stop);
3. TP1 then TP2, both possibly on one tick, each closing its fraction of the *initial* size;
   after TP1 the stop goes to breakeven, after the last target a runner starts trailing;
4. breakeven trigger -> stop to entry; profit-lock trigger -> stop to the lock level;
5. trailing: the stop follows the best price since trailing began at k x ATR.
Automatic stop moves only ever tighten; each one is reported as a `MoveStop` so the session can
modify the venue's trigger order and audit the change. The last `MoveStop` of a tick is the stop
in force.

The quiet path (no level touched) builds no object but the returned empty list (and the float
temporaries CPython cannot avoid): this runs for every tick of every open position. Enum members
are bound to module constants and "does it tighten" is tested before calling `_move`, which took
a quiet tick from ~2.8 us to ~0.7 us on the dev box.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from cockpit.domain import (
    Action,
    Close,
    ExitReason,
    Fill,
    MoveStop,
    PositionState,
    Side,
    StopRole,
)

# Sizes at or below SIZE_EPS x max(1, initial size) are float residue, not a position: they snap
# to 0 so that a fully exited position reads closed instead of holding 1e-17 SOL forever.
SIZE_EPS = 1e-12
# A fill may exceed the remaining size by this relative amount (venue rounding) before it is
# treated as the bug it would otherwise be: an exit larger than the position opens the other way.
FILL_OVERSHOOT_REL = 1e-9

_INF = float("inf")
# Enum member access (`Side.LONG`) costs a descriptor call; on the per-tick path that is most of
# the work, so the members the hot path touches are bound once here.
_LONG = Side.LONG


class MoveReason(StrEnum):
    """Why the engine moved a stop; stored with each stop move (`MoveStop.reason`)."""

    TP1 = "tp1"
    """TP1 filled: the rest of the position must not turn into a loss."""
    RUNNER = "runner_start"
    """The last target filled with a runner left: its stop is floored at breakeven."""
    BREAKEVEN_TRIGGER = "breakeven_trigger"
    PROFIT_LOCK_TRIGGER = "profit_lock_trigger"
    TRAIL = "trail"


def tightens(side: Side, old: float, new: float) -> bool:
    """True if `new` is strictly closer to the price than `old` (less risk, never more).

    For a long a higher stop is tighter, for a short a lower one. Equal is not a move, so the
    engine never emits a no-op `MoveStop`.
    """
    return new > old if side == _LONG else new < old


def dust(pos: PositionState) -> float:
    """The size below which what is left of `pos` counts as nothing."""
    initial = pos.initial_size
    return SIZE_EPS * (initial if initial > 1.0 else 1.0)


def remaining_after(actions: Iterable[Action], pos: PositionState) -> float:
    """What `pos` will hold once every `Close` in `actions` has filled in full.

    Useful to the session and the UI between a decision and its fills (e.g. to show the runner
    size or to size a venue stop order). Never negative; residue snaps to 0.
    """
    left = pos.size
    for action in actions:
        if isinstance(action, Close):
            left -= action.size
    return 0.0 if left <= dust(pos) else left


def _move(
    pos: PositionState, actions: list[Action], new: float, role: StopRole, reason: str
) -> None:
    """Move the stop if that tightens it, and report the move. Every automatic move goes here."""
    old = pos.stop
    if new > old if pos.side == _LONG else new < old:
        pos.stop = new
        pos.stop_role = role
        actions.append(MoveStop(old=old, new=new, role=role, reason=reason))


def _close_target(
    pos: PositionState,
    actions: list[Action],
    fraction: float,
    left: float,
    final: bool,
    reason: ExitReason,
    price: float,
) -> float:
    """Emit a target's close and return what will be left after it (0.0 means nothing).

    A target closes its share of the *initial* size, capped at what is left (a manual partial
    close may already have taken some). The final target (nothing planned after it) takes
    everything left, so the position closes exactly instead of leaving float dust or an
    accidental mini-runner; so does a share that would leave only dust.
    """
    qty = fraction * pos.initial_size
    if final or qty >= left - dust(pos):
        qty = left
    if qty > 0.0:
        actions.append(Close(qty, reason, price))
    rest = left - qty
    return 0.0 if rest <= dust(pos) else rest


def _start_runner(pos: PositionState, actions: list[Action], price: float) -> None:
    """The targets are done and part of the position rides on: start trailing it from here."""
    pos.trailing_active = True
    pos.peak = price
    _move(pos, actions, pos.entry, StopRole.BREAKEVEN, MoveReason.RUNNER)


def on_price(
    pos: PositionState, price: float, ts_ms: int, stop_price: float | None = None
) -> list[Action]:
    """Apply one price to an open position and return what to do, in execution order.

    `stop_price` is the price the stop is checked against when the venue triggers stops on
    another price than `price` (Drift's median trigger price); None: `price`.

    Mutates `pos`: extremes, `last_price`, the stop and its role, `tp1_filled`/`tp2_filled`
    (set when the target is *decided*, so it is never emitted twice), the trailing state. Never
    changes `pos.size` (see `apply_fill`). A closed or empty position is left untouched and gets
    `[]`.

    Closes decided on earlier prices are assumed to have been applied with `apply_fill` before
    this is called again (the session executes decisions before the next tick); `Close` sizes
    are therefore computed from `pos.size`, less what earlier closes of this same call take.

    `ts_ms` is the price's own timestamp. No current rule is time-based, but it is part of the
    contract so that time rules can be added without touching every caller, and so nobody is
    tempted to read the wall clock in here.

    Raises ValueError for a non-positive or non-finite price: a 0 from a broken feed would
    otherwise stop out every long.
    """
    actions: list[Action] = []
    if pos.closed or pos.size <= 0.0:
        return actions
    if not 0.0 < price < _INF:  # also rejects NaN
        raise ValueError(f"price must be a finite number above 0, got {price!r} at {ts_ms}")
    if stop_price is not None and not 0.0 < stop_price < _INF:
        raise ValueError(f"stop price must be a finite number above 0, got {stop_price!r}")

    sign = 1.0 if pos.side == _LONG else -1.0  # == Side.sign, without the property call
    entry = pos.entry

    # 1. extremes. Same expression as domain.favorable_move / PositionState.move_pct, so the
    # stored MFE equals what the UI computes for the same price, bit for bit.
    diff = sign * (price - entry)
    pos.last_price = price
    if diff > 0.0:
        pct = 100.0 * (diff / entry)
        if pct > pos.mfe_pct:
            pos.mfe_pct = pct
            pos.mfe_quote = diff * pos.initial_size
    elif diff < 0.0:
        pct = 100.0 * (diff / entry)
        if pct < pos.mae_pct:
            pos.mae_pct = pct
            pos.mae_quote = diff * pos.initial_size

    # 2. stop: everything left, nothing else this tick.
    through = price if stop_price is None else stop_price
    if sign * (through - pos.stop) <= 0.0:
        actions.append(Close(pos.size, ExitReason.for_stop(pos.stop_role), through))
        return actions

    plan = pos.plan

    # 3. targets, TP1 before TP2 (a gap through both closes both, in that order). A target is
    # only *sent* here; what it causes (stop to breakeven, the runner's start) happens when its
    # fill is booked (`apply_fill`), so a target whose order fails leaves nothing half-done.
    hit1 = not (pos.tp1_filled or pos.tp1_sent) and sign * (price - plan.tp1_price) >= 0.0
    tp2 = plan.tp2_price
    hit2 = (
        tp2 is not None
        and not (pos.tp2_filled or pos.tp2_sent)
        and (hit1 or pos.tp1_filled)
        and sign * (price - tp2) >= 0.0
    )
    if hit1 or hit2:
        runner = plan.runner_fraction > 0.0
        left = pos.size
        if hit1:
            pos.tp1_sent = True
            final = not runner and (tp2 is None or plan.tp2_fraction == 0.0)
            left = _close_target(
                pos, actions, plan.tp1_fraction, left, final, ExitReason.TP1, price
            )
        if hit2 and left > 0.0:
            pos.tp2_sent = True
            before = len(actions)
            left = _close_target(
                pos, actions, plan.tp2_fraction, left, not runner, ExitReason.TP2, price
            )
            if len(actions) == before:  # a 0 % target closes nothing: done without an order
                _target_done(pos, actions, ExitReason.TP2.value, price)
        if left == 0.0:
            return actions

    # 4. breakeven, then profit lock (a gap past both emits both moves, in that order). Each
    # trigger fires once: after that a trader's confirmed manual loosening must stand, not be
    # undone by the next tick. Until it fires, the test is two multiplications, so a tick long
    # before a trigger stays cheap.
    if not pos.breakeven_done and sign * (price - plan.breakeven_trigger) >= 0.0:
        pos.breakeven_done = True
        if sign * (entry - pos.stop) > 0.0:
            _move(pos, actions, entry, StopRole.BREAKEVEN, MoveReason.BREAKEVEN_TRIGGER)
    if not pos.profit_lock_done and sign * (price - plan.profit_lock_trigger) >= 0.0:
        pos.profit_lock_done = True
        lock = plan.profit_lock_stop
        if sign * (lock - pos.stop) > 0.0:
            _move(pos, actions, lock, StopRole.PROFIT_LOCK, MoveReason.PROFIT_LOCK_TRIGGER)

    # 5. trailing: peak first, then the trail hangs k x ATR behind it.
    if pos.trailing_active:
        _trail(pos, actions, price)

    return actions


def _trail(pos: PositionState, actions: list[Action], price: float) -> None:
    """The runner's trail: the peak follows the best price, the stop hangs k x ATR behind it.

    The peak keeps moving while the trader has paused the trail, so resuming trails from the
    best price seen.
    """
    sign = 1.0 if pos.side == _LONG else -1.0
    peak = pos.peak
    if peak is None or sign * (price - peak) > 0.0:
        pos.peak = peak = price
    if not pos.trail_paused:
        mult = pos.trail_mult if pos.trail_mult is not None else pos.plan.trail_atr_mult
        atr = pos.plan.atr
        if mult is not None and atr is not None:
            trail = peak - sign * (mult * atr)
            if sign * (trail - pos.stop) > 0.0:
                _move(pos, actions, trail, StopRole.TRAILING_STOP, MoveReason.TRAIL)


def rearm(pos: PositionState, reason: str) -> None:
    """A take-profit whose order did not go out (or never filled) waits for its price again.

    Nothing else is touched: its consequences only ever follow a fill. Stops need nothing (the
    engine emits a stop close on every price through the stop).
    """
    if reason == ExitReason.TP1.value:
        pos.tp1_sent = False
    elif reason == ExitReason.TP2.value:
        pos.tp2_sent = False


def apply_fill(pos: PositionState, fill: Fill) -> list[Action]:
    """Book an exit fill: the only way a position's size goes down. Returns the stop moves the
    fill causes (a take-profit's: stop to breakeven after TP1, the runner's start after the last
    target, at the newest price the engine saw), for the caller to record and send on.

    Realized P&L is on the price move for the filled size (leverage scales margin, not P&L in
    quote); fees accumulate separately so gross and net can both be shown. The position closes
    when nothing (beyond float residue) is left.

    Raises ValueError for anything that is not a plausible exit of this position: a fill that is
    not reduce-only, on another symbol or in the opening direction, of a non-positive size or
    price, on a closed position, or larger than what is left. Such a fill means the books and the
    venue disagree, and booking it anyway would hide that.
    """
    if not fill.reduce_only:
        raise ValueError(
            f"apply_fill books exits only; fill {fill.client_order_id} is not reduce-only"
        )
    if fill.symbol != pos.symbol:
        raise ValueError(
            f"fill {fill.client_order_id} is for {fill.symbol}, position is {pos.symbol}"
        )
    if fill.side != pos.side.closing_order_side:
        raise ValueError(
            f"fill {fill.client_order_id} is a {fill.side.value}, which does not close a "
            f"{pos.side.value}"
        )
    if not 0.0 < fill.size < _INF:
        raise ValueError(f"fill size must be a finite number above 0, got {fill.size!r}")
    if not 0.0 < fill.price < _INF:
        raise ValueError(f"fill price must be a finite number above 0, got {fill.price!r}")
    if pos.closed:
        raise ValueError(f"position {pos.symbol} is already closed; fill {fill.client_order_id}")
    if fill.size > pos.size * (1.0 + FILL_OVERSHOOT_REL):
        raise ValueError(
            f"fill of {fill.size!r} exceeds the remaining size {pos.size!r} of {pos.symbol}"
        )

    pos.realized_pnl += pos.side.sign * (fill.price - pos.entry) * fill.size
    pos.fees += fill.fee
    left = pos.size - fill.size
    if left <= dust(pos):
        pos.size = 0.0
        pos.closed = True
    else:
        pos.size = left
    return _target_filled(pos, fill)


def _target_filled(pos: PositionState, fill: Fill) -> list[Action]:
    """What a take-profit's fill causes, applied now that the venue confirmed it."""
    moves: list[Action] = []
    price = pos.last_price if pos.last_price is not None else fill.price
    _target_done(pos, moves, fill.reason, price)
    return moves


def _target_done(pos: PositionState, actions: list[Action], reason: str, price: float) -> None:
    """A target is done (its fill booked, or it had nothing to close): mark it filled, then move
    the stop to breakeven after TP1 and start the runner after the last target, trailing from
    `price` (the newest price the engine saw)."""
    plan = pos.plan
    if reason == ExitReason.TP1.value:
        pos.tp1_sent, pos.tp1_filled = False, True
        last_target = plan.tp2_price is None
    elif reason == ExitReason.TP2.value:
        pos.tp2_sent, pos.tp2_filled = False, True
        last_target = True
    else:
        return
    if pos.closed:
        return
    if reason == ExitReason.TP1.value:
        _move(pos, actions, pos.entry, StopRole.BREAKEVEN, MoveReason.TP1)
    if last_target and plan.runner_fraction > 0.0 and not pos.trailing_active:
        _start_runner(pos, actions, price)
        _trail(pos, actions, price)
