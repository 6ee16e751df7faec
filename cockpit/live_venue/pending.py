"""Placed is not filled, and the venue moves on its own.

An order whose transaction was sent but whose fill the account does not show yet stays "placed"
(its row says so). The poll loop keeps reading the account; after `drift.confirm_timeout_s` it
re-sends the *same* order (same client and user order id, and the broker first checks the
account so a landed order is never sent twice), up to `drift.max_retries` times; after
`drift.unconfirmed_expiry_s` an order the venue never showed is marked failed (a Solana
transaction cannot land once its blockhash has expired). The outcome goes to the router as a
venue event; what follows comes from the order row.

A stop that triggered on chain shrinks the position without an order of the session's: the poll
loop reads the change from the account and records it as the stop's fill (or as
`closed_on_venue` when no stop of ours explains it). A position that grew or flipped is listed
as "venue differs" and not acted on.
"""

from __future__ import annotations

import uuid

from adapters.base import BrokerError, VenueEvent, VenueEventKind
from adapters.drift import OrderNotConfirmed, base_to_float
from cockpit.domain import ExitReason, Fill, OrderRequest, PositionState, Side
from cockpit.live_venue.shared import CLOSED_ON_VENUE, KeeperState, PendingOrder, logged_cause
from state.records import OrderStatus


class PendingOrders:
    """Unconfirmed market orders until the account decides, and reductions nobody sent."""

    def __init__(self, state: KeeperState) -> None:
        self.state = state

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
        """One pass over the unconfirmed orders: filled, expired, re-sent, or still waiting."""
        state = self.state
        router, broker, config = state.router, state.broker, state.config
        store = router.require_store()
        now = router.clock()
        for key, item in list(state.pending.items()):
            confirmation = broker.confirm(item.placed)
            if confirmation.fill is not None:
                del state.pending[key]
                await router.on_venue_event(
                    VenueEvent(VenueEventKind.FILLED, item.order_id, confirmation.fill)
                )
                continue
            if now - item.sent_ms < config.confirm_timeout_s * 1000:
                continue
            if now - item.first_sent_ms >= config.unconfirmed_expiry_s * 1000:
                if confirmation.status == "open":  # still resting unfilled: take it off first
                    try:
                        await broker.cancel_stop(item.placed.user_order_id)
                    except BrokerError as exc:
                        router.event(
                            "error",
                            f"{item.order.reason} {item.order.client_order_id} rests unfilled "
                            f"and could not be cancelled ({logged_cause(exc)}); still watching",
                        )
                        continue
                    what, ended = "rested unfilled and was cancelled", OrderStatus.CANCELLED
                elif item.sent:
                    what, ended = "never showed", OrderStatus.EXPIRED
                else:
                    what, ended = "never showed (perhaps never sent)", OrderStatus.FAILED
                del state.pending[key]
                reason = (
                    f"{item.order.reason} {item.order.client_order_id} {what} on {state.venue} "
                    f"within {config.unconfirmed_expiry_s:g} s: expired"
                )
                await store.record_order_state(item.order_id, ended, error=reason)
                await router.on_venue_event(
                    VenueEvent(VenueEventKind.EXPIRED, item.order_id, detail=reason)
                )
                continue
            if (
                confirmation.status == "open"
                or not item.resend
                or item.resends >= config.max_retries
            ):
                continue  # resting in the auction, not ours to re-send, or re-sent enough
            item.resends += 1
            item.sent_ms = now
            try:
                item.placed = await broker.submit(item.order)
            except OrderNotConfirmed as exc:
                item.placed = exc.placed
                await store.record_order_state(item.order_id, OrderStatus.SUBMITTED, error=str(exc))
            except BrokerError as exc:  # refused now (e.g. the position is gone): give up
                del state.pending[key]
                await store.record_order_state(item.order_id, OrderStatus.FAILED, error=str(exc))
                await router.on_venue_event(
                    VenueEvent(VenueEventKind.REJECTED, item.order_id, detail=str(exc))
                )
                continue
            else:
                await store.record_order_state(
                    item.order_id, OrderStatus.SUBMITTED, tx_sig=item.placed.tx_sig
                )
            item.sent = True
            router.event(
                "warning",
                f"{item.order.reason} {item.order.client_order_id} not confirmed: re-sent with "
                f"the same user_order_id {item.placed.user_order_id} ({item.resends}/"
                f"{config.max_retries})",
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

    async def _check_growth(self, pos: PositionState, mark: tuple[int, int]) -> None:
        state = self.state
        broker = state.broker
        base, _ = broker.account_position(pos.symbol)
        if base == mark[0]:
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
