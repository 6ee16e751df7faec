"""Compare what the database believes with what the venue holds, and say where they differ.

Run on start before any order (DESIGN.md section 4): open positions restored from SQLite are
set against the venue's positions and its trigger (stop) orders. This module only *describes*
differences; nothing here fixes anything. A venue position the database does not know is
reported as `external` so the session can adopt it as monitored (SL management offered); one in a
market the cockpit does not trade is `unmanaged` (listed, never acted on); every other
difference is shown to the trader. Pure: no I/O, no driftpy, no clock.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cockpit.domain import OrderSide, PositionState, Side


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A position as the venue reports it; `size` in base units (> 0), `entry` if known."""

    symbol: str
    side: Side
    size: float
    entry: float | None = None


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An open order on the venue. `kind` is ``market``, ``stop`` (trigger market) or ``other``.

    `user_order_id` is the id the cockpit gave it (Drift: 1..255; 0 = not ours).
    """

    symbol: str
    user_order_id: int
    order_id: int
    side: OrderSide
    kind: str
    size: float
    reduce_only: bool
    trigger_price: float | None = None


class DifferenceKind(StrEnum):
    EXTERNAL_POSITION = "external_position"
    UNMANAGED_POSITION = "unmanaged_position"
    MISSING_ON_VENUE = "missing_on_venue"
    SIDE_MISMATCH = "side_mismatch"
    SIZE_MISMATCH = "size_mismatch"
    STOP_MISSING = "stop_missing"
    STOP_PRICE_MISMATCH = "stop_price_mismatch"
    STOP_NOT_REDUCE_ONLY = "stop_not_reduce_only"
    EXTRA_STOPS = "extra_stops"
    ORPHAN_STOP = "orphan_stop"


@dataclass(frozen=True, slots=True)
class Difference:
    """One mismatch, with both sides' values and a sentence for the event log."""

    kind: DifferenceKind
    symbol: str
    detail: str
    trade_id: int | None = None
    db_value: float | None = None
    venue_value: float | None = None


def reconcile(
    db_positions: Iterable[PositionState],
    venue_positions: Iterable[VenuePosition],
    venue_orders: Iterable[VenueOrder],
    *,
    size_tolerance: float = 1e-9,
    price_tolerance: float = 1e-6,
    managed: Container[str] | None = None,
) -> list[Difference]:
    """Every difference between the database's open positions and the venue, in symbol order.

    `size_tolerance` is absolute (base units; pass the market's order step to ignore rounding);
    `price_tolerance` is relative; `managed` names the markets the cockpit trades (None: all).
    An empty list means the two agree.
    """
    db = {p.symbol: p for p in db_positions if not p.closed}
    venue = {p.symbol: p for p in venue_positions}
    stops: dict[str, list[VenueOrder]] = {}
    for order in venue_orders:
        if order.kind == "stop":
            stops.setdefault(order.symbol, []).append(order)

    out: list[Difference] = []
    for symbol in sorted(db.keys() | venue.keys() | stops.keys()):
        mine, theirs = db.get(symbol), venue.get(symbol)
        symbol_stops = stops.get(symbol, [])
        if mine is None and managed is not None and symbol not in managed:
            if theirs is not None:
                out.append(
                    Difference(
                        DifferenceKind.UNMANAGED_POSITION,
                        symbol,
                        f"{symbol}: a {theirs.side.value} {theirs.size:g} on the venue, in a "
                        "market the cockpit does not manage; listed as external, never acted on",
                        venue_value=theirs.size,
                    )
                )
            continue
        if mine is None and theirs is None:
            out.append(_orphans(symbol, symbol_stops))
            continue
        if mine is None:
            assert theirs is not None
            out.append(
                Difference(
                    DifferenceKind.EXTERNAL_POSITION,
                    symbol,
                    f"{symbol}: a {theirs.side.value} {theirs.size:g} on the venue is not in "
                    "the database; adopted as external (monitored, no automatic exits)",
                    venue_value=theirs.size,
                )
            )
            continue
        if theirs is None:
            out.append(
                Difference(
                    DifferenceKind.MISSING_ON_VENUE,
                    symbol,
                    f"#{mine.trade_id} {mine.side.value} {mine.size:g} {symbol} is open in the "
                    "database but the venue has no position (closed outside the cockpit?)",
                    trade_id=mine.trade_id,
                    db_value=mine.size,
                )
            )
            if symbol_stops:
                out.append(_orphans(symbol, symbol_stops))
            continue
        out.extend(_compare(mine, theirs, symbol_stops, size_tolerance, price_tolerance))
    return out


def _compare(
    mine: PositionState,
    theirs: VenuePosition,
    stops: Sequence[VenueOrder],
    size_tolerance: float,
    price_tolerance: float,
) -> list[Difference]:
    symbol, tid = mine.symbol, mine.trade_id
    if mine.side is not theirs.side:
        return [
            Difference(
                DifferenceKind.SIDE_MISMATCH,
                symbol,
                f"#{tid} is a {mine.side.value} in the database but a {theirs.side.value} "
                f"{theirs.size:g} on the venue",
                trade_id=tid,
                db_value=mine.size,
                venue_value=theirs.size,
            )
        ]
    out: list[Difference] = []
    if abs(mine.size - theirs.size) > size_tolerance:
        out.append(
            Difference(
                DifferenceKind.SIZE_MISMATCH,
                symbol,
                f"#{tid} size {mine.size:g} in the database, {theirs.size:g} on the venue",
                trade_id=tid,
                db_value=mine.size,
                venue_value=theirs.size,
            )
        )
    closing = mine.side.closing_order_side
    protecting = [s for s in stops if s.side is closing]
    if not protecting:
        out.append(
            Difference(
                DifferenceKind.STOP_MISSING,
                symbol,
                f"#{tid} has no stop on the venue (database stop {mine.stop:g}): "
                "only the cockpit's software stop protects it",
                trade_id=tid,
                db_value=mine.stop,
            )
        )
        return out
    if len(protecting) > 1:
        out.append(
            Difference(
                DifferenceKind.EXTRA_STOPS,
                symbol,
                f"#{tid} has {len(protecting)} stops on the venue: "
                + ", ".join(f"{s.trigger_price:g} (id {s.user_order_id})" for s in protecting),
                trade_id=tid,
            )
        )
    stop = protecting[0]
    if not stop.reduce_only:
        out.append(
            Difference(
                DifferenceKind.STOP_NOT_REDUCE_ONLY,
                symbol,
                f"#{tid} stop (id {stop.user_order_id}) on the venue is not reduce-only",
                trade_id=tid,
            )
        )
    trigger = stop.trigger_price
    if trigger is None or abs(trigger - mine.stop) > price_tolerance * max(abs(mine.stop), 1e-12):
        out.append(
            Difference(
                DifferenceKind.STOP_PRICE_MISMATCH,
                symbol,
                f"#{tid} stop {mine.stop:g} in the database, {trigger} on the venue",
                trade_id=tid,
                db_value=mine.stop,
                venue_value=trigger,
            )
        )
    return out


def _orphans(symbol: str, stops: Sequence[VenueOrder]) -> Difference:
    ids = ", ".join(str(s.user_order_id) for s in stops)
    return Difference(
        DifferenceKind.ORPHAN_STOP,
        symbol,
        f"{symbol}: {len(stops)} stop order(s) on the venue without a position (ids {ids})",
    )
