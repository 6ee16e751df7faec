"""DriftBroker: market orders (sizes rounded down to the step, reduce-only exits, fills read
from the account) on top of the stops and the account (see the package docstring)."""

from __future__ import annotations

from typing import Any

from adapters.base import BrokerError
from adapters.drift.build import build_drift_client
from adapters.drift.errors import OrderNotConfirmed
from adapters.drift.fills import PositionMark, net_quote_delta
from adapters.drift.orders import Confirmation, PlacedOrder
from adapters.drift.stops import DriftStops
from adapters.drift.units import (
    QUOTE_PRECISION,
    base_to_float,
    floor_to_step,
    to_base,
)
from adapters.drift.wallet import Wallet
from cockpit.config import DriftConfig
from cockpit.domain import Fill, OrderRequest, OrderSide


async def connect_broker(config: DriftConfig, wallet: Wallet) -> DriftBroker:
    """Build the client, load the accounts and the lookup tables once, return the broker."""
    broker = DriftBroker.unconnected(config, wallet)
    await broker.connect()
    return broker


class DriftBroker(DriftStops):
    """Orders on Drift perps for one wallet and sub-account. See the package docstring."""

    @classmethod
    def unconnected(cls, config: DriftConfig, wallet: Wallet) -> DriftBroker:
        """A broker on a fresh client that has fetched nothing yet (no network here): the
        session calls `connect()` when it starts, so the CLI can build it before the UI runs."""
        broker = cls(build_drift_client(config, wallet), config)
        broker._connected = False
        broker._wallet_short = wallet.short
        return broker

    # ------------------------------------------------------------------ sizes
    def open_amount(self, order: OrderRequest) -> int:
        """The base amount of an opening order: rounded down to the step, at least the minimum."""
        index = self.market_index(order.symbol)
        amm = self._market(index).amm
        if not (order.size > 0):
            raise BrokerError(f"order {order.client_order_id}: size must be positive")
        amount = floor_to_step(to_base(order.size), int(amm.order_step_size))
        minimum = int(amm.min_order_size)
        if amount < minimum or amount <= 0:
            raise BrokerError(
                f"order {order.client_order_id}: {order.size:g} {order.symbol} is below Drift's "
                f"minimum order size {base_to_float(minimum):g} (after rounding down to the "
                f"order step {base_to_float(int(amm.order_step_size)):g})"
            )
        return amount

    def close_amount(self, order: OrderRequest) -> int:
        """The base amount of a reduce-only close, or a refusal with the reason.

        A size at (or within one step of) the whole position closes all of it; otherwise it is
        rounded down to the step, and a remainder below the market's minimum order size is
        refused, because that crumb could never be closed with a later order.
        """
        index = self.market_index(order.symbol)
        amm = self._market(index).amm
        step, minimum = int(amm.order_step_size), int(amm.min_order_size)
        base, _, _ = self._position(index)
        held = abs(base)
        if base == 0:
            raise BrokerError(
                f"order {order.client_order_id}: no {order.symbol} position on Drift to reduce"
            )
        closing = OrderSide.SELL if base > 0 else OrderSide.BUY
        if order.side is not closing:
            raise BrokerError(
                f"order {order.client_order_id}: reduce-only {order.side.value} would add to the "
                f"{'long' if base > 0 else 'short'} {base_to_float(held):g} {order.symbol}"
            )
        wanted = to_base(order.size)
        if wanted >= held - step / 2:
            return held
        amount = floor_to_step(wanted, step)
        remainder = held - amount
        if amount < minimum or amount <= 0:
            raise BrokerError(
                f"order {order.client_order_id}: closing {order.size:g} {order.symbol} is below "
                f"Drift's minimum order size {base_to_float(minimum):g}"
            )
        if 0 < remainder < minimum:
            raise BrokerError(
                f"order {order.client_order_id}: closing {base_to_float(amount):g} of "
                f"{base_to_float(held):g} {order.symbol} would leave {base_to_float(remainder):g},"
                f" below Drift's minimum order size {base_to_float(minimum):g}; close all of it "
                f"or leave at least {base_to_float(minimum):g}"
            )
        return amount

    # ------------------------------------------------------------------ market orders
    async def open(self, order: OrderRequest) -> Fill:
        """A risk-increasing market order (the risk gate has passed it); waits for the fill."""
        if order.reduce_only:
            raise BrokerError(
                f"order {order.client_order_id}: open() got a reduce-only order; "
                "exits go through close()"
            )
        placed = await self.submit(order)
        return await self.wait_filled(placed)

    async def close(self, order: OrderRequest) -> Fill:
        """A reduce-only market order (a TP, a manual close); waits for the fill."""
        if not order.reduce_only:
            raise BrokerError(
                f"order {order.client_order_id}: close() needs reduce_only=True "
                "(an exit must never open or flip a position)"
            )
        placed = await self.submit(order)
        return await self.wait_filled(placed)

    async def submit(self, order: OrderRequest) -> PlacedOrder:
        """Send a market order once; a second call with the same client_order_id resumes it.

        Returns the placed order (not a fill). Raises BrokerError for a refusal (nothing
        happened on chain, with the program's reason) and OrderNotConfirmed when the send's
        deadline passed: the order may still land. No lock is held while it is sent.
        """
        if order.client_order_id in self._placed:
            await self._refresh_quietly()
        async with self._lock:  # the bookkeeping only
            previous = self._placed.get(order.client_order_id)
            if previous is not None:
                if self._landed(previous):
                    return previous
                placed = previous
            else:
                placed = self._new_market_order(order)
                self._placed[order.client_order_id] = placed
        return await self._send(placed, self._market_ix)

    def _new_market_order(self, order: OrderRequest) -> PlacedOrder:
        index = self.market_index(order.symbol)
        amount = self.close_amount(order) if order.reduce_only else self.open_amount(order)
        mark = self._mark(index)
        return PlacedOrder(
            client_order_id=order.client_order_id,
            user_order_id=self.user_order_id(order.client_order_id),
            symbol=order.symbol,
            market_index=index,
            side=order.side,
            base_amount=amount,
            reduce_only=order.reduce_only,
            kind="market",
            reason=order.reason,
            sent_ms=self._clock(),
            base_before=mark.base,
            quote_before=mark.quote,
            settled_before=mark.settled_pnl,
            funding_before=mark.funding_rate,
        )

    def _market_ix(self, placed: PlacedOrder) -> Any:
        from driftpy.types import MarketType, OrderParams, OrderType, PositionDirection

        params = OrderParams(
            order_type=OrderType.Market(),
            market_type=MarketType.Perp(),
            direction=(
                PositionDirection.Long()
                if placed.side is OrderSide.BUY
                else PositionDirection.Short()
            ),
            base_asset_amount=placed.base_amount,
            market_index=placed.market_index,
            user_order_id=placed.user_order_id,
            reduce_only=placed.reduce_only,
        )
        return self._client.get_place_perp_order_ix(params, self._config.sub_account_id)

    async def wait_filled(self, placed: PlacedOrder, timeout_s: float | None = None) -> Fill:
        """Poll the account until it shows the fill; OrderNotConfirmed after the timeout."""
        cached = self._fills.get(placed.client_order_id)
        if cached is not None:
            return cached
        limit = self._config.confirm_timeout_s if timeout_s is None else timeout_s
        deadline = self._clock() + limit * 1000
        while True:
            await self._refresh_quietly()
            confirmation = self.confirm(placed)
            if confirmation.fill is not None:
                return confirmation.fill
            if self._clock() >= deadline:
                raise OrderNotConfirmed(
                    f"order {placed.client_order_id} (user_order_id {placed.user_order_id}) was "
                    f"sent but Drift shows no fill after {limit:g} s: it stays placed",
                    placed,
                )
            await self._sleep(self._config.poll_interval_s)

    def confirm(self, placed: PlacedOrder, user: Any | None = None) -> Confirmation:
        """What the (refreshed) user account says about a placed market order.

        Filled means: the order no longer rests on the book and the position moved in the
        order's direction. The fill price is read from the change of the position's quote
        amount net of the funding and settled P&L booked meanwhile (adapters/drift/fills.py);
        it includes the fee, which is split out with `drift.taker_fee_bps`.
        """
        cached = self._fills.get(placed.client_order_id)
        if cached is not None:
            return Confirmation(placed, "filled", cached)
        account = self._user() if user is None else user
        if self._find_open(placed.user_order_id, account) is not None:
            return Confirmation(placed, "open")
        after = self._mark(placed.market_index, account)
        sign = 1 if placed.side is OrderSide.BUY else -1
        moved = (after.base - placed.base_before) * sign
        if moved <= 0:
            return Confirmation(placed, "placed")
        fill = self._fill_from_delta(
            client_order_id=placed.client_order_id,
            symbol=placed.symbol,
            side=placed.side,
            base_moved=min(moved, placed.base_amount),
            quote_delta=net_quote_delta(
                placed.mark_before, after, self._client.get_perp_market_account(placed.market_index)
            ),
            reduce_only=placed.reduce_only,
            reason=placed.reason,
            price_source="drift_account",
        )
        self._fills[placed.client_order_id] = fill
        return Confirmation(placed, "filled", fill)

    def _fill_from_delta(
        self,
        *,
        client_order_id: str,
        symbol: str,
        side: OrderSide,
        base_moved: int,
        quote_delta: int,
        reduce_only: bool,
        reason: str,
        price_source: str,
    ) -> Fill:
        """A fill read from how the account changed: `base_moved` (> 0) in the order's
        direction and the position's quote change, which includes the fee (a buy pays
        notional + fee, a sell receives notional - fee); the fee is split out with
        `drift.taker_fee_bps`."""
        size = base_to_float(base_moved)
        fee_rate = self._config.taker_fee_bps / 1e4
        delta = quote_delta / QUOTE_PRECISION
        buy = side is OrderSide.BUY
        notional = -delta / (1 + fee_rate) if buy else delta / (1 - fee_rate)
        return Fill(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            size=size,
            price=abs(notional) / size,
            fee=abs(notional) * fee_rate,
            ts_ms=self._clock(),
            price_source=price_source,
            reduce_only=reduce_only,
            reason=reason,
        )

    def fill_at(
        self,
        client_order_id: str,
        symbol: str,
        side: OrderSide,
        size: float,
        price: float,
        *,
        reduce_only: bool,
        reason: str,
        price_source: str = "drift_account",
    ) -> Fill:
        """A fill known only by its size and price (an order that landed while no cockpit was
        watching: the account shows the position, not the trade); the fee at the taker rate."""
        return Fill(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            size=size,
            price=price,
            fee=size * price * self._config.taker_fee_bps / 1e4,
            ts_ms=self._clock(),
            price_source=price_source,
            reduce_only=reduce_only,
            reason=reason,
        )

    def resume_market_order(
        self,
        client_order_id: str,
        user_order_id: int,
        symbol: str,
        side: OrderSide,
        size: float,
        *,
        reduce_only: bool,
        reason: str,
        sent_ms: int,
    ) -> PlacedOrder:
        """Take over a market order an earlier process sent and whose fill does not show yet:
        it is confirmed (or re-sent, with the same user_order_id) like one of this process's,
        measured from the account as it stands now."""
        self.assign_user_order_id(client_order_id, user_order_id)
        index = self.market_index(symbol)
        mark = self._mark(index)
        placed = PlacedOrder(
            client_order_id=client_order_id,
            user_order_id=user_order_id,
            symbol=symbol,
            market_index=index,
            side=side,
            base_amount=floor_to_step(to_base(size), int(self._market(index).amm.order_step_size)),
            reduce_only=reduce_only,
            kind="market",
            reason=reason,
            sent_ms=sent_ms,
            base_before=mark.base,
            quote_before=mark.quote,
            settled_before=mark.settled_pnl,
            funding_before=mark.funding_rate,
        )
        self._placed[client_order_id] = placed
        return placed

    # ------------------------------------------------------------------ the account as it stands
    def account_position(self, symbol: str) -> PositionMark:
        """`symbol`'s position as last refreshed (signed base, quote, settled P&L, funding
        rate): the mark a later `reduction_fill` measures from."""
        return self._mark(self.market_index(symbol))

    def reduction_fill(
        self, symbol: str, before: PositionMark, *, client_order_id: str, reason: str
    ) -> Fill | None:
        """The fill implied by the position having shrunk since `before` without an order of
        this session's (an on-chain stop that triggered, or a close outside the cockpit).

        None when the position did not shrink. A flip (the sign changed) is not a reduction: it
        is reported as None here and shows up as a side mismatch.
        """
        base_before = before.base
        after = self.account_position(symbol)
        base = after.base
        if base_before == 0 or (base != 0 and (base > 0) != (base_before > 0)):
            return None
        reduced = abs(base_before) - abs(base)
        if reduced <= 0:
            return None
        side = OrderSide.SELL if base_before > 0 else OrderSide.BUY
        return self._fill_from_delta(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            base_moved=reduced,
            quote_delta=net_quote_delta(
                before, after, self._client.get_perp_market_account(self.market_index(symbol))
            ),
            reduce_only=True,
            reason=reason,
            price_source="drift_account",
        )

    def confirmations(self, user: Any | None = None) -> list[Confirmation]:
        """Every market order this broker placed and has not yet seen filled, as of `user`."""
        return [
            self.confirm(p, user)
            for cid, p in self._placed.items()
            if p.kind == "market" and cid not in self._fills
        ]
