"""Which venue an order goes to, and whether a position can be acted on at all.

SHADOW entries go to the paper venue, LIVE-SMALL entries to the live one; an exit always goes to
the venue of its own position. A live venue that keeps orders on chain (Drift) is reached through
its keeper, which is listed here once so that nothing else in the cockpit branches on Drift.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from adapters.backoff import Backoff
from adapters.base import Broker, ExecutionVenue
from cockpit.domain import Mode, PositionState
from cockpit.execution.errors import OrderRejected
from cockpit.execution.router import VenueKeeper

log = logging.getLogger(__name__)


class Keeper(VenueKeeper, ExecutionVenue, Protocol):
    """A live venue's keeper as the rest of execution sees it (cockpit/live_venue/)."""

    blocked: dict[int, str]

    @property
    def pending_entries(self) -> int: ...

    @property
    def venue_alerts(self) -> dict[int, str]: ...

    def stop_note(self, trade_id: int) -> str | None: ...

    def defers_stop(self, pos: PositionState, ts_ms: int) -> bool: ...

    def price_back(self, trade_id: int | None) -> None: ...

    def put_in_step(self, trade_id: int) -> None: ...

    def min_order_size(self, symbol: str) -> float: ...

    async def sync_stops(self) -> None: ...

    async def start(self, restored: list[PositionState]) -> None: ...

    async def run(self) -> None: ...

    async def close(self) -> None: ...

    def backoff(self) -> Backoff:
        """The reconnect backoff (the venue's own settings)."""
        ...


@dataclass(frozen=True, slots=True)
class Route:
    """Where one position's orders go."""

    venue: ExecutionVenue
    mode: Mode
    keeper: Keeper | None


class Venues:
    """The session's paper venue, its live venue (if any) and the live venue's keeper."""

    def __init__(self, paper: Broker, live: Broker | None, keeper: Keeper | None) -> None:
        self.paper = paper
        self.live = live
        self.keeper = keeper
        # Why the live venue cannot be used right now (None once it is reconciled).
        self.down: str | None = None if keeper is None else f"{keeper.venue} is not reconciled yet"
        self.tried = asyncio.Event()  # set once the first reconcile attempt is over
        # The routes never change (only `down` does): built once, not per tick.
        self._paper_route = Route(self._venue(paper), Mode.SHADOW, None)
        self._live_route = (
            None if live is None else Route(self._venue(live), Mode.LIVE_SMALL, keeper)
        )
        # Their venues' names, read per position per tick (a broker's `venue` is a property).
        self._paper_name = paper.venue
        self._live_name = None if live is None else live.venue

    async def connect(
        self, positions: Callable[[], list[PositionState]], event: Callable[[str, str], None]
    ) -> None:
        """Connect to the live venue and reconcile with it; returns once that has worked.

        Until then the venue's positions are listed but not managed (their on-chain stops still
        protect them) and LIVE-SMALL cannot be entered, so nothing is ever sent to the venue
        before the comparison. Meant to run beside the feed, so a slow or dead RPC never holds up
        the dashboard: a failure is said once and retried, backing off.
        """
        keeper = self.keeper
        if keeper is None:
            return
        backoff = keeper.backoff()
        while True:
            try:
                await keeper.start([p for p in positions() if p.venue == keeper.venue])
            except Exception as exc:
                log.warning("venue reconcile failed: %s", exc)
                if backoff.failures == 0:
                    event(
                        "error",
                        f"{keeper.venue} could not be reconciled ({exc}): its positions are "
                        "listed, not managed, and LIVE-SMALL is off until it is; retrying",
                    )
                self.down = f"{keeper.venue} could not be reconciled: {exc}"
            else:
                if backoff.failures:
                    event("info", f"{keeper.venue} reconciled: its positions are managed again")
                self.down = None
                self.tried.set()
                return
            self.tried.set()
            await asyncio.sleep(backoff.next_delay())

    def _venue(self, broker: Broker) -> ExecutionVenue:
        if broker is self.live and self.keeper is not None:
            return self.keeper
        if not isinstance(broker, ExecutionVenue):
            raise TypeError(f"{broker.venue} cannot take orders without a keeper")
        return broker

    def for_entry(self, mode: Mode) -> Route:
        if mode is Mode.LIVE_SMALL:
            if self._live_route is None:
                raise OrderRejected("LIVE-SMALL without a live broker")
            return self._live_route
        return self._paper_route

    def broker_for(self, venue: str) -> Broker | None:
        """The connected broker of `venue`, or None (then its positions are listed, not managed)."""
        for broker in (self.paper, self.live):
            if broker is not None and broker.venue == venue:
                if broker is self.live and self.down is not None:
                    return None  # not reconciled: what it holds is not known to be ours
                return broker
        return None

    def route(self, pos: PositionState) -> Route | None:
        """Where `pos`'s orders go, or None when its venue is not connected (then it is listed,
        never acted on). Called for every position on every tick: two string compares."""
        venue = pos.venue
        if venue == self._paper_name:
            return self._paper_route
        if venue == self._live_name:
            return None if self.down is not None else self._live_route
        return None

    def keeper_of(self, pos: PositionState) -> Keeper | None:
        keeper = self.keeper
        return keeper if keeper is not None and pos.venue == keeper.venue else None

    def blocked(self, pos: PositionState) -> str | None:
        """Why the venue holds something else than this position (never acted on), or None."""
        keeper = self.keeper_of(pos)
        if keeper is None or pos.trade_id is None:
            return None
        return keeper.blocked.get(pos.trade_id)

    def min_order_size(self, pos: PositionState) -> float:
        """The smallest order the position's venue accepts (0 on paper): a partial close that
        would leave less closes everything (engine/manual.py)."""
        keeper = self.keeper_of(pos)
        return 0.0 if keeper is None else keeper.min_order_size(pos.symbol)

    def pending_entries(self, route: Route) -> int:
        return 0 if route.keeper is None else route.keeper.pending_entries
