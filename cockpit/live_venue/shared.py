"""What the parts of the Drift keeper share: the wiring, what it knows of each position, helpers.

One `KeeperState` per session. The stop keeping (stops.py), the unconfirmed orders and venue
exits (pending.py) and the start-up (startup.py) each read and change it; the keeper
(keeper.py) owns it and is the only face the rest of the cockpit sees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from adapters.drift import DriftBroker, PlacedOrder
from adapters.drift.fills import PositionMark
from adapters.drift.reconcile import Difference, DifferenceKind, VenuePosition
from cockpit.domain import OrderRequest, PositionState
from cockpit.execution.book import PositionBook
from cockpit.execution.commands import Audit
from cockpit.execution.router import Router

log = logging.getLogger("cockpit.live_venue")

NO_CHAIN_SL = "no chain SL"
CHAIN_SL_DIFFERS = "chain SL differs"

CLOSED_ON_VENUE = "closed_on_venue"
"""Exit reason of a reduction the venue made that no stop of the cockpit's explains."""

# Differences after which the cockpit must not act on a position by itself: what it would send
# is computed from a size or side the venue does not hold.
BLOCKING = frozenset(
    {
        DifferenceKind.MISSING_ON_VENUE,
        DifferenceKind.SIDE_MISMATCH,
        DifferenceKind.SIZE_MISMATCH,
    }
)


@dataclass
class StopState:
    """The on-chain stop of one position, as far as the cockpit knows it.

    `synced_to` is the engine stop the on-chain trigger was last set from (None: no stop of
    ours is on chain); `error` why the chain is not in step (shown in red); `hold` a start-up
    difference that waits for the trader; `chain` the red label when the account, read back,
    does not hold the stop the cockpit set (`no chain SL`, `chain SL differs`); `sent_slot` the
    slot of the last change sent (an account read older than it cannot tell).
    """

    trade_id: int
    order_id: int | None = None
    client_order_id: str | None = None
    user_order_id: int | None = None
    synced_to: float | None = None
    trigger: float | None = None
    error: str | None = None
    retry_at_ms: int = 0
    hold: str | None = None
    through_since_ms: int | None = None
    grace_over_said: bool = False
    done: bool = False
    chain: str | None = None
    sent_slot: int = 0


@dataclass
class PendingOrder:
    """A market order sent but not confirmed, and what to do once the account decides."""

    order_id: int
    order: OrderRequest
    placed: PlacedOrder
    first_sent_ms: int
    sent_ms: int
    trade_id: int | None = None
    # False for a row an earlier process left at `intent` (it may or may not have gone out):
    # it ends `failed`, not `expired`, if it never shows.
    sent: bool = True


class KeeperState:
    """The keeper's wiring and what it knows of the venue, shared by its parts."""

    def __init__(
        self, router: Router, book: PositionBook, audit: Audit, broker: DriftBroker
    ) -> None:
        self.router = router
        self.book = book
        self.audit = audit
        self.broker = broker
        self.config = broker.config
        # Placed handles of orders `submit` saw unconfirmed, until `watch` takes them over.
        self.unconfirmed: dict[int, PlacedOrder] = {}
        self.stops: dict[int, StopState] = {}
        self.pending: dict[int, PendingOrder] = {}
        self.blocked: dict[int, str] = {}
        self.differences: list[Difference] = []
        # The account's position (base, quote, settled P&L, funding rate) for each position when
        # the cockpit last agreed with it:
        # a later unexplained reduction is measured from here.
        self.marks: dict[int, PositionMark] = {}
        # Positions in markets the cockpit does not manage, by symbol: listed, never acted on.
        self.external: dict[str, VenuePosition] = {}
        # Set when the poll loop should run now rather than at its next interval.
        self.wake = asyncio.Event()
        # Starts the keeper's worker (the stop sync and the cancels, which send): set by the
        # keeper; the poll loop and the router's callbacks never send themselves.
        self.kick: Callable[[], None] = lambda: None

    @property
    def venue(self) -> str:
        return self.broker.venue

    def agreed(self, pos: PositionState) -> None:
        """The account now holds what the cockpit thinks (after one of its own fills)."""
        if pos.trade_id is not None:
            self.marks[pos.trade_id] = self.broker.account_position(pos.symbol)

    def exit_pending(self, trade_id: int | None) -> bool:
        """An exit of this trade is unconfirmed (watched) or being sent right now."""
        if trade_id is None:
            return False
        if self.router.exit_in_flight(trade_id):
            return True
        return any(p.trade_id == trade_id for p in self.pending.values())

    def entry_in_flight(self, symbol: str) -> bool:
        """An entry on `symbol` is being sent to this venue right now (its fill may already
        show on the account before the router has booked it)."""
        return any(o.symbol == symbol for o in self.router.entries_in_flight(self.venue))


def logged_cause(exc: BaseException) -> str:
    """Log the broker error's full message (with its ids) and return its short reason (the
    RPC's words) for the table note and the event log."""
    log.warning("%s", exc)
    return str(getattr(exc, "cause", "") or exc)


def same_level(a: float, b: float) -> bool:
    """Trigger prices are tick-rounded toward the position: within a hair counts as the same."""
    return abs(a - b) <= 1e-4 * max(abs(b), 1e-12)
