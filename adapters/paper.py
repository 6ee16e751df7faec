"""The paper broker behind SHADOW mode: market orders filled at the live price, with costs.

A shadow result is only worth comparing with live-small if it pays what a venue would charge, so
every fill crosses the spread (the tick's ask/bid, or the mid moved by `half_spread_bps` when the
feed has no book), pays `slippage_bps` on top, and a taker fee on the filled notional. Nothing
fills at a price the market did not show (DESIGN.md section 5).

Stops are market orders too: the session sends the close on the first tick through the stop,
and it fills at that tick's executable side (the bid for a long's exit, the ask for a short's),
never at the stop level, so a gap through a stop costs what it would have cost on the venue.
On the live feed the tick's bid/ask never look better than a trade printed after the book
(adapters/ccxt_feed.py).

With `max_price_age_ms` and a `clock` (the live cockpit sets both), an order is refused when
the newest price is older than that: a market order on a stale price would fill at a price the
market no longer shows. Funding on paper positions is charged by cockpit/funding.py.

It keeps its own signed net position per symbol, so reduce-only orders behave as on a venue: they
can only shrink a position, never flip it, and one larger than the position is clipped to it.
The cockpit opens at most one position per symbol (execution/book.py); a database from before that
rule can hold a long and a short on one symbol, which a venue would net to nothing. Restored, each
is adopted as its own leg (keyed by trade id), and a reduce-only order for that trade reduces its
own leg, so each can still be closed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from adapters.base import BrokerError, VenueEvent, VenueEventKind
from cockpit.config import PaperConfig
from cockpit.domain import Fill, OrderRequest, OrderSide, Tick

DUST_FRACTION = 1e-9
"""A reduce-only order within this fraction of the whole position closes all of it, so float
residue such as 0.30000000000000004 - 0.3 never leaves an unclosable crumb of a position."""


# How many filled orders a retry can still find by its client order id. A retry comes seconds
# after its order; a cockpit that runs for weeks must not keep every order it ever filled.
REMEMBERED_ORDERS = 10_000


def paper_fill_price(config: PaperConfig, side: OrderSide, tick: Tick) -> float:
    """The paper model's price for a market order of `side` on `tick`: across the spread (the
    tick's ask/bid, else the price moved by `half_spread_bps`), then `slippage_bps` on top.
    Also what a LIVE-SMALL fill is compared with (cockpit/execution/paper_twin.py)."""
    slip = config.slippage_bps / 1e4
    half = config.half_spread_bps / 1e4
    if side is OrderSide.BUY:
        base = tick.ask if tick.ask is not None else tick.price * (1 + half)
        return base * (1 + slip)
    base = tick.bid if tick.bid is not None else tick.price * (1 - half)
    return base * (1 - slip)


class PaperBroker:
    """Fills market orders immediately against the latest tick fed in through `on_tick`."""

    def __init__(
        self,
        config: PaperConfig,
        venue: str = "paper",
        *,
        max_price_age_ms: int | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if (max_price_age_ms is None) != (clock is None):
            raise ValueError("max_price_age_ms and clock go together")
        self._config = config
        self._venue = venue
        self._max_age_ms = max_price_age_ms
        self._clock = clock
        self._last: dict[str, Tick] = {}
        # symbol -> leg -> signed size. One leg (None) per symbol, except for positions restored
        # from before the one-position rule, each adopted under its trade id.
        self._legs: dict[str, dict[int | None, float]] = {}
        self._done: dict[str, tuple[OrderRequest, Fill]] = {}

    @property
    def venue(self) -> str:
        return self._venue

    @property
    def config(self) -> PaperConfig:
        return self._config

    def on_tick(self, tick: Tick) -> None:
        """Remember the newest price per symbol; orders fill against it."""
        self._last[tick.symbol] = tick

    def last_tick(self, symbol: str) -> Tick | None:
        return self._last.get(symbol)

    def positions(self) -> dict[str, float]:
        """Signed net size per symbol (long > 0, short < 0); flat symbols are left out."""
        out = {symbol: sum(legs.values()) for symbol, legs in self._legs.items()}
        return {symbol: size for symbol, size in out.items() if size != 0}

    def adopt_position(self, symbol: str, signed_size: float, trade_id: int | None = None) -> None:
        """Take over a position restored from the database after a restart, without a fill.

        Without `trade_id` it replaces the symbol's whole position (0 makes it flat); with one it
        sets that trade's own leg (see the module docstring)."""
        if not math.isfinite(signed_size):
            raise BrokerError(f"cannot adopt a non-finite position {signed_size} for {symbol}")
        if trade_id is None:
            self._legs.pop(symbol, None)
        self._set_leg(symbol, trade_id, signed_size)

    def _set_leg(self, symbol: str, leg: int | None, signed_size: float) -> None:
        legs = self._legs.setdefault(symbol, {})
        if signed_size == 0:
            legs.pop(leg, None)
        else:
            legs[leg] = signed_size
        if not legs:
            del self._legs[symbol]

    def handle(self, client_order_id: str) -> int | None:
        """Paper orders have no venue-side id."""
        return None

    async def submit(self, order_id: int, order: OrderRequest) -> VenueEvent:
        """The execution router's way in: filled at once, or rejected with the reason."""
        try:
            fill = await (self.close(order) if order.reduce_only else self.open(order))
        except BrokerError as exc:
            return VenueEvent(VenueEventKind.REJECTED, order_id, detail=str(exc))
        return VenueEvent(VenueEventKind.FILLED, order_id, fill)

    def fill_price(self, side: OrderSide, tick: Tick) -> float:
        """Where a market order of `side` fills on `tick`: across the spread, then slippage."""
        return paper_fill_price(self._config, side, tick)

    async def open(self, order: OrderRequest) -> Fill:
        """A risk-increasing (or netting) market order. Refuses a reduce-only order."""
        if order.reduce_only:
            raise BrokerError(
                f"order {order.client_order_id}: open() got a reduce-only order; "
                "exits go through close()"
            )
        return self._execute(order)

    async def close(self, order: OrderRequest) -> Fill:
        """A reduce-only market order; clipped to the position, refused if there is none."""
        if not order.reduce_only:
            raise BrokerError(
                f"order {order.client_order_id}: close() needs reduce_only=True "
                "(an exit must never open or flip a position)"
            )
        return self._execute(order)

    def _execute(self, order: OrderRequest) -> Fill:
        previous = self._done.get(order.client_order_id)
        if previous is not None:
            # a retry of an order that already filled: report the same fill, do not fill twice
            if previous[0] != order:
                raise BrokerError(
                    f"client order id {order.client_order_id} was already used for another order"
                )
            return previous[1]
        if not (math.isfinite(order.size) and order.size > 0):
            raise BrokerError(
                f"order {order.client_order_id}: size must be positive, got {order.size}"
            )
        tick = self._last.get(order.symbol)
        if tick is None:
            raise BrokerError(f"order {order.client_order_id}: no price yet for {order.symbol}")
        if self._max_age_ms is not None and self._clock is not None:
            age_ms = self._clock() - tick.ts_ms
            if age_ms > self._max_age_ms:
                raise BrokerError(
                    f"order {order.client_order_id}: the last {order.symbol} price is "
                    f"{age_ms / 1000:.0f}s old; no fill on a stale price"
                )

        sign = 1.0 if order.side is OrderSide.BUY else -1.0
        legs = self._legs.get(order.symbol, {})
        leg = order.trade_id if order.trade_id in legs else None
        position = legs.get(leg, 0.0)
        size = order.size
        if order.reduce_only:
            if position == 0:
                raise BrokerError(
                    f"order {order.client_order_id}: reduce-only {order.side.value} "
                    f"{order.symbol} but there is no position to reduce"
                )
            if position * sign > 0:
                held = "long" if position > 0 else "short"
                raise BrokerError(
                    f"order {order.client_order_id}: reduce-only {order.side.value} would add "
                    f"to the {held} {abs(position):g} {order.symbol}"
                )
            if size >= abs(position) * (1 - DUST_FRACTION):
                size = abs(position)

        price = self.fill_price(order.side, tick)
        fill = Fill(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            size=size,
            price=price,
            fee=size * price * self._config.taker_fee_bps / 1e4,
            ts_ms=tick.ts_ms,
            price_source=tick.source,
            reduce_only=order.reduce_only,
            reason=order.reason,
        )
        new_position = (
            0.0 if size == abs(position) and order.reduce_only else position + sign * size
        )
        self._set_leg(order.symbol, leg, new_position)
        self._done[order.client_order_id] = (order, fill)
        if len(self._done) > REMEMBERED_ORDERS:  # dicts keep insertion order: drop the oldest
            del self._done[next(iter(self._done))]
        return fill
