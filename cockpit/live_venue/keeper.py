"""LIVE-SMALL on Drift, the session's side of `adapters.drift.DriftBroker`.

The broker knows how to send one order; this module knows what the cockpit owes the venue over
a position's life (issue 6, DESIGN.md sections 3-5):

- **On-chain stops in step with the engine.** After a live entry fills, a reduce-only
  TriggerMarket stop is placed at the engine's stop; every later stop move (breakeven, profit
  lock, trailing, a manual move) modifies it in place; it is cancelled when the position closes.
  Moves arrive from the tick path as "the stop is now X" and are applied by one poll loop, so a
  burst of trailing moves is one modify, and a tick never waits for a transaction.
- **Software stop when the chain has none.** If a stop cannot be placed or moved, the position is
  marked "stop not on chain" (red in the positions table), the engine's own stop keeps
  protecting it (a reduce-only market close on the first price through it), and the keeper
  retries every `drift.stop_retry_s`. While a stop *is* on chain at the engine's level, a price
  through it is left to the venue for `drift.stop_grace_s` before the software stop backs it up.
- **Placed is not filled.** An order whose transaction was sent but whose fill the account does
  not show yet stays "placed" (its row says so). The poll loop keeps reading the account; after
  `drift.confirm_timeout_s` it re-sends the *same* order (same client and user order id, and the
  broker first checks the account so a landed order is never sent twice), up to
  `drift.max_retries` times; after `drift.unconfirmed_expiry_s` an order the venue never showed
  is marked failed (a Solana transaction cannot land once its blockhash has expired).
- **The venue moves on its own.** A stop that triggered on chain shrinks the position without an
  order of the session's: the poll loop reads the change from the account and records it as the
  stop's fill (or as `closed_on_venue` when no stop of ours explains it).
- **Reconcile on start.** Before any order, the database's open Drift positions and stop rows
  are compared with the venue (adapters/drift_reconcile.py). Every difference goes to the event
  log and the audit table; a position the database does not know is adopted as `external`
  (monitored, its venue stop adopted, SL management offered, no automatic targets); a position
  whose size or side differs is listed but not acted on; a stop that is missing or at another
  price is shown and only put back in step when the trader asks (`o`), never silently.

No Textual here; the session owns this object and calls it, the UI reads `venue_alerts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import uuid
from dataclasses import dataclass

from adapters.backoff import Backoff
from adapters.base import BrokerError, VenueEvent, VenueEventKind
from adapters.drift import (
    DriftBroker,
    OrderNotConfirmed,
    PlacedOrder,
    base_to_float,
    describe_error,
)
from adapters.drift.reconcile import Difference, DifferenceKind, VenueOrder, reconcile
from cockpit.domain import ExitReason, Fill, Mode, OrderRequest, PositionState, Side, StopRole
from cockpit.engine.policy import monitor_plan
from cockpit.execution.book import PositionBook
from cockpit.execution.commands import Audit
from cockpit.execution.router import Router
from state.records import OrderRecord, OrderStatus

log = logging.getLogger(__name__)

CLOSED_ON_VENUE = "closed_on_venue"
"""Exit reason of a reduction the venue made that no stop of the cockpit's explains."""

# Differences after which the cockpit must not act on a position by itself: what it would send
# is computed from a size or side the venue does not hold.
_BLOCKING = frozenset(
    {
        DifferenceKind.MISSING_ON_VENUE,
        DifferenceKind.SIDE_MISMATCH,
        DifferenceKind.SIZE_MISMATCH,
    }
)


class OrderPending(BrokerError):
    """The order's transaction went out (or may have) but the account shows no fill yet."""

    def __init__(self, message: str, order_id: int, order: OrderRequest, placed: PlacedOrder):
        super().__init__(message)
        self.order_id = order_id
        self.order = order
        self.placed = placed


