"""On-chain stops: reduce-only TriggerMarket orders, placed, moved in place by user_order_id
(one instruction: never a moment without a stop), cancelled, adopted at start, read back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.drift.client import DriftAccount
from adapters.drift.errors import OrderGone, OrderNotConfirmed, StopNotPlaced
from adapters.drift.orders import PlacedOrder
from adapters.drift.reconcile import VenueOrder
from adapters.drift.units import (
    PRICE_PRECISION,
    floor_to_step,
    price_to_float,
    to_base,
    trigger_to_int,
)
from cockpit.domain import OrderSide, Side

MUST_MODIFY = 1
"""`ModifyOrderPolicy::MustModify` (programs/drift/src/state/order_params.rs): without it the
program answers a modify of an unknown user_order_id with success and changes nothing."""


class DriftStops(DriftAccount):
    """The stop half of DriftBroker."""

    async def place_stop(
        self,
        client_order_id: str,
        symbol: str,
        position_side: Side,
        stop_price: float,
        size: float | None = None,
    ) -> PlacedOrder:
        """A reduce-only TriggerMarket stop for the position (its whole size unless given).

        Raises StopNotPlaced when it cannot be placed: the caller keeps a software stop.
        """
        async with self._lock:
            index = self.market_index(symbol)
            market = self._market(index)
            base, _, _ = self._position(index)
            if base == 0 or (base > 0) != (position_side is Side.LONG):
                raise StopNotPlaced(
                    f"stop {client_order_id}: no {position_side.value} {symbol} position on "
                    "Drift to protect"
                )
            amount = abs(base)
            if size is not None:
                amount = min(amount, floor_to_step(to_base(size), int(market.amm.order_step_size)))
            trigger = trigger_to_int(stop_price, position_side, int(market.amm.order_tick_size))
            self._check_trigger(symbol, position_side, trigger)
            uoid = self.user_order_id(client_order_id)
            placed = self._stops.get(uoid)
            if placed is None or placed.client_order_id != client_order_id:
                placed = PlacedOrder(
                    client_order_id=client_order_id,
                    user_order_id=uoid,
                    symbol=symbol,
                    market_index=index,
                    side=position_side.closing_order_side,
                    base_amount=amount,
                    reduce_only=True,
                    kind="stop",
                    reason="stop",
                    sent_ms=self._clock(),
                    trigger_price=trigger,
                )
                self._stops[uoid] = placed
            else:  # a retry of the same stop: at the levels asked for now
                placed = replace(placed, trigger_price=trigger, base_amount=amount)
                self._stops[uoid] = placed
                if self._landed(placed):
                    return placed
        try:  # no lock held while it is sent
            return await self._send(placed, self._stop_ix)
        except OrderNotConfirmed as exc:
            raise StopNotPlaced(
                f"stop {client_order_id} not on chain: {exc}", cause=exc.cause
            ) from None

    def _check_trigger(self, symbol: str, side: Side, trigger: int) -> None:
        oracle = self.oracle_price(symbol)
        if oracle is None:
            return
        price = price_to_float(trigger)
        if (side is Side.LONG and price >= oracle) or (side is Side.SHORT and price <= oracle):
            raise StopNotPlaced(
                f"stop {price:g} for the {side.value} {symbol} is through the oracle price "
                f"{oracle:g}: it would trigger at once"
            )

    def _stop_ix(self, placed: PlacedOrder) -> Any:
        from driftpy.types import (
            MarketType,
            OrderParams,
            OrderTriggerCondition,
            OrderType,
            PositionDirection,
        )

        long_stop = placed.side is OrderSide.SELL
        params = OrderParams(
            order_type=OrderType.TriggerMarket(),
            market_type=MarketType.Perp(),
            direction=(PositionDirection.Short() if long_stop else PositionDirection.Long()),
            base_asset_amount=placed.base_amount,
            market_index=placed.market_index,
            user_order_id=placed.user_order_id,
            reduce_only=True,
            trigger_price=placed.trigger_price,
            trigger_condition=(
                OrderTriggerCondition.Below() if long_stop else OrderTriggerCondition.Above()
            ),
        )
        return self._client.get_place_perp_order_ix(params, self._config.sub_account_id)

    async def modify_stop(self, user_order_id: int, stop_price: float) -> PlacedOrder:
        """Move a stop in place (one instruction: the old trigger stands until the new one does).

        Raises StopNotPlaced if the move could not be confirmed: the old stop may still stand,
        so the caller keeps its software stop at the new level meanwhile.
        """
        async with self._lock:
            current = self._stops.get(user_order_id)
            if current is None:
                raise StopNotPlaced(f"no stop with user_order_id {user_order_id} is known")
            if self._find_open(user_order_id) is None:
                raise OrderGone(
                    f"stop {user_order_id} is not on Drift any more: not moved",
                    cause="the stop is not on Drift any more",
                )
            side = Side.LONG if current.side is OrderSide.SELL else Side.SHORT
            tick = int(self._market(current.market_index).amm.order_tick_size)
            trigger = trigger_to_int(stop_price, side, tick)
            self._check_trigger(current.symbol, side, trigger)
            moved = replace(current, trigger_price=trigger, sent_ms=self._clock())
            self._stops[user_order_id] = moved
        try:  # no lock held while it is sent
            return await self._send(moved, self._modify_ix)
        except OrderNotConfirmed as exc:
            raise StopNotPlaced(
                f"stop {user_order_id} not moved on chain: {exc}", cause=exc.cause
            ) from None

    def _modify_ix(self, placed: PlacedOrder) -> Any:
        from driftpy.types import ModifyOrderParams

        # The IDL's `policy` is an Option<u8> bit set; driftpy's type hint names an enum.
        policy: Any = MUST_MODIFY
        params = ModifyOrderParams(trigger_price=placed.trigger_price, policy=policy)
        return self._client.get_modify_order_by_user_id_ix(
            placed.user_order_id, params, self._config.sub_account_id
        )

    async def cancel_stop(self, user_order_id: int) -> None:
        """Cancel a resting order by user_order_id: a stop whose position closed, or a market
        order that rested unfilled too long. An order already gone is not an error."""
        await self._refresh_quietly()
        async with self._lock:  # the bookkeeping only
            current = self._stops.get(user_order_id)
            if self._find_open(user_order_id) is None:
                self._stops.pop(user_order_id, None)
                return
            gone = PlacedOrder(
                client_order_id=current.client_order_id if current else f"cancel-{user_order_id}",
                user_order_id=user_order_id,
                symbol=current.symbol if current else "",
                market_index=current.market_index if current else 0,
                side=current.side if current else OrderSide.SELL,
                base_amount=0,
                reduce_only=True,
                kind="cancel",
                reason="cancel",
                sent_ms=self._clock(),
            )
        await self._send(gone, self._cancel_ix)  # no lock held while it is sent
        self._stops.pop(user_order_id, None)

    def _cancel_ix(self, placed: PlacedOrder) -> Any:
        return self._client.get_cancel_order_by_user_id_ix(
            placed.user_order_id, self._config.sub_account_id
        )

    def adopt_stop(self, client_order_id: str, order: VenueOrder) -> None:
        """Take over a stop found on the venue at start (reconcile), so it can be moved."""
        index = self.market_index(order.symbol)
        self._user_order_ids[client_order_id] = order.user_order_id
        self._stops[order.user_order_id] = PlacedOrder(
            client_order_id=client_order_id,
            user_order_id=order.user_order_id,
            symbol=order.symbol,
            market_index=index,
            side=order.side,
            base_amount=int(to_base(order.size)),
            reduce_only=order.reduce_only,
            kind="stop",
            reason="stop",
            sent_ms=self._clock(),
            trigger_price=(
                None
                if order.trigger_price is None
                else round(order.trigger_price * PRICE_PRECISION)
            ),
        )

    def stop_on_chain(self, user_order_id: int) -> bool:
        """True if the account (as last refreshed) holds the stop at its intended trigger."""
        placed = self._stops.get(user_order_id)
        return placed is not None and self._landed(placed)

    def resting_trigger(self, user_order_id: int) -> float | None:
        """The trigger price of the order resting with this user_order_id (as last refreshed),
        or None when none rests: what the chain really holds, read back."""
        order = self._find_open(user_order_id)
        if order is None:
            return None
        return price_to_float(int(order.trigger_price))

    def stop_resting(self, user_order_id: int) -> bool:
        """True if an order with this user_order_id rests on the account (as last refreshed)."""
        return self._find_open(user_order_id) is not None

    def trigger_price_of(self, placed: PlacedOrder) -> float | None:
        """The trigger a placed stop was sent with, as a price (tick-rounded toward the
        position, so it can differ from the price asked for by less than one tick)."""
        return None if placed.trigger_price is None else price_to_float(placed.trigger_price)
