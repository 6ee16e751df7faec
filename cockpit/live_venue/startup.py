"""Reconcile on start, before any order.

Orders left unconfirmed by the last run are settled from their rows first (a filled entry opens
its planned position, a filled exit is applied, one that may still land is watched again, one
that never showed expires). Then the database's open Drift positions and stop rows are compared
with the venue (adapters/drift/reconcile.py). Every difference goes to the event log and the
audit table; a position the database does not know is adopted as `external` (monitored, its
venue stop adopted, SL management offered, no automatic targets); a position whose size or side
differs is listed but not acted on; one in a market the cockpit does not trade is listed as
external and never acted on; a stop that is missing or at another price is shown and only
put back in step when the trader asks (`o`), never silently.
"""

from __future__ import annotations

import json
import uuid

from adapters.base import VenueEvent, VenueEventKind
from adapters.drift.reconcile import Difference, DifferenceKind, VenueOrder, reconcile
from cockpit.domain import Fill, Mode, OrderRequest, PositionState, StopRole
from cockpit.engine.policy import monitor_plan
from cockpit.live_venue.shared import BLOCKING, KeeperState, PendingOrder, StopState, same_level
from cockpit.live_venue.stops import StopKeeper
from state.records import OrderRecord, OrderStatus

_NOT_A_TRADE = (DifferenceKind.EXTERNAL_POSITION, DifferenceKind.UNMANAGED_POSITION)