@dataclass
class StopState:
    """The on-chain stop of one position, as far as the cockpit knows it.

    `synced_to` is the engine stop the on-chain trigger was last set from (None: no stop of
    ours is on chain); `error` why the chain is not in step (shown in red); `hold` a start-up
    difference that waits for the trader.
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
    done: bool = False


@dataclass
class PendingOrder:
    """A market order sent but not confirmed, and what to do once the account decides."""

    order_id: int
    order: OrderRequest
    placed: PlacedOrder
    first_sent_ms: int
    sent_ms: int
    trade_id: int | None = None
    resends: int = 0


class LiveVenue:
    """Drift for one session: stops, unconfirmed orders, venue-side exits, start-up reconcile."""

    def __init__(
        self, router: Router, book: PositionBook, audit: Audit, broker: DriftBroker
    ) -> None:
        self.router = router
        self.book = book
        self.audit = audit
        self.broker = broker
        # Placed handles of orders `submit` saw unconfirmed, until `watch` takes them over.
        self._unconfirmed: dict[int, PlacedOrder] = {}
        self.config = broker.config
        self.stops: dict[int, StopState] = {}
        self.pending: dict[int, PendingOrder] = {}
        self.blocked: dict[int, str] = {}
        self.differences: list[Difference] = []
        # The account's (base, quote) for each position when the cockpit last agreed with it:
        # a later unexplained reduction is measured from here.
        self._marks: dict[int, tuple[int, int]] = {}
        self._poll_lock = asyncio.Lock()
        self._stop_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._refresh_failing: str | None = None

    @property
    def venue(self) -> str:
        return self.broker.venue

    # ------------------------------------------------------------------ what the UI shows
    @property
    def venue_alerts(self) -> dict[int, str]:
        """Trade id -> the short red label for the positions table (absent when in step)."""
        out: dict[int, str] = {}
        for trade_id, state in self.stops.items():
            if state.done:
                continue
            if state.error is not None or state.hold is not None:
                out[trade_id] = "no chain SL"
        for trade_id in self.blocked:
            out[trade_id] = "venue differs"
        for pending in self.pending.values():
            if pending.trade_id is not None:
                out[pending.trade_id] = "exit placed"
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
        if state.error is not None:
            return f"stop not on chain: {state.error}; software stop active, retrying"
        if state.trigger is not None:
            return f"stop on chain @ {state.trigger:g}"
        return None

    @property
    def pending_entries(self) -> int:
        """Entries sent but not confirmed: the risk gate counts them as open positions."""
        return sum(1 for p in self.pending.values() if p.trade_id is None)

    def exit_pending(self, trade_id: int | None) -> bool:
        return trade_id is not None and any(p.trade_id == trade_id for p in self.pending.values())

    # ------------------------------------------------------------------ lifecycle
    async def start(self, restored: list[PositionState]) -> None:
        """Reconcile with the venue before anything is sent; restore user order ids and stops."""
        store = self.router.require_store()
        self.stops.clear()
        self.blocked.clear()
        self._marks.clear()
        await self.broker.connect()
        await self.broker.refresh()
        mine = [p for p in restored if p.venue == self.venue and not p.closed]
        rows = await store.venue_orders(
            self.venue,
            (OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.OPEN, OrderStatus.FAILED),
        )
        for row in rows:
            if row.user_order_id is not None:
                self.broker.assign_user_order_id(row.client_order_id, row.user_order_id)
        await self._resume_unfinished(rows, mine)
        resumed = {p.trade_id for p in self.book.positions if p not in mine}
        mine = [p for p in self.book.positions if p.venue == self.venue and not p.closed]
        venue_orders = self.broker.open_orders()
        step = max((self.broker.order_step(s) for s in {p.symbol for p in mine}), default=0.0)
        self.differences = reconcile(
            mine,
            self.broker.positions(),
            venue_orders,
            size_tolerance=max(step / 2, 1e-9),
            price_tolerance=1e-4,
        )
        # A resumed entry has no stop yet: it is placed on the first poll, like any new one's.
        self.differences = [
            d
            for d in self.differences
            if not (d.kind is DifferenceKind.STOP_MISSING and d.trade_id in resumed)
        ]
        open_ids = {p.trade_id for p in mine}
        stop_rows = {
            r.trade_id: r for r in rows if r.order_type == "stop" and r.trade_id in open_ids
        }
        for pos in mine:
            assert pos.trade_id is not None
            self._marks[pos.trade_id] = self.broker.account_position(pos.symbol)
            if pos.trade_id not in resumed:  # a resumed entry's stop is placed like any new one
                self._restore_stop(pos, stop_rows.get(pos.trade_id), venue_orders)
        for diff in self.differences:
            await self._show_difference(diff)
            if diff.kind is DifferenceKind.EXTERNAL_POSITION:
                await self._adopt_external(diff.symbol, venue_orders)
            elif diff.kind in _BLOCKING and diff.trade_id is not None:
                self.blocked[diff.trade_id] = diff.detail
        if not self.differences:
            self.router.event("info", f"{self.venue}: positions and stops agree with the database")

    async def close(self) -> None:
        await self.broker.close_client()

    def backoff(self) -> Backoff:
        """Doubling from `backoff_initial_s` to `backoff_max_s`: reconnecting and re-reading."""
        return Backoff(self.config.backoff_initial_s, self.config.backoff_max_s, jitter=0.0)

    async def run(self) -> None:
        """The poll loop: every `poll_interval_s`, or at once when a stop changed."""
        backoff = self.backoff()
        delay: float | None = None
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
                        await self._wake.wait()
            self._wake.clear()
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
                self.router.event("error", f"{self.venue} poll failed: {describe_error(exc)}")

    async def poll_once(self) -> bool:
        """One look at the account: settle placed orders, notice venue exits, sync stops.
        False when the account could not be read (nothing else was done)."""
        async with self._poll_lock:
            if not await self._refresh():
                return False
            async with self.router.order_lock:
                await self._settle_pending()
                await self._notice_venue_exits()
            await self.sync_stops()
            return True

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
            return await self._unconfirmed_now(order_id, exc)
        except BrokerError as exc:
            return VenueEvent(VenueEventKind.REJECTED, order_id, detail=str(exc))
        await store.record_order_state(order_id, OrderStatus.SUBMITTED, tx_sig=placed.tx_sig)
        try:
            fill = await self.broker.wait_filled(placed)
        except OrderNotConfirmed as exc:
            return await self._unconfirmed_now(order_id, exc)
        return VenueEvent(VenueEventKind.FILLED, order_id, fill)

    async def _unconfirmed_now(self, order_id: int, exc: OrderNotConfirmed) -> VenueEvent:
        store = self.router.require_store()
        await store.record_order_state(order_id, OrderStatus.SUBMITTED, error=str(exc))
        self._unconfirmed[order_id] = exc.placed
        return VenueEvent(VenueEventKind.SUBMITTED, order_id, detail=str(exc))

    def watch(self, order_id: int, order: OrderRequest, trade_id: int | None) -> None:
        """Keep an unconfirmed order until the account shows its fill or it expires; the
        outcome goes to the router as a venue event (what follows comes from the order row)."""
        now = self.router.clock()
        self.pending[order_id] = PendingOrder(
            order_id=order_id,
            order=order,
            placed=self._unconfirmed.pop(order_id),
            first_sent_ms=now,
            sent_ms=now,
            trade_id=trade_id,
        )
        self._wake.set()

    async def _settle_pending(self) -> None:
        store = self.router.require_store()
        now = self.router.clock()
        for key, item in list(self.pending.items()):
            confirmation = self.broker.confirm(item.placed)
            if confirmation.fill is not None:
                del self.pending[key]
                await self.router.on_venue_event(
                    VenueEvent(VenueEventKind.FILLED, item.order_id, confirmation.fill)
                )
                continue
            if now - item.sent_ms < self.config.confirm_timeout_s * 1000:
                continue
            if now - item.first_sent_ms >= self.config.unconfirmed_expiry_s * 1000:
                if confirmation.status == "open":  # still resting unfilled: take it off first
                    try:
                        await self.broker.cancel_stop(item.placed.user_order_id)
                    except BrokerError as exc:
                        self.router.event(
                            "error",
                            f"{item.order.reason} {item.order.client_order_id} rests unfilled "
                            f"and could not be cancelled ({_logged_cause(exc)}); still watching",
                        )
                        continue
                    what, ended = "rested unfilled and was cancelled", OrderStatus.CANCELLED
                else:
                    what, ended = "never showed", OrderStatus.EXPIRED
                del self.pending[key]
                reason = (
                    f"{item.order.reason} {item.order.client_order_id} {what} on {self.venue} "
                    f"within {self.config.unconfirmed_expiry_s:g} s: expired"
                )
                await store.record_order_state(item.order_id, ended, error=reason)
                await self.router.on_venue_event(
                    VenueEvent(VenueEventKind.EXPIRED, item.order_id, detail=reason)
                )
                continue
            if confirmation.status == "open" or item.resends >= self.config.max_retries:
                continue  # resting in the auction, or re-sent enough: wait for expiry
            item.resends += 1
            item.sent_ms = now
            try:
                item.placed = await self.broker.submit(item.order)
            except OrderNotConfirmed as exc:
                item.placed = exc.placed
                await store.record_order_state(item.order_id, OrderStatus.SUBMITTED, error=str(exc))
            except BrokerError as exc:  # refused now (e.g. the position is gone): give up
                del self.pending[key]
                await store.record_order_state(item.order_id, OrderStatus.FAILED, error=str(exc))
                await self.router.on_venue_event(
                    VenueEvent(VenueEventKind.REJECTED, item.order_id, detail=str(exc))
                )
                continue
            self.router.event(
                "warning",
                f"{item.order.reason} {item.order.client_order_id} not confirmed: re-sent with "
                f"the same user_order_id {item.placed.user_order_id} ({item.resends}/"
                f"{self.config.max_retries})",
            )

    def agreed(self, pos: PositionState) -> None:
        """The account now holds what the cockpit thinks (after one of its own fills)."""
        if pos.trade_id is not None:
            self._marks[pos.trade_id] = self.broker.account_position(pos.symbol)

    async def _notice_venue_exits(self) -> None:
        """A position that shrank without an order of ours: a stop fired on chain, or the
        trader closed on the venue. Recorded as a fill, never guessed as anything else."""
        for pos in list(self.book.positions):
            trade_id = pos.trade_id
            if (
                pos.venue != self.venue
                or pos.closed
                or trade_id is None
                or trade_id in self.blocked
                or self.exit_pending(trade_id)
            ):
                continue
            mark = self._marks.get(trade_id)
            if mark is None:
                continue
            stop = self.stops.get(trade_id)
            fired = (
                stop is not None
                and stop.user_order_id is not None
                and stop.synced_to is not None
                and not self.broker.stop_resting(stop.user_order_id)
            )
            if fired and stop is not None and stop.order_id is not None:
                assert stop.client_order_id is not None
                cid, order_id = stop.client_order_id, stop.order_id
                reason = ExitReason.for_stop(pos.stop_role).value
            else:
                cid, order_id, reason = f"ck-venue-{uuid.uuid4().hex[:14]}", None, CLOSED_ON_VENUE
            fill = self.broker.reduction_fill(pos.symbol, mark, client_order_id=cid, reason=reason)
            if fill is None:
                await self._check_growth(pos, mark)
                continue
            if order_id is None:
                order_id = await self._record_venue_exit_row(pos, fill)
            if fired and stop is not None:
                stop.through_since_ms = None
            how = "the on-chain stop fired" if fired else "not by the cockpit"
            self.router.event(
                "warning",
                f"#{trade_id} {self.venue} reduced the position by {fill.size:g} @ "
                f"{fill.price:.4f} ({how})",
            )
            await self.router.apply_exit(pos, order_id, fill, "venue")
            self._marks[trade_id] = self.broker.account_position(pos.symbol)

    async def _check_growth(self, pos: PositionState, mark: tuple[int, int]) -> None:
        base, _ = self.broker.account_position(pos.symbol)
        if base == mark[0]:
            return
        assert pos.trade_id is not None
        step = self.broker.order_step(pos.symbol)
        venue_size = base_to_float(abs(base))
        same_side = base != 0 and (base > 0) == (pos.side is Side.LONG)
        if same_side and abs(venue_size - pos.size) <= step / 2:
            self._marks[pos.trade_id] = self.broker.account_position(pos.symbol)
            return
        side = "long" if base > 0 else "short"
        detail = (
            f"#{pos.trade_id} is {pos.side.value} {pos.size:g} in the database, {side} "
            f"{venue_size:g} on {self.venue}"
        )
        self.blocked[pos.trade_id] = detail
        self.router.event("error", f"{detail}: listed, not acted on until this is resolved")
        await self.audit("venue_difference", "system", "venue changed", detail)

    async def _record_venue_exit_row(self, pos: PositionState, fill: Fill) -> int:
        """A row for what the venue did (no order of ours): the fill needs an order to hang on."""
        store = self.router.require_store()
        order = OrderRequest(
            client_order_id=fill.client_order_id,
            symbol=pos.symbol,
            side=fill.side,
            size=fill.size,
            reduce_only=True,
            reason=fill.reason,
            leverage=pos.leverage,
            trade_id=pos.trade_id,
        )
        return await store.record_order_intent(order, mode=pos.mode, venue=self.venue)

    # ------------------------------------------------------------------ stops
    def track(self, pos: PositionState) -> None:
        """A new live position: its on-chain stop follows the engine's from now on."""
        assert pos.trade_id is not None
        self.stops.setdefault(pos.trade_id, StopState(pos.trade_id))
        self.agreed(pos)
        self._wake.set()

    def stop_changed(self, pos: PositionState) -> None:
        """The engine or the trader moved the stop: the poll loop brings the chain along."""
        state = self.stops.get(pos.trade_id) if pos.trade_id is not None else None
        if state is not None:
            state.through_since_ms = None
            state.retry_at_ms = 0
            self._wake.set()

    def put_in_step(self, trade_id: int) -> None:
        """The trader asked (`o`): put the on-chain stop where the engine's stop is, now."""
        state = self.stops.setdefault(trade_id, StopState(trade_id))
        state.hold = None
        state.retry_at_ms = 0
        self._wake.set()

    def defers_stop(self, pos: PositionState, ts_ms: int) -> bool:
        """Whether a price through the stop is left to the on-chain stop for now.

        Only while our trigger stands at the engine's stop, and for `stop_grace_s` of price
        time at most: then the software stop closes at market (the venue may lag the feed)."""
        state = self.stops.get(pos.trade_id) if pos.trade_id is not None else None
        if state is None or state.error is not None or state.synced_to != pos.stop:
            return False
        if state.through_since_ms is None:
            state.through_since_ms = ts_ms
            self.router.event(
                "stop", f"#{pos.trade_id} price through the stop: left to the on-chain stop"
            )
        if ts_ms - state.through_since_ms < self.config.stop_grace_s * 1000:
            return True
        self.router.event(
            "warning",
            f"#{pos.trade_id} on-chain stop has not filled after {self.config.stop_grace_s:g} s: "
            "the software stop closes at market",
        )
        return False

    def price_back(self, trade_id: int | None) -> None:
        state = self.stops.get(trade_id) if trade_id is not None else None
        if state is not None:
            state.through_since_ms = None

    async def sync_stops(self) -> None:
        async with self._stop_lock:
            for state in list(self.stops.values()):
                if not state.done:
                    await self._sync(state)

    async def _sync(self, state: StopState) -> None:
        pos = self.book.find(state.trade_id)
        if pos is None or pos.closed:
            return
        if state.trade_id in self.blocked or state.hold is not None:
            return
        wanted = pos.stop
        if not math.isfinite(wanted) or wanted <= 0:
            return  # an external position with no stop yet: nothing to protect on chain
        if state.synced_to == wanted and state.error is None:
            return
        now = self.router.clock()
        if state.error is not None and now < state.retry_at_ms:
            return
        on_chain = state.user_order_id is not None and self.broker.stop_resting(state.user_order_id)
        if on_chain:  # ours and resting: moved in place, never a second stop beside it
            await self._modify(state, pos, wanted)
        else:
            await self._place(state, pos, wanted)

    async def _place(self, state: StopState, pos: PositionState, wanted: float) -> None:
        store = self.router.require_store()
        status = OrderStatus.INTENT
        if state.order_id is None or state.client_order_id is None:
            cid = f"ck-sl-{uuid.uuid4().hex[:16]}"
            try:
                uoid = self.broker.user_order_id(cid)
            except BrokerError as exc:
                await self._stop_failed(state, pos, str(exc), None)
                return
            state.order_id = await self._record_stop_row(pos, cid, uoid, pos.size, wanted)
            state.client_order_id, state.user_order_id = cid, uoid
        else:  # a retry: the same row, client and user order id, at today's level
            # A row still `open` is a stop that left the venue (cancelled by hand, or missing at
            # start): it stays open while it is put back; a never-placed one stays at intent.
            row_status = (await store.order(state.order_id)).status
            if row_status not in (OrderStatus.INTENT, OrderStatus.OPEN):
                row_status = OrderStatus.INTENT
            await store.record_order_state(state.order_id, row_status, trigger_price=wanted)
            status = row_status
        try:
            placed = await self.broker.place_stop(
                state.client_order_id, pos.symbol, pos.side, wanted
            )
        except BrokerError as exc:
            # Nothing is on chain: the row stays where it was (with the error) and is retried
            # from there; `failed` would be final (cockpit/orders.py).
            await self._stop_failed(state, pos, _logged_cause(exc), status)
            return
        await self._stop_ok(state, pos, wanted, placed, "placed")

    async def _record_stop_row(
        self, pos: PositionState, cid: str, uoid: int, size: float, trigger: float | None
    ) -> int:
        """The stop's order row (reduce-only, `order_type = stop`), written before it is sent
        (or, for a stop adopted from the venue, before the cockpit touches it)."""
        order = OrderRequest(
            client_order_id=cid,
            symbol=pos.symbol,
            side=pos.side.closing_order_side,
            size=size,
            reduce_only=True,
            reason="stop",
            leverage=pos.leverage,
            trade_id=pos.trade_id,
        )
        return await self.router.require_store().record_order_intent(
            order,
            mode=pos.mode,
            venue=self.venue,
            order_type="stop",
            user_order_id=uoid,
            trigger_price=trigger,
        )

    async def _modify(self, state: StopState, pos: PositionState, wanted: float) -> None:
        assert state.user_order_id is not None
        try:
            placed = await self.broker.modify_stop(state.user_order_id, wanted)
        except BrokerError as exc:
            old = f"{state.trigger:g}" if state.trigger is not None else "?"
            # The old trigger still stands on chain: the row stays open at it.
            await self._stop_failed(
                state,
                pos,
                f"still at {old}, not moved to {wanted:g} ({_logged_cause(exc)})",
                OrderStatus.OPEN,
            )
            return
        await self._stop_ok(state, pos, wanted, placed, "moved")

    async def _stop_ok(
        self, state: StopState, pos: PositionState, wanted: float, placed: PlacedOrder, verb: str
    ) -> None:
        store = self.router.require_store()
        trigger = self.broker.trigger_price_of(placed)
        recovered = state.error is not None
        state.synced_to, state.trigger, state.error = wanted, trigger, None
        if state.order_id is not None:
            await store.record_order_state(
                state.order_id, OrderStatus.OPEN, trigger_price=trigger, tx_sig=placed.tx_sig
            )
        level = "info" if recovered else "stop"
        again = " (back on chain)" if recovered else ""
        self.router.event(level, f"#{pos.trade_id} on-chain stop {verb} @ {trigger:g}{again}")

    async def _stop_failed(
        self, state: StopState, pos: PositionState, reason: str, status: OrderStatus | None
    ) -> None:
        store = self.router.require_store()
        first = state.error is None
        state.error = reason
        state.retry_at_ms = self.router.clock() + int(self.config.stop_retry_s * 1000)
        if status is not None and state.order_id is not None:
            await store.record_order_state(state.order_id, status, error=reason)
        if first:
            self.router.event(
                "error",
                f"#{pos.trade_id} stop not on chain: {reason}; the cockpit's software stop at "
                f"{pos.stop:.4f} protects it, retrying every {self.config.stop_retry_s:g} s",
            )

    async def release(self, pos: PositionState) -> None:
        """The position closed: cancel its stop (a stop that already fired is just forgotten)."""
        state = self.stops.get(pos.trade_id) if pos.trade_id is not None else None
        self._marks.pop(pos.trade_id or -1, None)
        self.blocked.pop(pos.trade_id or -1, None)
        if state is None or state.done:
            return
        state.done = True
        async with self._stop_lock:
            if state.user_order_id is None:
                return
            store = self.router.require_store()
            resting = self.broker.stop_resting(state.user_order_id)
            try:
                await self.broker.cancel_stop(state.user_order_id)
            except BrokerError as exc:
                self.router.event(
                    "error",
                    f"#{pos.trade_id} stop {state.user_order_id} could not be cancelled: {exc} "
                    "(reduce-only: it cannot open a position; cancel it on Drift)",
                )
                return
            if state.order_id is None:
                return
            # Cancelled on chain, or never placed (its row still at intent): ended either way.
            if resting or (await store.order(state.order_id)).status is OrderStatus.INTENT:
                await store.record_order_state(
                    state.order_id, OrderStatus.CANCELLED, error="the position closed"
                )

    # ------------------------------------------------------------------ start-up
    async def _resume_unfinished(self, rows: list[OrderRecord], mine: list[PositionState]) -> None:
        """Market orders sent just before the last stop, whose outcome was not known then.

        What follows comes from the order row, as if the cockpit had never stopped: an entry
        that filled meanwhile opens its position with the plan stored on its row (not an
        "external" one); an exit that filled is applied to its trade; an order that may still
        land (young, not on the account yet) or still rests on the book is watched again; one
        past `unconfirmed_expiry_s` that never showed has expired (an exit's target is re-armed).
        """
        store = self.router.require_store()
        now = self.router.clock()
        for row in rows:
            if row.order_type != "market" or row.status not in (
                OrderStatus.INTENT,
                OrderStatus.SUBMITTED,
            ):
                continue
            resting = row.user_order_id is not None and self.broker.stop_resting(row.user_order_id)
            fill = None if resting else self._landed_while_away(row, mine)
            if fill is not None:
                self.router.event(
                    "warning",
                    f"{row.reason} {row.client_order_id} filled while the cockpit was away: "
                    f"{fill.size:g} @ {fill.price:.4f}",
                )
                await self.router.on_venue_event(VenueEvent(VenueEventKind.FILLED, row.id, fill))
                continue
            # An `intent` row may have been sent too (a stop between the send and the write
            # that says so): while it could still land, it is watched like a submitted one.
            young = now - row.created_at_ms < self.config.unconfirmed_expiry_s * 1000
            if resting or young:
                self._rewatch(row)
                continue
            sent = row.status is OrderStatus.SUBMITTED
            reason = (
                f"{row.reason} {row.client_order_id} was unconfirmed when the cockpit stopped "
                f"and is not on {self.venue}: " + ("expired" if sent else "never sent or lost")
            )
            await store.record_order_state(
                row.id, OrderStatus.EXPIRED if sent else OrderStatus.FAILED, error=reason
            )
            await self.router.on_venue_event(
                VenueEvent(VenueEventKind.EXPIRED, row.id, detail=reason)
            )

    def _landed_while_away(self, row: OrderRecord, mine: list[PositionState]) -> Fill | None:
        """The fill of an order sent before a restart, if the account shows it landed."""
        step = self.broker.order_step(row.symbol)
        venue_pos = next((p for p in self.broker.positions() if p.symbol == row.symbol), None)
        venue_size = 0.0 if venue_pos is None else venue_pos.size
        if not row.reduce_only:
            known = any(p.symbol == row.symbol for p in mine)
            side_ok = venue_pos is not None and venue_pos.side.opening_order_side is row.side
            if known or not side_ok or venue_pos is None or venue_pos.entry is None:
                return None
            if abs(venue_size - row.size) > step:
                return None
            return self.broker.fill_at(
                row.client_order_id,
                row.symbol,
                row.side,
                venue_size,
                venue_pos.entry,
                reduce_only=False,
                reason=row.reason,
            )
        pos = next((p for p in mine if p.trade_id == row.trade_id), None)
        if pos is None:
            return None
        reduced = pos.size - (
            venue_size if venue_pos is not None and venue_pos.side is pos.side else 0.0
        )
        if reduced <= step / 2 or reduced > row.size + step:
            return None
        price = self.broker.oracle_price(row.symbol) or pos.last_price or pos.entry
        return self.broker.fill_at(
            row.client_order_id,
            row.symbol,
            row.side,
            reduced,
            price,
            reduce_only=True,
            reason=row.reason,
            price_source="drift_oracle_estimate",
        )

    def _rewatch(self, row: OrderRecord) -> None:
        """Watch an order an earlier session sent, from the account as it is now (it has not
        landed, so a fill will show as a change from here)."""
        assert row.user_order_id is not None
        placed = self.broker.resume_market_order(
            row.client_order_id,
            row.user_order_id,
            row.symbol,
            row.side,
            row.size,
            reduce_only=row.reduce_only,
            reason=row.reason,
            sent_ms=row.created_at_ms,
        )
        order = OrderRequest(
            client_order_id=row.client_order_id,
            symbol=row.symbol,
            side=row.side,
            size=row.size,
            reduce_only=row.reduce_only,
            reason=row.reason,
            leverage=row.leverage,
            trade_id=row.trade_id,
        )
        self.pending[row.id] = PendingOrder(
            order_id=row.id,
            order=order,
            placed=placed,
            first_sent_ms=row.created_at_ms,
            sent_ms=self.router.clock(),
            trade_id=row.trade_id,
        )
        self.router.event(
            "warning",
            f"{row.reason} {row.client_order_id} was unconfirmed when the cockpit stopped: "
            "watching the account for it again",
        )

    def _restore_stop(
        self, pos: PositionState, row: OrderRecord | None, venue_orders: list[VenueOrder]
    ) -> None:
        assert pos.trade_id is not None
        state = StopState(pos.trade_id)
        self.stops[pos.trade_id] = state
        if row is None:
            state.hold = f"no stop of the cockpit's is on record for the engine's {pos.stop:g}"
            return
        state.order_id, state.client_order_id = row.id, row.client_order_id
        state.user_order_id = row.user_order_id
        found = next(
            (
                o
                for o in venue_orders
                if o.kind == "stop"
                and o.symbol == pos.symbol
                and o.user_order_id == row.user_order_id
            ),
            None,
        )
        if found is None:
            state.hold = f"the stop (user_order_id {row.user_order_id}) is not on {self.venue}"
            return
        self.broker.adopt_stop(row.client_order_id, found)
        state.trigger = found.trigger_price
        if found.trigger_price is not None and _same_level(found.trigger_price, pos.stop):
            state.synced_to = pos.stop
        else:
            state.hold = f"on chain at {found.trigger_price}, the engine's stop is {pos.stop:g}"

    async def _adopt_external(self, symbol: str, venue_orders: list[VenueOrder]) -> None:
        """A venue position the database does not know: monitored, its stop adopted if any."""
        store = self.router.require_store()
        venue_pos = next((p for p in self.broker.positions() if p.symbol == symbol), None)
        if venue_pos is None or venue_pos.entry is None:
            return
        closing = venue_pos.side.closing_order_side
        stop_order = next(
            (
                o
                for o in venue_orders
                if o.symbol == symbol and o.kind == "stop" and o.side is closing and o.reduce_only
            ),
            None,
        )
        stop = stop_order.trigger_price if stop_order is not None else None
        plan = monitor_plan(venue_pos.side, venue_pos.entry, venue_pos.size, stop)
        pos = PositionState(
            symbol=symbol,
            side=venue_pos.side,
            entry=venue_pos.entry,
            initial_size=venue_pos.size,
            size=venue_pos.size,
            leverage=1.0,
            plan=plan,
            stop=plan.stop_loss,
            stop_role=StopRole.MANUAL_STOP if stop is not None else StopRole.STOP_LOSS,
            opened_ms=self.router.clock(),
            mode=Mode.LIVE_SMALL,
            venue=self.venue,
            last_price=venue_pos.entry,
        )
        pos.trade_id = await store.record_adopted(pos)
        self.book.add(pos)
        self._marks[pos.trade_id] = self.broker.account_position(symbol)
        state = StopState(pos.trade_id)
        self.stops[pos.trade_id] = state
        if stop_order is not None:
            cid = f"ck-ext-{uuid.uuid4().hex[:14]}"
            state.order_id = await self._record_stop_row(
                pos, cid, stop_order.user_order_id, stop_order.size, stop
            )
            await store.record_order_state(state.order_id, OrderStatus.OPEN)
            self.broker.adopt_stop(cid, stop_order)
            state.client_order_id, state.user_order_id = cid, stop_order.user_order_id
            state.synced_to, state.trigger = pos.stop, stop
        stop_text = f"its venue stop {stop:g} adopted" if stop is not None else "no stop on it"
        self.router.event(
            "warning",
            f"#{pos.trade_id} adopted external {venue_pos.side.value} {venue_pos.size:g} "
            f"{symbol} @ {venue_pos.entry:.4f}: monitored, no automatic targets, {stop_text} "
            "(e sets a stop)",
        )
        await self.audit(
            "reconcile",
            "system",
            f"adopt external {symbol}",
            "a venue position the database did not know",
            json.dumps({"size": venue_pos.size, "entry": venue_pos.entry, "stop": stop}),
            trade_id=pos.trade_id,
        )

    async def _show_difference(self, diff: Difference) -> None:
        self.router.event("warning", f"reconcile: {diff.detail}")
        detail = json.dumps({"db": diff.db_value, "venue": diff.venue_value, "symbol": diff.symbol})
        await self.audit(
            "reconcile",
            "system",
            diff.kind.value,
            diff.detail,
            detail,
            trade_id=diff.trade_id if diff.kind is not DifferenceKind.EXTERNAL_POSITION else None,
        )


def _logged_cause(exc: BaseException) -> str:
    """Log the broker error's full message (with its ids) and return its short reason (the
    RPC's words) for the table note and the event log."""
    log.warning("%s", exc)
    return str(getattr(exc, "cause", "") or exc)


def _same_level(a: float, b: float) -> bool:
    """Trigger prices are tick-rounded toward the position: within a hair counts as the same."""
    return abs(a - b) <= 1e-4 * max(abs(b), 1e-12)
