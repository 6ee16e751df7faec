"""The one way an order leaves and its outcome comes back: intent row -> venue -> events.

Every order, entry or exit, paper or Drift, takes the same path (the order lock is held to
decide and write it and to apply its outcome, never while the venue sends):
1. its row is committed first (`intent`, or `would_submit` in SHADOW), with the venue's handle
   and, for an entry, the intent the position will be opened from. A failed write means the order
   is not sent, and a take-profit is re-armed with nothing else changed;
2. the venue is asked and answers with a `VenueEvent`: filled, rejected, or submitted (the fill
   is not confirmed yet: the venue reports it later through `on_venue_event`);
3. what follows is derived from the order row alone (an entry's row opens the position from its
   stored intent and the fill; an exit's row applies the fill to its trade), so it is the same for
   a fill reported at once, seconds later by the Drift poll loop, or after a restart.
A fill is booked in memory first and then written; a write that fails is kept and retried until
the database has it (`durable`). A failed exit backs off (`retry`) instead of going out on every
price.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol

from adapters.base import ExecutionVenue, VenueEvent, VenueEventKind
from cockpit.config import Settings
from cockpit.domain import Fill, Mode, MoveStop, OrderRequest, PositionState
from cockpit.engine.exits import apply_fill, rearm
from cockpit.engine.policy import describe_plan
from cockpit.execution.book import PositionBook
from cockpit.execution.durable import DurableWrites
from cockpit.execution.errors import EntryPending, OrderRejected
from cockpit.execution.intent import EntryIntent
from cockpit.execution.paper_twin import PaperTwins
from cockpit.execution.retry import ExitRetries
from cockpit.orders import OrderStatus
from cockpit.risk import RiskGate
from state.records import OrderRecord
from state.store import Store

log = logging.getLogger(__name__)

ENGINE = "engine"


class IntentNotWritten(Exception):
    """The order's row could not be written, so the order was not sent."""


class VenueKeeper(Protocol):
    """What the router needs of a venue that keeps orders on chain (cockpit/live_venue/)."""

    @property
    def venue(self) -> str: ...

    def watch(self, order_id: int, order: OrderRequest, trade_id: int | None) -> None: ...

    def exit_pending(self, trade_id: int | None) -> bool: ...

    def track(self, pos: PositionState) -> None: ...

    def agreed(self, pos: PositionState) -> None: ...

    def stop_changed(self, pos: PositionState) -> None: ...

    async def release(self, pos: PositionState) -> None: ...


