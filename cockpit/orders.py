"""The order lifecycle: one table of legal moves, used by the store and every venue.

DESIGN.md section 4. An order row is written at `intent` (or `would_submit` in SHADOW) *before*
anything is sent, and from then on it only moves along `TRANSITIONS`:

    intent -> would_submit (SHADOW) | submitted -> accepted / open (a resting stop)
           -> partially_filled -> filled
    from any live state -> cancelled | rejected | expired | failed

Any other move is a bug somewhere (a venue event applied twice, a retry that forgot what it had
already recorded, a row resurrected after it ended): `transition()` raises `IllegalTransition`
and the store logs it and writes nothing, so the row keeps saying what really happened. A final
state (filled, cancelled, rejected, expired, failed) has no way out: what follows it is a new
order with a new row.

Pure: no I/O, no Textual, no database; `state` imports it, it imports nothing of the cockpit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class OrderStatus(StrEnum):
    """Where an order stands. Stored as its string value in `orders.status`."""

    INTENT = "intent"
    """Written before the order is sent: the cockpit meant to send it, nothing is on a venue.
    A stop whose placement failed stays here (with the error) while it is retried."""
    WOULD_SUBMIT = "would_submit"
    """SHADOW: what would have been sent; the paper venue's counterpart of `submitted`."""
    SUBMITTED = "submitted"
    """Sent to a venue (a transaction went out), its fill not confirmed yet."""
    ACCEPTED = "accepted"
    """The venue acknowledged the order (it is on its book), nothing filled yet."""
    OPEN = "open"
    """A stop/trigger order resting on the venue at its trigger price."""
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    """The venue (or the broker before sending) refused it: nothing was executed."""
    EXPIRED = "expired"
    """It ran out of time on the venue (or never showed before its transaction could land)."""
    FAILED = "failed"
    """It ended for a reason of the cockpit's side (an error, a crash before it was sent)."""


_S = OrderStatus

TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    # Nothing is on a venue yet. `intent -> intent`: a stop whose placement failed is retried
    # from the same row (same client and user order id) and keeps its error meanwhile.
    # `intent -> open`: a stop goes on chain in one step. No `expired` here: only a venue can
    # let an order expire, and the venue has not seen this one.
    _S.INTENT: frozenset(
        {_S.INTENT, _S.WOULD_SUBMIT, _S.SUBMITTED, _S.OPEN, _S.REJECTED, _S.FAILED, _S.CANCELLED}
    ),
    # SHADOW: the paper venue fills it (its row's mode and venue still say it was never sent).
    _S.WOULD_SUBMIT: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.REJECTED, _S.FAILED, _S.CANCELLED, _S.EXPIRED}
    ),
    # `submitted -> submitted`: the same order re-sent (a new transaction signature) while the
    # first one is unconfirmed.
    _S.SUBMITTED: frozenset(
        {
            _S.SUBMITTED,
            _S.ACCEPTED,
            _S.OPEN,
            _S.PARTIALLY_FILLED,
            _S.FILLED,
            _S.CANCELLED,
            _S.REJECTED,
            _S.EXPIRED,
            _S.FAILED,
        }
    ),
    _S.ACCEPTED: frozenset(
        {
            _S.OPEN,
            _S.PARTIALLY_FILLED,
            _S.FILLED,
            _S.CANCELLED,
            _S.REJECTED,
            _S.EXPIRED,
            _S.FAILED,
        }
    ),
    # `open -> open`: a resting stop modified in place (or a move that failed and left it at
    # its old trigger, with the error). A resting order was accepted: it cannot be rejected.
    _S.OPEN: frozenset(
        {_S.OPEN, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED, _S.FAILED}
    ),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED, _S.FAILED}
    ),
    # Final: what happens next is a new order.
    _S.FILLED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
    _S.FAILED: frozenset(),
}

FINAL: Final[frozenset[OrderStatus]] = frozenset(s for s, out in TRANSITIONS.items() if not out)
"""States with no way out: the order is over."""

LIVE: Final[frozenset[OrderStatus]] = frozenset(OrderStatus) - FINAL
"""States an order can still leave: it may yet be sent, fill, or end."""


class IllegalTransition(ValueError):
    """A status write the lifecycle does not allow; the row must be left as it is."""

    def __init__(
        self, current: OrderStatus, new: OrderStatus, order: int | str | None = None
    ) -> None:
        self.current = current
        self.new = new
        self.order = order
        which = "" if order is None else f"order {order}: "
        if current in FINAL:
            why = f"{current.value} is final"
        else:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
            why = f"from {current.value} only {allowed}"
        super().__init__(f"{which}illegal order transition {current.value} -> {new.value} ({why})")


def is_final(status: OrderStatus | str) -> bool:
    """Whether an order in `status` is over (no transition leaves it)."""
    return OrderStatus(status) in FINAL


def transition(
    current: OrderStatus | str, new: OrderStatus | str, *, order: int | str | None = None
) -> OrderStatus:
    """Check the move `current -> new` against the table and return `new` as an OrderStatus.

    Raises IllegalTransition (a ValueError) naming both states and `order` (a row id or client
    order id, for the log) when the table does not list it, and ValueError for a string that
    is no status at all. Nothing is written here: the caller writes `new` only if this returns.
    """
    old, target = OrderStatus(current), OrderStatus(new)
    if target not in TRANSITIONS[old]:
        raise IllegalTransition(old, target, order)
    return target
