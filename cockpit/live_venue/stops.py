"""On-chain stops in step with the engine, and the software stop when the chain has none.

After a live entry fills, a reduce-only TriggerMarket stop is placed at the engine's stop; every
later move (breakeven, profit lock, trailing, a manual move) modifies it in place; it is
cancelled when the position closes. Moves arrive from the tick path as "the stop is now X" and
are applied by the poll loop, so a burst of trailing moves is one modify and a tick never waits
for a transaction. A stop that cannot be placed or moved leaves the position "stop not on
chain" (the engine's own stop protects it) and is retried every `drift.stop_retry_s`; while our
trigger stands at the engine's stop, a price through it is left to the venue for
`drift.stop_grace_s` before the software stop backs it up.

A stop is never believed from its transaction alone: after every change and on every poll it is
read back from the account. A stop missing there (cancelled in Drift's own UI, or a transaction
that landed without effect) shows `no chain SL`, one at another trigger `chain SL differs`; both
are audited and put back at the engine's level at once (a new order for a missing one; a modify
with MustModify for a moved one), with the software stop in charge until the account shows it.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid

from adapters.base import BrokerError
from adapters.drift import PlacedOrder
from adapters.drift.errors import OrderGone
from cockpit.domain import OrderRequest, PositionState
from cockpit.live_venue.shared import (
    CHAIN_SL_DIFFERS,
    NO_CHAIN_SL,
    KeeperState,
    StopState,
    logged_cause,
    same_level,
)
from state.records import OrderStatus


class StopKeeper:
    """Each live position's `StopState`, and the orders that keep the chain in step with it."""

    def __init__(self, state: KeeperState) -> None:
        self.state = state
        self._lock = asyncio.Lock()
        self._released: list[StopState] = []

    # ------------------------------------------------------------------ from the tick path
    def track(self, pos: PositionState) -> None:
        """A new live position: its on-chain stop follows the engine's from now on."""
        assert pos.trade_id is not None
        self.state.stops.setdefault(pos.trade_id, StopState(pos.trade_id))
        self.state.agreed(pos)
        self.state.wake.set()

    def stop_changed(self, pos: PositionState) -> None:
        """The engine or the trader moved the stop: the poll loop brings the chain along."""
        stop = self.state.stops.get(pos.trade_id) if pos.trade_id is not None else None
        if stop is not None:
            stop.through_since_ms = None
            stop.grace_over_said = False
            stop.retry_at_ms = 0
            self.state.wake.set()

    def put_in_step(self, trade_id: int) -> None:
        """The trader asked (`o`): put the on-chain stop where the engine's stop is, now."""
        stop = self.state.stops.setdefault(trade_id, StopState(trade_id))
        stop.hold = None
        stop.retry_at_ms = 0
        self.state.wake.set()

    def defers_stop(self, pos: PositionState, ts_ms: int) -> bool:
        """Whether a price through the stop is left to the on-chain stop for now.

        Only while our trigger stands at the engine's stop, and for `stop_grace_s` of price
        time at most: then the software stop closes at market (the venue may lag the feed)."""
        router, config = self.state.router, self.state.config
        stop = self.state.stops.get(pos.trade_id) if pos.trade_id is not None else None
        if stop is None or stop.error is not None or stop.synced_to != pos.stop:
            return False
        if stop.through_since_ms is None:
            stop.through_since_ms = ts_ms
            router.event(
                "stop", f"#{pos.trade_id} price through the stop: left to the on-chain stop"
            )
        if ts_ms - stop.through_since_ms < config.stop_grace_s * 1000:
            return True
        if not stop.grace_over_said:  # once per episode, however long the close takes
            stop.grace_over_said = True
            router.event(
                "warning",
                f"#{pos.trade_id} on-chain stop has not filled after {config.stop_grace_s:g} s: "
                "the software stop closes at market",
            )
        return False

    def price_back(self, trade_id: int | None) -> None:
        stop = self.state.stops.get(trade_id) if trade_id is not None else None
        if stop is not None:
            stop.through_since_ms = None
            stop.grace_over_said = False

    # ------------------------------------------------------------------ the poll loop's part
    async def sync_stops(self) -> None:
        async with self._lock:
            for stop in list(self.state.stops.values()):
                if not stop.done:
                    await self._sync(stop)

    async def _sync(self, stop: StopState) -> None:
        state = self.state
        pos = state.book.find(stop.trade_id)
        if pos is None or pos.closed:
            return
        if stop.trade_id in state.blocked or stop.hold is not None:
            return
        wanted = pos.stop
        if not math.isfinite(wanted) or wanted <= 0:
            return  # an external position with no stop yet: nothing to protect on chain
        await self._verify(stop, pos)
        if stop.synced_to == wanted and stop.error is None:
            return
        now = state.router.clock()
        if stop.error is not None and now < stop.retry_at_ms:
            return
        on_chain = stop.user_order_id is not None and state.broker.stop_resting(stop.user_order_id)
        if on_chain:  # ours and resting: moved in place, never a second stop beside it
            await self._modify(stop, pos, wanted)
        else:
            await self._place(stop, pos, wanted)

    async def _place(self, stop: StopState, pos: PositionState, wanted: float) -> None:
        broker = self.state.broker
        store = self.state.router.require_store()
        status = OrderStatus.INTENT
        if stop.order_id is not None and (await store.order(stop.order_id)).status not in (
            OrderStatus.INTENT,
            OrderStatus.OPEN,
        ):
            # Its row has ended (e.g. `failed`, written by an older version): a new row and
            # user order id, since an ended row never moves again (cockpit/orders.py).
            stop.order_id = stop.client_order_id = stop.user_order_id = None
        if stop.order_id is None or stop.client_order_id is None:
            cid = f"ck-sl-{uuid.uuid4().hex[:16]}"
            try:
                uoid = broker.user_order_id(cid)
            except BrokerError as exc:
                await self._stop_failed(stop, pos, str(exc), None)
                return
            stop.order_id = await self.record_stop_row(pos, cid, uoid, pos.size, wanted)
            stop.client_order_id, stop.user_order_id = cid, uoid
        else:  # a retry: the same row, client and user order id, at today's level
            # A row still `open` is a stop that left the venue (cancelled by hand, or missing at
            # start): it stays open while it is put back; a never-placed one stays at intent.
            row_status = (await store.order(stop.order_id)).status
            await store.record_order_state(stop.order_id, row_status, trigger_price=wanted)
            status = row_status
        try:
            placed = await broker.place_stop(stop.client_order_id, pos.symbol, pos.side, wanted)
        except BrokerError as exc:
            # Nothing is on chain: the row stays where it was (with the error) and is retried
            # from there; `failed` would be final (cockpit/orders.py).
            await self._stop_failed(stop, pos, logged_cause(exc), status)
            return
        await self._stop_ok(stop, pos, wanted, placed, "placed", status)

    async def record_stop_row(
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
        return await self.state.router.require_store().record_order_intent(
            order,
            mode=pos.mode,
            venue=self.state.venue,
            order_type="stop",
            user_order_id=uoid,
            trigger_price=trigger,
        )

    async def _modify(self, stop: StopState, pos: PositionState, wanted: float) -> None:
        assert stop.user_order_id is not None
        try:
            placed = await self.state.broker.modify_stop(stop.user_order_id, wanted)
        except OrderGone as exc:  # MustModify: the program does not know it any more
            await self._vanished(stop, pos, logged_cause(exc))
            await self._place(stop, pos, wanted)
            return
        except BrokerError as exc:
            old = f"{stop.trigger:g}" if stop.trigger is not None else "?"
            # The old trigger still stands on chain: the row stays open at it.
            await self._stop_failed(
                stop,
                pos,
                f"still at {old}, not moved to {wanted:g} ({logged_cause(exc)})",
                OrderStatus.OPEN,
            )
            return
        await self._stop_ok(stop, pos, wanted, placed, "moved", OrderStatus.OPEN)

    async def _stop_ok(
        self,
        stop: StopState,
        pos: PositionState,
        wanted: float,
        placed: PlacedOrder,
        verb: str,
        status: OrderStatus,
    ) -> None:
        """The transaction went through: read the stop back from the account before believing
        it (a transaction can land without effect), then clear the red marks."""
        broker = self.state.broker
        store = self.state.router.require_store()
        trigger = broker.trigger_price_of(placed)
        held = broker.resting_trigger(placed.user_order_id)
        if broker.account_slot() >= placed.slot and (
            held is None or trigger is None or not same_level(held, trigger)
        ):
            shows = "no stop" if held is None else f"the stop at {held:g}"
            await self._stop_failed(
                stop,
                pos,
                f"sent, but {self.state.venue} shows {shows} (the transaction had no effect)",
                status,
            )
            return
        recovered = stop.error is not None
        replaced = stop.chain
        stop.synced_to, stop.trigger, stop.error, stop.chain = wanted, trigger, None, None
        stop.sent_slot = placed.slot
        if stop.order_id is not None:
            await store.record_order_state(
                stop.order_id, OrderStatus.OPEN, trigger_price=trigger, tx_sig=placed.tx_sig
            )
        level = "info" if recovered else "stop"
        again = " (back on chain)" if recovered else ""
        self.state.router.event(level, f"#{pos.trade_id} on-chain stop {verb} @ {trigger:g}{again}")
        if replaced is not None:  # put back after the account showed it missing or elsewhere
            await self.state.audit(
                "venue_difference",
                "system",
                f"stop {verb} on chain again",
                f"{replaced}: put back at the engine's stop {wanted:g}",
                json.dumps({"trigger": trigger, "user_order_id": placed.user_order_id}),
                trade_id=pos.trade_id,
            )

    async def _stop_failed(
        self, stop: StopState, pos: PositionState, reason: str, status: OrderStatus | None
    ) -> None:
        router, config = self.state.router, self.state.config
        store = router.require_store()
        first = stop.error is None
        stop.error = reason
        stop.retry_at_ms = router.clock() + int(config.stop_retry_s * 1000)
        if status is not None and stop.order_id is not None:
            await store.record_order_state(stop.order_id, status, error=reason)
        if first:
            router.event(
                "error",
                f"#{pos.trade_id} stop not on chain: {reason}; the cockpit's software stop at "
                f"{pos.stop:.4f} protects it, retrying every {config.stop_retry_s:g} s",
            )

    # ------------------------------------------------------------------ read back
    async def _verify(self, stop: StopState, pos: PositionState) -> None:
        """On every poll: does the account (as just read) hold the stop the cockpit set? A stop
        missing or at another price is shown, audited, and put back at the engine's level at
        once; the software stop is in charge until it is."""
        broker = self.state.broker
        uoid = stop.user_order_id
        if uoid is None or stop.synced_to is None or stop.error is not None:
            return
        if stop.trigger is None or broker.account_slot() < stop.sent_slot:
            return  # this read is older than the last change sent: it cannot tell
        held = broker.resting_trigger(uoid)
        if held is None:
            await self._vanished(stop, pos, "cancelled outside the cockpit?")
        elif not same_level(held, stop.trigger):
            await self._moved_away(stop, pos, held)

    async def _vanished(self, stop: StopState, pos: PositionState, why: str) -> None:
        """Our stop is not on the account any more: its row ends, a new stop is placed."""
        state = self.state
        store = state.router.require_store()
        old = f"{stop.trigger:g}" if stop.trigger is not None else "?"
        detail = (
            f"#{pos.trade_id} stop {old} (user_order_id {stop.user_order_id}) is not on "
            f"{state.venue} any more ({why}): the software stop at {pos.stop:.4f} protects it; "
            "placing it again"
        )
        state.router.event("error", detail)
        await state.audit(
            "venue_difference",
            "system",
            "stop missing on chain",
            detail,
            json.dumps({"user_order_id": stop.user_order_id, "trigger": stop.trigger}),
            trade_id=pos.trade_id,
        )
        if stop.order_id is not None:
            row = await store.order(stop.order_id)
            if row.status is OrderStatus.OPEN:
                await store.record_order_state(
                    stop.order_id, OrderStatus.CANCELLED, error=f"not on {state.venue} any more"
                )
        stop.order_id = stop.client_order_id = stop.user_order_id = None
        stop.synced_to = stop.trigger = None
        stop.error, stop.chain, stop.retry_at_ms = "not on chain any more", NO_CHAIN_SL, 0

    async def _moved_away(self, stop: StopState, pos: PositionState, held: float) -> None:
        """Our stop rests at another trigger than the one the cockpit set: moved back."""
        state = self.state
        store = state.router.require_store()
        detail = (
            f"#{pos.trade_id} stop on {state.venue} is at {held:g}, not {stop.trigger:g} as the "
            f"cockpit set it (moved outside the cockpit?): the software stop at {pos.stop:.4f} "
            "protects it; moving it back"
        )
        state.router.event("error", detail)
        await state.audit(
            "venue_difference",
            "system",
            "stop differs on chain",
            detail,
            json.dumps({"chain": held, "cockpit": stop.trigger, "engine": pos.stop}),
            trade_id=pos.trade_id,
        )
        if stop.order_id is not None:
            await store.record_order_state(
                stop.order_id, OrderStatus.OPEN, trigger_price=held, error=f"on chain at {held:g}"
            )
        stop.trigger, stop.synced_to = held, None
        stop.error, stop.chain, stop.retry_at_ms = f"on chain at {held:g}", CHAIN_SL_DIFFERS, 0

    # ------------------------------------------------------------------ the end
    async def release(self, pos: PositionState) -> None:
        """The position closed: its stop is cancelled by the keeper's worker, never here (the
        router holds the order lock while it applies the fill that closed it). A stop that
        already fired is just forgotten."""
        state = self.state
        stop = state.stops.get(pos.trade_id) if pos.trade_id is not None else None
        state.marks.pop(pos.trade_id or -1, None)
        state.blocked.pop(pos.trade_id or -1, None)
        if stop is None or stop.done:
            return
        stop.done = True
        if stop.user_order_id is not None:
            self._released.append(stop)
            state.kick()

    async def cancel_released(self) -> None:
        """Cancel the stops of closed positions (the keeper's worker; no lock of the router)."""
        async with self._lock:
            while self._released:
                stop = self._released.pop(0)
                await self._cancel_released(stop)

    async def _cancel_released(self, stop: StopState) -> None:
        state = self.state
        assert stop.user_order_id is not None
        store = state.router.require_store()
        resting = state.broker.stop_resting(stop.user_order_id)
        try:
            await state.broker.cancel_stop(stop.user_order_id)
        except BrokerError as exc:
            state.router.event(
                "error",
                f"#{stop.trade_id} stop {stop.user_order_id} could not be cancelled: "
                f"{logged_cause(exc)} (reduce-only: it cannot open a position; cancel it on "
                "Drift)",
            )
            return
        if stop.order_id is None:
            return
        # Cancelled on chain, or never placed (its row still at intent): ended either way.
        if resting or (await store.order(stop.order_id)).status is OrderStatus.INTENT:
            await store.record_order_state(
                stop.order_id, OrderStatus.CANCELLED, error="the position closed"
            )