class Router:
    """Sends orders, applies what venues report, keeps the book and the journal in step."""

    def __init__(
        self,
        settings: Settings,
        book: PositionBook,
        risk: RiskGate,
        *,
        store: Callable[[], Store],
        event: Callable[[str, str], None],
        clock: Callable[[], int],
        on_db_failing: Callable[[str | None], None],
        on_closed: Callable[[], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.book = book
        self.risk = risk
        self.require_store = store
        self.event = event
        self.clock = clock
        self._on_closed = on_closed
        self.retries = ExitRetries(clock)
        self.durable = DurableWrites(event, on_db_failing)
        # Guards deciding an order and applying its outcome (and a venue poll's reading of the
        # account against the book); never held while a venue sends: a send can take up to its
        # deadline, and nothing else must wait for it.
        self.order_lock = asyncio.Lock()
        # Orders being sent right now, by order id (registered with their intent row, dropped
        # once their outcome is applied): a venue's poll leaves their positions alone, and a
        # second exit of the same position waits for the first.
        self.in_flight: dict[int, tuple[str, OrderRequest]] = {}
        # A stop exit's trigger source by order id, until its fill is booked (fills.trigger_source).
        self._trigger_sources: dict[int, str] = {}
        self.keeper: VenueKeeper | None = None
        # Told of every exit fill after it is booked (the alert rules); set by the session.
        self.on_exit_fill: Callable[[PositionState, Fill], None] | None = None
        # Each LIVE-SMALL fill's paper twin (issue 18 item 6), from the ticks the session sees.
        self.twins = PaperTwins(settings.paper, {})
        # Why an order must not go out for want of the account's lock (account_lock.py), or
        # None; asked before every order, before the order lock is taken.
        self.account_check: Callable[..., Awaitable[str | None]] | None = None

    async def _lock_refusal(self, *, reduce_only: bool) -> str | None:
        check = self.account_check
        return None if check is None else await check(reduce_only=reduce_only)

    # ------------------------------------------------------------------ sending
    async def _intent(
        self,
        venue: ExecutionVenue,
        order: OrderRequest,
        mode: Mode,
        intent: EntryIntent | None = None,
    ) -> int:
        """The order's row, written before anything is sent (the caller holds the order lock);
        the order is in flight from here. Raises IntentNotWritten when the row could not be
        written (then nothing is sent)."""
        store = self.require_store()
        quote = self.twins.quote(order, mode)  # the paper twin's price, kept with the row
        try:
            order_id = await store.record_order_intent(
                order,
                mode=mode,
                venue=venue.venue,
                status=OrderStatus.WOULD_SUBMIT if mode is Mode.SHADOW else OrderStatus.INTENT,
                user_order_id=venue.handle(order.client_order_id),
                intent_json=None if intent is None else intent.to_json(),
                paper=quote,
            )
        except Exception as exc:
            log.error("intent row of %s not written: %s", order.client_order_id, exc)
            raise IntentNotWritten(f"the database did not take the order ({exc})") from exc
        self.in_flight[order_id] = (venue.venue, order)
        self.twins.sent(order_id, quote)
        return order_id

    async def _submit(
        self, venue: ExecutionVenue, order_id: int, order: OrderRequest
    ) -> VenueEvent:
        """The venue, with no lock held; anything it raises is reported as a rejection."""
        try:
            event = await venue.submit(order_id, order)
        except Exception as exc:  # a venue bug must not leave the row dangling or kill the tick
            log.exception("venue %s failed on %s", venue.venue, order.client_order_id)
            event = VenueEvent(VenueEventKind.REJECTED, order_id, detail=f"venue error: {exc}")
        if event.kind is VenueEventKind.REJECTED:
            self.twins.forget(order_id)
            store = self.require_store()
            await self.durable.write(
                f"order {order.client_order_id} rejected",
                lambda: store.record_order_state(
                    order_id, OrderStatus.REJECTED, error=event.detail
                ),
            )
        return event

    def exit_in_flight(self, trade_id: int | None) -> bool:
        """Whether an exit of this trade is being sent right now."""
        return trade_id is not None and any(
            o.trade_id == trade_id for _, o in self.in_flight.values()
        )

    def entries_in_flight(self, venue: str) -> list[OrderRequest]:
        """Entries being sent to `venue` right now (the risk gate counts them as positions)."""
        return [o for v, o in self.in_flight.values() if v == venue and not o.reduce_only]

    async def open(
        self, venue: ExecutionVenue, intent: EntryIntent, order: OrderRequest
    ) -> PositionState:
        """Send an entry whose checks passed; returns the position once the fill is booked.
        The order lock is held to write the row and to apply the outcome, never while the venue
        sends."""
        refused = await self._lock_refusal(reduce_only=False)
        if refused is not None:
            self.event("error", f"open {intent.side.value} {intent.symbol} not sent: {refused}")
            raise OrderRejected(refused)
        async with self.order_lock:
            try:
                order_id = await self._intent(venue, order, intent.mode, intent)
            except IntentNotWritten as exc:
                message = f"open {intent.side.value} {intent.symbol} not sent: {exc}"
                self.event("error", message)
                raise OrderRejected(message) from exc
        try:
            event = await self._submit(venue, order_id, order)
            async with self.order_lock:
                return await self._entry_outcome(venue, intent, order, event)
        finally:
            self.in_flight.pop(order_id, None)

    async def _entry_outcome(
        self, venue: ExecutionVenue, intent: EntryIntent, order: OrderRequest, event: VenueEvent
    ) -> PositionState:
        """What an entry's send came to (the caller holds the order lock)."""
        if event.kind is VenueEventKind.REJECTED:
            message = f"open {intent.side.value} {intent.symbol} refused: {event.detail}"
            self.event("error", message)
            raise OrderRejected(message)
        if event.kind is VenueEventKind.SUBMITTED:
            self._watch(event.order_id, order, None)
            self.event("warning", f"entry not confirmed yet: {event.detail}; watching the account")
            raise EntryPending(
                f"entry {order.client_order_id} is placed on {venue.venue} but not "
                "confirmed yet; the cockpit keeps watching and lists the position when the "
                "fill shows"
            )
        assert event.fill is not None
        return await self._opened(event.order_id, intent, event.fill)

    async def _opened(self, order_id: int, intent: EntryIntent, fill: Fill) -> PositionState:
        """An entry's fill: the position, opened from the stored intent at the fill price."""
        fill = self.twins.beside(order_id, fill, intent.mode, None)
        pos = intent.position(self.settings, fill)
        store = self.require_store()

        async def write() -> None:
            pos.trade_id = await store.record_open(order_id, fill, pos, intent.features)

        # Listed once its trade row exists; if the write fails the position is listed (and
        # managed) all the same, and gets its trade number when the retry lands.
        await self.durable.write(f"entry fill {fill.client_order_id}", write)
        self.book.add(pos)
        self.event(
            "trade",
            f"#{pos.trade_id} opened {intent.side.value} {fill.size:.4f} {intent.symbol} @ "
            f"{fill.price:.4f} ({intent.leverage:g}x, fee {fill.fee:.4f}) "
            f"{describe_plan(pos.plan)}",
        )
        if self.keeper is not None and intent.venue == self.keeper.venue:
            self.keeper.track(pos)  # its stop goes on chain
        return pos

    async def close(
        self,
        venue: ExecutionVenue,
        mode: Mode,
        pos: PositionState,
        size: float,
        reason: str,
        who: str,
        *,
        trigger_source: str | None = None,
    ) -> None:
        """One reduce-only exit. Failures re-arm the target, back off, and are said once per
        streak (an engine exit) or raised to the trader (a manual one). `trigger_source` (a
        stop's) is what price the stop triggered on; its fill records it."""
        size = min(size, pos.size)
        if size <= 0 or pos.closed:
            return
        if who == ENGINE and self.retries.waiting(pos.trade_id, reason):
            rearm(pos, reason)  # not sent: waits for its backoff
            return
        order = OrderRequest(
            client_order_id=new_client_order_id(),
            symbol=pos.symbol,
            side=pos.side.closing_order_side,
            size=size,
            reduce_only=True,
            reason=reason,
            leverage=pos.leverage,
            trade_id=pos.trade_id,
        )
        refused = await self._lock_refusal(reduce_only=True)
        if refused is not None:
            self._exit_failed(pos, reason, who, refused)
            return
        async with self.order_lock:
            if self.exit_in_flight(pos.trade_id):  # one exit of a position at a time
                if who != ENGINE:
                    message = f"#{pos.trade_id}: an exit is being sent; try again in a moment"
                    self.event("error", message)
                    raise OrderRejected(message)
                rearm(pos, reason)
                return
            try:
                order_id = await self._intent(venue, order, mode)
            except IntentNotWritten as exc:
                self._exit_failed(pos, reason, who, str(exc))
                return
            if trigger_source is not None:
                self._trigger_sources[order_id] = trigger_source
        try:
            event = await self._submit(venue, order_id, order)  # no lock held
            async with self.order_lock:
                await self._exit_outcome(pos, order, reason, who, event)
        finally:
            self.in_flight.pop(order_id, None)

    async def _exit_outcome(
        self, pos: PositionState, order: OrderRequest, reason: str, who: str, event: VenueEvent
    ) -> None:
        """What an exit's send came to (the caller holds the order lock)."""
        if event.kind is VenueEventKind.REJECTED:
            self._trigger_sources.pop(event.order_id, None)
            self._exit_failed(pos, reason, who, event.detail)
            return
        self._exit_went_out(pos, reason)
        if event.kind is VenueEventKind.SUBMITTED:
            self.event(
                "warning",
                f"#{pos.trade_id} exit ({reason}) placed, not confirmed yet: {event.detail}; "
                "watching",
            )
            self._watch(event.order_id, order, pos.trade_id)
            return
        assert event.fill is not None
        await self.apply_exit(pos, event.order_id, event.fill, who)

    def _exit_failed(self, pos: PositionState, reason: str, who: str, why: str) -> None:
        rearm(pos, reason)
        if who != ENGINE:  # the trader asked: told at once, tries again when they choose to
            message = f"#{pos.trade_id} exit ({reason}) failed: {why}"
            self.event("error", message)
            raise OrderRejected(message)
        short = why if len(why) <= 80 else why[:77] + "..."
        first, delay = self.retries.failed(pos.trade_id, reason, short)
        if first:
            self.event(
                "error",
                f"#{pos.trade_id} exit ({reason}) failed: {why}; retrying with backoff "
                f"(next in {delay:g} s)",
            )

    def _exit_went_out(self, pos: PositionState, reason: str) -> None:
        failures = self.retries.succeeded(pos.trade_id, reason)
        if failures:
            self.event(
                "info", f"#{pos.trade_id} exit ({reason}) went out after {failures} failed tries"
            )

    # ------------------------------------------------------------------ fills
    async def apply_exit(self, pos: PositionState, order_id: int, fill: Fill, who: str) -> None:
        """An exit fill (ours, or one the venue made): position first, then the journal."""
        source = self._trigger_sources.pop(order_id, None)
        if source is not None and fill.trigger_source is None:
            fill = replace(fill, trigger_source=source)
        fill = self.twins.beside(order_id, fill, pos.mode, pos.trade_id)
        store = self.require_store()
        if pos.trade_id is not None:
            store.hold(pos.trade_id)  # no snapshot flush ahead of this fill's row
        moves = apply_fill(pos, fill)
        snapshot = _frozen(pos)

        async def write() -> None:
            if snapshot.trade_id is None:  # opened while the database was failing
                snapshot.trade_id = pos.trade_id
            await store.record_exit_fill(order_id, fill, snapshot)
            if snapshot.trade_id is not None:
                store.release(snapshot.trade_id)

        self.risk.record_realized(
            pos.side.sign * (fill.price - pos.entry) * fill.size - fill.fee, self.clock()
        )
        await self.durable.write(f"exit fill {fill.client_order_id} of #{pos.trade_id}", write)
        keeper = self.keeper
        on_keeper = keeper is not None and pos.venue == keeper.venue
        if on_keeper and keeper is not None:
            keeper.agreed(pos)
        self._log_exit(pos, fill, who)
        if self.on_exit_fill is not None:
            self.on_exit_fill(pos, fill)  # the alert rules (stop hit, TP fill); no I/O
        for move in moves:
            if isinstance(move, MoveStop):
                await self.record_stop_move(pos, move, ENGINE, fill.ts_ms)
        if on_keeper and keeper is not None and moves:
            keeper.stop_changed(pos)
        if pos.closed:
            self.book.remove(pos)
            self.retries.forget(pos.trade_id)
            self.twins.price_back(pos.trade_id)
            if on_keeper and keeper is not None:
                await keeper.release(pos)
            await self._on_closed()

    async def record_stop_move(
        self, pos: PositionState, move: MoveStop, who: str, ts_ms: int
    ) -> None:
        """A stop move: in memory already; its row (and the trade's stop) written durably."""
        store = self.require_store()
        trade_id = pos.trade_id

        async def write() -> None:
            tid = trade_id if trade_id is not None else pos.trade_id
            if tid is not None:
                await store.record_stop_move(
                    tid, move.old, move.new, move.role, move.reason, who, ts_ms
                )

        await self.durable.write(f"stop move of #{pos.trade_id}", write)
        by = "" if who == ENGINE else f" by {who}"
        self.event(
            "stop",
            f"#{pos.trade_id} stop {move.old:.4f} -> {move.new:.4f}{by} "
            f"({move.role.value}: {move.reason})",
        )

    def _log_exit(self, pos: PositionState, fill: Fill, who: str) -> None:
        pnl = pos.side.sign * (fill.price - pos.entry) * fill.size
        left = "closed" if pos.closed else f"{pos.size:.4f} left"
        self.event(
            "trade",
            f"#{pos.trade_id} {fill.reason} {fill.size:.4f} @ {fill.price:.4f} "
            f"P&L {pnl:+.4f} fee {fill.fee:.4f} by {who}; {left}",
        )

    # ------------------------------------------------------------------ later reports
    def _watch(self, order_id: int, order: OrderRequest, trade_id: int | None) -> None:
        keeper = self.keeper
        if keeper is None:
            raise RuntimeError("a venue reported an order as submitted but keeps no orders")
        keeper.watch(order_id, order, trade_id)

    async def on_venue_event(self, event: VenueEvent) -> None:
        """A venue's later report about an order: what follows comes from the order's row.

        Called with the order lock held (the venue's poll loop holds it)."""
        store = self.require_store()
        row = await store.order(event.order_id)
        if event.kind in (VenueEventKind.FILLED, VenueEventKind.PARTIALLY_FILLED):
            assert event.fill is not None
            await self._filled_later(row, event.fill)
        elif event.kind in (
            VenueEventKind.EXPIRED,
            VenueEventKind.REJECTED,
            VenueEventKind.CANCELLED,
        ):
            await self._failed_later(row, event)

    async def _filled_later(self, row: OrderRecord, fill: Fill) -> None:
        self.twins.restore(row.id, row.paper)  # sent before a restart: the row keeps its twin
        if not row.reduce_only:
            if row.intent_json is None:
                self.event("error", f"entry {row.client_order_id} filled but its intent is lost")
                return
            await self._opened(row.id, EntryIntent.from_json(row.intent_json), fill)
            return
        pos = self.book.find(row.trade_id) if row.trade_id is not None else None
        if pos is None or pos.closed:
            self.event(
                "warning", f"{row.reason} {row.client_order_id} filled for a closed position"
            )
            return
        await self.apply_exit(pos, row.id, fill, "venue")

    async def _failed_later(self, row: OrderRecord, event: VenueEvent) -> None:
        self._trigger_sources.pop(row.id, None)
        self.twins.forget(row.id)
        if not row.reduce_only:
            self.event("error", f"entry failed: {event.detail}")
            return
        pos = self.book.find(row.trade_id) if row.trade_id is not None else None
        self.event(
            "error", f"#{row.trade_id} exit ({row.reason}) failed: {event.detail}; will retry"
        )
        if pos is not None:
            rearm(pos, row.reason)
            self.retries.failed(pos.trade_id, row.reason, event.detail[:80])


def new_client_order_id() -> str:
    return f"ck-{uuid.uuid4().hex[:20]}"


def _frozen(pos: PositionState) -> PositionState:
    """The position as it is now, for a write that may run later (a retried one)."""
    return copy.copy(pos)
