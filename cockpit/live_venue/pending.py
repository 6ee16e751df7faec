"""Placed is not filled, and the venue moves on its own.

An order whose transaction was sent but whose fill the account does not show yet stays "placed"
(its row says so). The poll loop keeps reading the account and never sends: the order is not sent
again (its transaction may still land until its blockhash expires, and a second one would be a
second order). After `drift.unconfirmed_expiry_s` the transaction's fate is read: landed with an
error (rejected, with the program's reason), or expired; one still resting on the book is
cancelled by the keeper's worker. The outcome goes to the router as a venue event; what follows
comes from the order row (an exit that ended is re-armed and decided again, with backoff).

A stop that triggered on chain shrinks the position without an order of the session's: the poll
loop reads the change from the account and records it as the stop's fill (or as
`closed_on_venue` when no stop of ours explains it). A position that grew or flipped is listed
as "venue differs" and not acted on.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from adapters.base import BrokerError, VenueEvent, VenueEventKind
from adapters.drift import OrderNotConfirmed, base_to_float
from adapters.drift.fills import PositionMark
from cockpit.domain import ExitReason, Fill, OrderRequest, PositionState, Side
from cockpit.live_venue.shared import (
    CLOSED_ON_VENUE,
    KeeperState,
    PendingOrder,
    log,
    logged_cause,
)
from state.records import OrderStatus


class PendingOrders:
    """Unconfirmed market orders until the account decides, and reductions nobody sent."""

    def __init__(self, state: KeeperState) -> None:
        self.state = state
        self._cancelling: set[int] = set()  # pending orders the worker is to cancel
        self._cancel_failing: set[int] = set()

    # ------------------------------------------------------------------ unconfirmed orders
    async def unconfirmed_now(self, order_id: int, exc: OrderNotConfirmed) -> VenueEvent:
        """`submit` saw no fill in time: the row says submitted, the handle waits for `watch`."""
        store = self.state.router.require_store()
        await store.record_order_state(order_id, OrderStatus.SUBMITTED, error=str(exc))
        self.state.unconfirmed[order_id] = exc.placed
        return VenueEvent(VenueEventKind.SUBMITTED, order_id, detail=str(exc))

    def watch(self, order_id: int, order: OrderRequest, trade_id: int | None) -> None:
        """Keep an unconfirmed order until the account shows its fill or it expires; the
        outcome goes to the router as a venue event (what follows comes from the order row)."""
        state = self.state
        now = state.router.clock()
        state.pending[order_id] = PendingOrder(
            order_id=order_id,
            order=order,
            placed=state.unconfirmed.pop(order_id),
            first_sent_ms=now,
            sent_ms=now,
            trade_id=trade_id,
        )
        state.wake.set()

    async def settle(self) -> None:
        """One pass over the unconfirmed orders (the poll loop, with the order lock held; it
        never sends): filled, still waiting, or ended once it can no longer land.

        An order is never sent again: its transaction may still land until its blockhash
        expires, and a second one would be a second order. Past `unconfirmed_expiry_s` the
        transaction's fate is read (it landed with an error: rejected with the program's
        reason; its blockhash expired: expired); an exit that ended is re-armed by the router
        and decided again with backoff, as a new order. One still resting on the book is
        cancelled first (by the worker)."""
        state = self.state
        router, broker, config = state.router, state.broker, state.config
        now = router.clock()
        for key, item in list(state.pending.items()):
            if key in self._cancelling:
                continue
            confirmation = broker.confirm(item.placed)
            if confirmation.fill is not None:
                del state.pending[key]
                await router.on_venue_event(
                    VenueEvent(VenueEventKind.FILLED, item.order_id, confirmation.fill)
                )
                continue
            if now - item.first_sent_ms < config.unconfirmed_expiry_s * 1000:
                continue
            if confirmation.status == "open":  # still resting unfilled: the worker cancels it
                self._cancelling.add(key)
                state.kick()
                continue
            verdict, why = await self._fate(item)
            if verdict == "pending":
                continue  # its blockhash has not expired yet: it may still land
            if verdict == "failed":
                what, ended, kind = (
                    f"landed with an error: {why}",
                    OrderStatus.REJECTED,
                    (VenueEventKind.REJECTED),
                )
            elif verdict == "landed":
                what, ended, kind = (
                    "landed but never filled",
                    OrderStatus.EXPIRED,
                    (VenueEventKind.EXPIRED),
                )
            elif item.sent:
                what, ended, kind = "never showed", OrderStatus.EXPIRED, VenueEventKind.EXPIRED
            else:
                what, ended, kind = (
                    "never showed (perhaps never sent)",
                    OrderStatus.FAILED,
                    VenueEventKind.EXPIRED,
                )
            await self._end(key, item, what, ended, kind)

    async def _fate(self, item: PendingOrder) -> tuple[str, str]:
        """What became of the order's transaction: landed, failed, expired or pending."""
        try:
            verdict, why = await self.state.broker.attempt_state(item.placed)
        except Exception as exc:  # unreadable now: asked again on the next poll
            log.warning("drift: the fate of %s is unreadable: %s", item.placed.tx_sig, exc)
            return "pending", ""
        return ("expired", "") if verdict == "unknown" else (verdict, why)

    async def _end(
        self,
        key: int,
        item: PendingOrder,
        what: str,
        ended: OrderStatus,
        kind: VenueEventKind,
    ) -> None:
        state = self.state
        store = state.router.require_store()
        del state.pending[key]
        reason = (
            f"{item.order.reason} {item.order.client_order_id} {what} on {state.venue} "
            f"within {state.config.unconfirmed_expiry_s:g} s"
            + (": expired" if ended is not OrderStatus.REJECTED else "")
        )
        await store.record_order_state(item.order_id, ended, error=reason)
        await state.router.on_venue_event(VenueEvent(kind, item.order_id, detail=reason))

    async def cancel_expired(self) -> None:
        """The worker's part: cancel market orders that rested unfilled past their expiry (the
        send holds no lock), then end them under the order lock."""
        state = self.state
        router, broker = state.router, state.broker
        for key in sorted(self._cancelling):
            item = state.pending.get(key)
            if item is None:
                self._cancelling.discard(key)
                continue
            try:
                await broker.cancel_stop(item.placed.user_order_id)
            except BrokerError as exc:
                if key not in self._cancel_failing:  # said once; tried again each pass
                    self._cancel_failing.add(key)
                    router.event(
                        "error",
                        f"{item.order.reason} {item.order.client_order_id} rests unfilled and "
                        f"could not be cancelled ({logged_cause(exc)}); still watching",
                    )
                continue
            async with router.order_lock:
                self._cancelling.discard(key)
                self._cancel_failing.discard(key)
                if key not in state.pending:
                    continue
                confirmation = broker.confirm(item.placed)
                if confirmation.fill is not None:  # it filled before the cancel
                    del state.pending[key]
                    await router.on_venue_event(
                        VenueEvent(VenueEventKind.FILLED, item.order_id, confirmation.fill)
                    )
                    continue
                await self._end(
                    key,
                    item,
                    "rested unfilled and was cancelled",
                    OrderStatus.CANCELLED,
                    VenueEventKind.EXPIRED,
                )

    # ------------------------------------------------------------------ the venue's own moves
    async def notice_venue_exits(self) -> None:
        """A position that shrank without an order of ours: a stop fired on chain, or the
        trader closed on the venue. Recorded as a fill, never guessed as anything else."""
        state = self.state
        broker = state.broker
        for pos in list(state.book.positions):
            trade_id = pos.trade_id
            if (
                pos.venue != state.venue
                or pos.closed
                or trade_id is None
                or trade_id in state.blocked
                or state.exit_pending(trade_id)
                or state.entry_in_flight(pos.symbol)
            ):
                continue
            mark = state.marks.get(trade_id)
            if mark is None:
                continue
            stop = state.stops.get(trade_id)
            fired = (
                stop is not None
                and stop.user_order_id is not None
                and stop.synced_to is not None
                and not broker.stop_resting(stop.user_order_id)
            )
            if fired and stop is not None and stop.order_id is not None:
                assert stop.client_order_id is not None
                cid, order_id = stop.client_order_id, stop.order_id
                reason = ExitReason.for_stop(pos.stop_role).value
            else:
                cid, order_id, reason = f"ck-venue-{uuid.uuid4().hex[:14]}", None, CLOSED_ON_VENUE
            fill = broker.reduction_fill(pos.symbol, mark, client_order_id=cid, reason=reason)
            if fill is None:
                await self._check_growth(pos, mark)
                continue
            if fired:  # what the venue's stop triggered on (the median, or the oracle)
                trigger = broker.venue_trigger(pos.symbol)
                fill = replace(fill, trigger_source=trigger[1] if trigger else None)
            if order_id is None:
                order_id = await self._record_venue_exit_row(pos, fill)
            if fired and stop is not None:
                stop.through_since_ms = None
            how = "the on-chain stop fired" if fired else "not by the cockpit"
            state.router.event(
                "warning",
                f"#{trade_id} {state.venue} reduced the position by {fill.size:g} @ "
                f"{fill.price:.4f} ({how})",
            )
            await state.router.apply_exit(pos, order_id, fill, "venue")
            state.marks[trade_id] = broker.account_position(pos.symbol)

    def notice_external(self) -> None:
        """Positions in markets the cockpit does not manage (drift.markets): each change is
        said once in the event log; they are listed, never acted on."""
        state = self.state
        broker = state.broker
        now = {p.symbol: p for p in broker.positions() if not broker.manages(p.symbol)}
        for symbol, held in sorted(now.items()):
            before = state.external.get(symbol)
            if before is not None and before.side is held.side and before.size == held.size:
                continue
            was = "" if before is None else f" (was {before.side.value} {before.size:g})"
            state.router.event(
                "warning",
                f"{symbol}: {held.side.value} {held.size:g} on {state.venue}{was}, a market the "
                "cockpit does not manage: listed as external, never acted on",
            )
        for symbol in sorted(state.external.keys() - now.keys()):
            state.router.event("info", f"{symbol}: the external position closed on {state.venue}")
        state.external.clear()
        state.external.update(now)

    async def _check_growth(self, pos: PositionState, mark: PositionMark) -> None:
        state = self.state
        broker = state.broker
        base = broker.account_position(pos.symbol).base
        if base == mark.base:
            return
        assert pos.trade_id is not None
        step = broker.order_step(pos.symbol)
        venue_size = base_to_float(abs(base))
        same_side = base != 0 and (base > 0) == (pos.side is Side.LONG)
        if same_side and abs(venue_size - pos.size) <= step / 2:
            state.marks[pos.trade_id] = broker.account_position(pos.symbol)
            return
        side = "long" if base > 0 else "short"
        detail = (
            f"#{pos.trade_id} is {pos.side.value} {pos.size:g} in the database, {side} "
            f"{venue_size:g} on {state.venue}"
        )
        state.blocked[pos.trade_id] = detail
        state.router.event("error", f"{detail}: listed, not acted on until this is resolved")
        await state.audit("venue_difference", "system", "venue changed", detail)

    async def _record_venue_exit_row(self, pos: PositionState, fill: Fill) -> int:
        """A row for what the venue did (no order of ours): the fill needs an order to hang on."""
        store = self.state.router.require_store()
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
        return await store.record_order_intent(order, mode=pos.mode, venue=self.state.venue)