class Startup:
    """The keeper's start: resume, reconcile, restore stops, adopt external positions."""

    def __init__(self, state: KeeperState, stops: StopKeeper) -> None:
        self.state = state
        self.stops = stops

    async def start(self, restored: list[PositionState]) -> None:
        """Reconcile with the venue before anything is sent; restore user order ids and stops."""
        state = self.state
        broker = state.broker
        store = state.router.require_store()
        state.stops.clear()
        state.blocked.clear()
        state.marks.clear()
        state.external.clear()
        await broker.connect()
        await broker.refresh()
        mine = [p for p in restored if p.venue == state.venue and not p.closed]
        rows = await store.venue_orders(
            state.venue,
            (OrderStatus.INTENT, OrderStatus.SUBMITTED, OrderStatus.OPEN, OrderStatus.FAILED),
        )
        for row in rows:
            if row.user_order_id is not None:
                broker.assign_user_order_id(row.client_order_id, row.user_order_id)
        await self._resume_unfinished(rows, mine)
        resumed = {p.trade_id for p in state.book.positions if p not in mine}
        mine = [p for p in state.book.positions if p.venue == state.venue and not p.closed]
        venue_orders = broker.open_orders()
        step = max((broker.order_step(s) for s in {p.symbol for p in mine}), default=0.0)
        state.differences = reconcile(
            mine,
            broker.positions(),
            venue_orders,
            size_tolerance=max(step / 2, 1e-9),
            price_tolerance=1e-4,
            managed=state.config.markets,
        )
        # A resumed entry has no stop yet: it is placed on the first poll, like any new one's.
        state.differences = [
            d
            for d in state.differences
            if not (d.kind is DifferenceKind.STOP_MISSING and d.trade_id in resumed)
        ]
        open_ids = {p.trade_id for p in mine}
        stop_rows = {
            r.trade_id: r for r in rows if r.order_type == "stop" and r.trade_id in open_ids
        }
        for pos in mine:
            assert pos.trade_id is not None
            state.marks[pos.trade_id] = broker.account_position(pos.symbol)
            if pos.trade_id not in resumed:  # a resumed entry's stop is placed like any new one
                self._restore_stop(pos, stop_rows.get(pos.trade_id), venue_orders)
        for diff in state.differences:
            await self._show_difference(diff)
            if diff.kind is DifferenceKind.EXTERNAL_POSITION:
                await self._adopt_external(diff.symbol, venue_orders)
            elif diff.kind is DifferenceKind.UNMANAGED_POSITION:
                held = next((p for p in broker.positions() if p.symbol == diff.symbol), None)
                if held is not None:
                    state.external[diff.symbol] = held
            elif diff.kind in BLOCKING and diff.trade_id is not None:
                state.blocked[diff.trade_id] = diff.detail
        if not state.differences:
            state.router.event(
                "info", f"{state.venue}: positions and stops agree with the database"
            )

    # ------------------------------------------------------------------ unfinished orders
    async def _resume_unfinished(self, rows: list[OrderRecord], mine: list[PositionState]) -> None:
        """Market orders sent just before the last stop, whose outcome was not known then.

        What follows comes from the order row, as if the cockpit had never stopped: an entry
        that filled meanwhile opens its position with the plan stored on its row (not an
        "external" one); an exit that filled is applied to its trade; an order that may still
        land (young, not on the account yet) or still rests on the book is watched again; one
        past `unconfirmed_expiry_s` that never showed has expired (an exit's target is re-armed).
        """
        state = self.state
        router = state.router
        store = router.require_store()
        now = router.clock()
        for row in rows:
            if row.order_type != "market" or row.status not in (
                OrderStatus.INTENT,
                OrderStatus.SUBMITTED,
            ):
                continue
            resting = row.user_order_id is not None and state.broker.stop_resting(row.user_order_id)
            fill = None if resting else self._landed_while_away(row, mine)
            if fill is not None:
                router.event(
                    "warning",
                    f"{row.reason} {row.client_order_id} filled while the cockpit was away: "
                    f"{fill.size:g} @ {fill.price:.4f}",
                )
                await router.on_venue_event(VenueEvent(VenueEventKind.FILLED, row.id, fill))
                continue
            # An `intent` row may have been sent too (a stop between the send and the write
            # that says so): while it could still land, it is watched like a submitted one.
            young = now - row.created_at_ms < state.config.unconfirmed_expiry_s * 1000
            if (resting or young) and row.user_order_id is not None:
                self._rewatch(row)
                continue
            sent = row.status is OrderStatus.SUBMITTED
            reason = (
                f"{row.reason} {row.client_order_id} was unconfirmed when the cockpit stopped "
                f"and is not on {state.venue}: " + ("expired" if sent else "never sent or lost")
            )
            await store.record_order_state(
                row.id, OrderStatus.EXPIRED if sent else OrderStatus.FAILED, error=reason
            )
            await router.on_venue_event(VenueEvent(VenueEventKind.EXPIRED, row.id, detail=reason))

    def _landed_while_away(self, row: OrderRecord, mine: list[PositionState]) -> Fill | None:
        """The fill of an order sent before a restart, if the account shows it landed."""
        broker = self.state.broker
        step = broker.order_step(row.symbol)
        venue_pos = next((p for p in broker.positions() if p.symbol == row.symbol), None)
        venue_size = 0.0 if venue_pos is None else venue_pos.size
        if not row.reduce_only:
            known = any(p.symbol == row.symbol for p in mine)
            side_ok = venue_pos is not None and venue_pos.side.opening_order_side is row.side
            if known or not side_ok or venue_pos is None or venue_pos.entry is None:
                return None
            if abs(venue_size - row.size) > step:
                return None
            return broker.fill_at(
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
        price = broker.oracle_price(row.symbol) or pos.last_price or pos.entry
        return broker.fill_at(
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
        state = self.state
        assert row.user_order_id is not None
        placed = state.broker.resume_market_order(
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
        state.pending[row.id] = PendingOrder(
            order_id=row.id,
            order=order,
            placed=placed,
            first_sent_ms=row.created_at_ms,
            sent_ms=state.router.clock(),
            trade_id=row.trade_id,
            sent=row.status is OrderStatus.SUBMITTED,
        )
        state.router.event(
            "warning",
            f"{row.reason} {row.client_order_id} was unconfirmed when the cockpit stopped: "
            "watching the account for it again",
        )

    # ------------------------------------------------------------------ stops and positions
    def _restore_stop(
        self, pos: PositionState, row: OrderRecord | None, venue_orders: list[VenueOrder]
    ) -> None:
        state = self.state
        assert pos.trade_id is not None
        stop = StopState(pos.trade_id)
        state.stops[pos.trade_id] = stop
        if row is None:
            stop.hold = f"no stop of the cockpit's is on record for the engine's {pos.stop:g}"
            return
        stop.order_id, stop.client_order_id = row.id, row.client_order_id
        stop.user_order_id = row.user_order_id
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
            stop.hold = f"the stop (user_order_id {row.user_order_id}) is not on {state.venue}"
            return
        state.broker.adopt_stop(row.client_order_id, found)
        stop.trigger = found.trigger_price
        if found.trigger_price is not None and same_level(found.trigger_price, pos.stop):
            stop.synced_to = pos.stop
        else:
            stop.hold = f"on chain at {found.trigger_price}, the engine's stop is {pos.stop:g}"

    async def _adopt_external(self, symbol: str, venue_orders: list[VenueOrder]) -> None:
        """A venue position the database does not know: monitored, its stop adopted if any."""
        state = self.state
        broker, router = state.broker, state.router
        store = router.require_store()
        venue_pos = next((p for p in broker.positions() if p.symbol == symbol), None)
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
            opened_ms=router.clock(),
            mode=Mode.LIVE_SMALL,
            venue=state.venue,
            last_price=venue_pos.entry,
        )
        pos.trade_id = await store.record_adopted(pos)
        state.book.add(pos)
        state.marks[pos.trade_id] = broker.account_position(symbol)
        kept = StopState(pos.trade_id)
        state.stops[pos.trade_id] = kept
        if stop_order is not None:
            cid = f"ck-ext-{uuid.uuid4().hex[:14]}"
            kept.order_id = await self.stops.record_stop_row(
                pos, cid, stop_order.user_order_id, stop_order.size, stop
            )
            await store.record_order_state(kept.order_id, OrderStatus.OPEN)
            broker.adopt_stop(cid, stop_order)
            kept.client_order_id, kept.user_order_id = cid, stop_order.user_order_id
            kept.synced_to, kept.trigger = pos.stop, stop
        stop_text = f"its venue stop {stop:g} adopted" if stop is not None else "no stop on it"
        router.event(
            "warning",
            f"#{pos.trade_id} adopted external {venue_pos.side.value} {venue_pos.size:g} "
            f"{symbol} @ {venue_pos.entry:.4f}: monitored, no automatic targets, {stop_text} "
            "(e sets a stop)",
        )
        await state.audit(
            "reconcile",
            "system",
            f"adopt external {symbol}",
            "a venue position the database did not know",
            json.dumps({"size": venue_pos.size, "entry": venue_pos.entry, "stop": stop}),
            trade_id=pos.trade_id,
        )

    async def _show_difference(self, diff: Difference) -> None:
        self.state.router.event("warning", f"reconcile: {diff.detail}")
        detail = json.dumps({"db": diff.db_value, "venue": diff.venue_value, "symbol": diff.symbol})
        await self.state.audit(
            "reconcile",
            "system",
            diff.kind.value,
            diff.detail,
            detail,
            trade_id=None if diff.kind in _NOT_A_TRADE else diff.trade_id,
        )
