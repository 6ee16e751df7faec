"""`LiveVenue`: the keeper of a live venue with on-chain orders (Drift), as the session sees it.

It wires the parts together (stops.py, pending.py, startup.py, all on one `KeeperState`), tells
the UI what is not in step (`venue_alerts`, `stop_note`), sends market orders (`submit`), hands
unconfirmed ones to the poll loop (`watch`), and runs that loop (`run`, `poll_once`).
"""

from __future__ import annotations

import asyncio
import contextlib

from adapters.backoff import Backoff
from adapters.base import BrokerError, VenueEvent, VenueEventKind
from adapters.drift import DriftBroker, OrderNotConfirmed, describe_error
from adapters.drift.reconcile import Difference, VenuePosition
from cockpit.domain import OrderRequest, PositionState
from cockpit.execution.book import PositionBook
from cockpit.execution.commands import Audit
from cockpit.execution.router import Router
from cockpit.live_venue.pending import PendingOrders
from cockpit.live_venue.shared import NO_CHAIN_SL, KeeperState, PendingOrder, StopState, log
from cockpit.live_venue.startup import Startup
from cockpit.live_venue.stops import StopKeeper
from state.records import OrderStatus


class LiveVenue:
    """Drift for one session: stops, unconfirmed orders, venue-side exits, start-up reconcile."""

    def __init__(
        self, router: Router, book: PositionBook, audit: Audit, broker: DriftBroker
    ) -> None:
        self.state = KeeperState(router, book, audit, broker)
        self.router = router
        self.book = book
        self.audit = audit
        self.broker = broker
        self.config = broker.config
        self.stop_keeper = StopKeeper(self.state)
        self.orders = PendingOrders(self.state)
        self.startup = Startup(self.state, self.stop_keeper)
        # The same dicts as the state's (never replaced, only changed in place).
        self.stops: dict[int, StopState] = self.state.stops
        self.pending: dict[int, PendingOrder] = self.state.pending
        self.blocked: dict[int, str] = self.state.blocked
        self._poll_lock = asyncio.Lock()
        self._refresh_failing: str | None = None
        # The worker: the stop sync and the cancels, which send. The poll loop starts it and
        # never waits for it; a start while it runs makes it run once more.
        self._worker: asyncio.Task[None] | None = None
        self._again = False
        self.state.kick = self.kick

    @property
    def venue(self) -> str:
        return self.broker.venue

    @property
    def differences(self) -> list[Difference]:
        """What the last start-up reconcile found."""
        return self.state.differences

    # ------------------------------------------------------------------ what the UI shows
    @property
    def venue_alerts(self) -> dict[int, str]:
        """Trade id -> the short red label for the positions table (absent when in step)."""
        out: dict[int, str] = {}
        for trade_id, state in self.stops.items():
            if state.done:
                continue
            if state.chain is not None:
                out[trade_id] = state.chain
            elif state.error is not None or state.hold is not None:
                out[trade_id] = NO_CHAIN_SL
        for trade_id in self.blocked:
            out[trade_id] = "venue differs"
        for pending in self.pending.values():
            if pending.trade_id is not None:
                out[pending.trade_id] = "exit placed"
        for venue, order in self.router.in_flight.values():  # being sent right now
            if venue == self.venue and order.reduce_only and order.trade_id is not None:
                out[order.trade_id] = "exit placed"
        return out

    def stop_note(self, trade_id: int) -> str | None:
        """The long form of a position's venue state, for the chart's levels line."""
        if trade_id in self.blocked:
            return f"venue differs: {self.blocked[trade_id]} (not acted on)"
        state = self.stops.get(trade_id)
        if state is None or state.done:
            return None
        if state.hold is not None:
            return f"stop not on chain as planned: {state.hold} (o puts it in step)"
        if state.chain is not None and state.error is not None:
            return f"{state.chain}: {state.error}; software stop active, putting it back"
        if state.error is not None:
            return f"stop not on chain: {state.error}; software stop active, retrying"
        if state.trigger is not None:
            return f"stop on chain @ {state.trigger:g}"
        return None

    @property
    def external_positions(self) -> list[VenuePosition]:
        """Positions in markets the cockpit does not manage: listed, never acted on."""
        return [self.state.external[s] for s in sorted(self.state.external)]

    @property
    def pending_entries(self) -> int:
        """Entries sent but not confirmed: the risk gate counts them as open positions."""
        watched = sum(1 for p in self.pending.values() if p.trade_id is None)
        return watched + len(self.router.entries_in_flight(self.venue))

    def exit_pending(self, trade_id: int | None) -> bool:
        return self.state.exit_pending(trade_id)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, restored: list[PositionState]) -> None:
        """Reconcile with the venue before anything is sent; restore user order ids and stops
        (startup.py). A failure is raised with the RPC's own words (solana-py wraps them)."""
        try:
            await self.startup.start(restored)
        except BrokerError:
            raise
        except Exception as exc:
            raise BrokerError(describe_error(exc)) from exc

    async def close(self) -> None:
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
        await self.broker.close_client()

    def backoff(self) -> Backoff:
        """Doubling from `backoff_initial_s` to `backoff_max_s`: reconnecting and re-reading."""
        return Backoff(self.config.backoff_initial_s, self.config.backoff_max_s, jitter=0.0)

    async def run(self) -> None:
        """The poll loop: every `poll_interval_s`, or at once when a stop changed."""
        backoff = self.backoff()
        delay: float | None = None
        wake = self.state.wake
        while True:
            # An RPC that fails or rate-limits is asked less often: the interval doubles from
            # backoff_initial_s per failed read, up to backoff_max_s, and a wake-up (a stop
            # changed) does not cut the back-off short.
            if delay is not None:
                await asyncio.sleep(max(self.config.poll_interval_s, delay))
            else:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives as the event is set, and the session could never stop the loop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.poll_interval_s):
                        await wake.wait()
            wake.clear()
            try:
                if await self.poll_once():
                    backoff.reset()
                    delay = None
                else:
                    delay = backoff.next_delay()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bad poll must never stop the loop or the app
                log.exception("drift poll failed")
                if delay is None:  # said once per failing streak; the loop backs off meanwhile
                    self.router.event(
                        "error", f"{self.venue} poll failed: {describe_error(exc)}; retrying"
                    )
                delay = backoff.next_delay()

    async def poll_once(self) -> bool:
        """One look at the account: settle placed orders, notice venue exits (under the order
        lock, which no send holds), then start the worker that syncs the stops; it never waits
        for a send. False when the account could not be read (nothing else was done)."""
        async with self._poll_lock:
            if not await self._refresh():
                return False
            async with self.router.order_lock:
                await self.orders.settle()
                await self.orders.notice_venue_exits()
            self.orders.notice_external()
            self.kick()
            return True

    # ------------------------------------------------------------------ the worker
    def kick(self) -> None:
        """Start the worker now (or once more when it is running)."""
        if self._worker is not None and not self._worker.done():
            self._again = True
            return
        self._again = False
        self._worker = asyncio.get_running_loop().create_task(
            self._work(), name=f"{self.venue}: stops and cancels"
        )

    async def _work(self) -> None:
        while True:
            try:
                await self.stop_keeper.cancel_released()
                await self.orders.cancel_expired()
                await self.stop_keeper.sync_stops()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bad pass must never end the keeping of stops
                log.exception("drift stop sync failed")
                self.router.event(
                    "error", f"{self.venue} stop sync failed: {describe_error(exc)}; retrying"
                )
                return
            if not self._again:
                return
            self._again = False

    async def idle(self) -> None:
        """Wait until the worker has nothing left to do (tests; the poll loop never waits)."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    async def _refresh(self) -> bool:
        try:
            await self.broker.refresh()
        except Exception as exc:  # RPC down or rate limited: the loop backs off by polling
            text = describe_error(exc)
            if self._refresh_failing is None:
                self.router.event(
                    "error", f"{self.venue}: reading the account failed ({text}); retrying"
                )
            self._refresh_failing = text
            return False
        if self._refresh_failing is not None:
            self.router.event("info", f"{self.venue}: account readable again")
            self._refresh_failing = None
        return True

    # ------------------------------------------------------------------ entries and exits
    def min_order_size(self, symbol: str) -> float:
        """Drift refuses orders below the market's minimum; a close that would leave less
        than it is a close of everything."""
        return max(self.broker.min_order_size(symbol), self.broker.order_step(symbol))

    def handle(self, client_order_id: str) -> int:
        """The Drift user_order_id the order is sent with (stored on its intent row first)."""
        return self.broker.user_order_id(client_order_id)

    async def submit(self, order_id: int, order: OrderRequest) -> VenueEvent:
        """Send a market order whose row exists; the row goes `submitted` once the transaction
        is out. Reports `filled`, `submitted` (not confirmed in time: `watch` it) or `rejected`
        (the broker refused it: nothing sent)."""
        store = self.router.require_store()
        try:
            placed = await self.broker.submit(order)
        except OrderNotConfirmed as exc:
            return await self.orders.unconfirmed_now(order_id, exc)
        except BrokerError as exc:
            return VenueEvent(VenueEventKind.REJECTED, order_id, detail=str(exc))
        await store.record_order_state(order_id, OrderStatus.SUBMITTED, tx_sig=placed.tx_sig)
        try:
            fill = await self.broker.wait_filled(placed)
        except OrderNotConfirmed as exc:
            return await self.orders.unconfirmed_now(order_id, exc)
        return VenueEvent(VenueEventKind.FILLED, order_id, fill)

    def watch(self, order_id: int, order: OrderRequest, trade_id: int | None) -> None:
        """Keep an unconfirmed order until the account shows its fill or it expires
        (pending.py)."""
        self.orders.watch(order_id, order, trade_id)

    def agreed(self, pos: PositionState) -> None:
        """The account now holds what the cockpit thinks (after one of its own fills)."""
        self.state.agreed(pos)

    # ------------------------------------------------------------------ stops (stops.py)
    def track(self, pos: PositionState) -> None:
        """A new live position: its on-chain stop follows the engine's from now on."""
        self.stop_keeper.track(pos)

    def stop_changed(self, pos: PositionState) -> None:
        """The engine or the trader moved the stop: the poll loop brings the chain along."""
        self.stop_keeper.stop_changed(pos)

    def put_in_step(self, trade_id: int) -> None:
        """The trader asked (`o`): put the on-chain stop where the engine's stop is, now."""
        self.stop_keeper.put_in_step(trade_id)

    def defers_stop(self, pos: PositionState, ts_ms: int) -> bool:
        """Whether a price through the stop is left to the on-chain stop for now."""
        return self.stop_keeper.defers_stop(pos, ts_ms)

    def price_back(self, trade_id: int | None) -> None:
        self.stop_keeper.price_back(trade_id)

    async def sync_stops(self) -> None:
        """One stop sync on the account as last read (the worker runs it after each poll)."""
        await self.stop_keeper.sync_stops()

    async def release(self, pos: PositionState) -> None:
        """The position closed: cancel its stop (a stop that already fired is just forgotten)."""
        await self.stop_keeper.release(pos)
