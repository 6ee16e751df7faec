"""Candle input for the exit engine: a bar becomes the sequence of prices the position saw.

A bar only says where the price went (open, high, low, close), not in which order, so the
order is an assumption and the assumption decides outcomes. The rules (DESIGN.md section 2):

* The open comes first; a bar that opens through the stop (or a target) fills there, at the
  open, because that is the first price there was.
* The usual path is the one the replay adapter uses: open -> low -> high -> close for an up bar
  (close >= open), open -> high -> low -> close for a down bar.
* A bar that touches both the stop in force and the next target (and did not open through
  either) is ambiguous: `pessimistic` (the default) takes the adverse extreme first, so the
  stop fills first; `optimistic` takes the favorable one first. Either way the position's
  `ambiguous_bars` counter goes up, so a result built on such bars can say how much it relied
  on the assumption.
* Between two path points, a level the price must have crossed (the stop while moving against
  the position, a pending target while moving with it) is visited exactly, so a stop fills at
  the stop and a target at the target, as they would with a resting order; a gap at the open
  is the only fill beyond a level.

`bar_prices` is a generator that reads the position *between* prices: the caller runs
`exits.on_price` on each price and books the fills before asking for the next one, so a stop
moved to breakeven by TP1 in the first half of a bar is the stop the second half can hit. It is
pure (no I/O, no clock), like the rest of the engine.
"""

from __future__ import annotations

from collections.abc import Iterator

from cockpit.domain import Candle, PositionState, Side


def _next_target(pos: PositionState) -> float | None:
    """The target the position is waiting for, if any."""
    plan = pos.plan
    if not pos.tp1_filled:
        return plan.tp1_price
    if plan.tp2_price is not None and not pos.tp2_filled:
        return plan.tp2_price
    return None


def is_ambiguous(pos: PositionState, bar: Candle) -> bool:
    """True if `bar` reaches both the stop in force and the next target, and opens through
    neither (an open through one of them settles the order by itself)."""
    sign = pos.side.sign
    target = _next_target(pos)
    if target is None:
        return False
    adverse = bar.low if pos.side is Side.LONG else bar.high
    favorable = bar.high if pos.side is Side.LONG else bar.low
    opens_through = sign * (bar.open - pos.stop) <= 0.0 or sign * (bar.open - target) >= 0.0
    return (
        not opens_through
        and sign * (adverse - pos.stop) <= 0.0
        and sign * (favorable - target) >= 0.0
    )


def bar_corners(bar: Candle, side: Side, *, adverse_first: bool | None) -> tuple[float, ...]:
    """Open, the two extremes in the assumed order, close.

    `adverse_first=None` is the neutral path (low first on an up bar); True/False force the
    extreme that is adverse (or favorable) for `side` to come first.
    """
    if adverse_first is None:
        low_first = bar.close >= bar.open
    else:
        low_first = adverse_first == (side is Side.LONG)
    if low_first:
        return (bar.open, bar.low, bar.high, bar.close)
    return (bar.open, bar.high, bar.low, bar.close)


def _level_between(pos: PositionState, start: float, end: float) -> float | None:
    """The first level the price crosses strictly between `start` and `end`, if any."""
    sign = pos.side.sign
    if sign * (end - start) < 0.0:  # moving against the position: only the stop matters
        stop = pos.stop
        return stop if sign * (start - stop) > 0.0 and sign * (end - stop) < 0.0 else None
    target = _next_target(pos)
    if target is not None and sign * (start - target) < 0.0 and sign * (end - target) > 0.0:
        return target
    return None


def bar_prices(pos: PositionState, bar: Candle, *, optimistic: bool = False) -> Iterator[float]:
    """The prices `pos` saw during `bar`, in order, computed lazily (see the module docstring).

    Stops early once the position is closed. Counts an ambiguous bar on `pos.ambiguous_bars`
    when the generator starts.
    """
    if pos.closed or pos.size <= 0.0:
        return
    adverse_first: bool | None = None
    if is_ambiguous(pos, bar):
        pos.ambiguous_bars += 1
        adverse_first = not optimistic
    corners = bar_corners(bar, pos.side, adverse_first=adverse_first)
    current = corners[0]
    yield current
    for corner in corners[1:]:
        while not pos.closed:
            level = _level_between(pos, current, corner)
            if level is None:
                break
            current = level
            yield level
        if pos.closed:
            return
        if corner != current:
            current = corner
            yield corner
