"""The paper model's fill beside every LIVE-SMALL fill (issue 18 item 6).

Seed 003: "Validate: Real execution matches shadow predictions ... Compare shadow vs real
(calibration check)". So each live fill carries its paper twin: what `adapters.paper` would have
filled the same order at, on the same ticks:

- an order the cockpit sends (entry, target, manual close, the software stop): the tick it was
  decided on, i.e. the newest tick of its symbol when its row is written;
- a stop: the first tick through the stop (where the paper broker's stop would have filled),
  even when the venue's own trigger order fills it later, or the software stop after its grace.

The twin's size is the live fill's (same quantity, so only price and fee differ), its fee the
paper taker fee on that notional, its time the tick's. Everything here is in memory and O(1): a
tick through a stop is one dict write, and a tick back above it one pop; the twin is written with
the fill's own row, never on its own.
"""

from __future__ import annotations

from dataclasses import replace

from adapters.paper import paper_fill_price
from cockpit.config import PaperConfig
from cockpit.domain import ExitReason, Fill, Mode, OrderRequest, PaperTwin, StopRole, Tick

STOP_REASONS = frozenset(ExitReason.for_stop(role).value for role in StopRole)


class PaperTwins:
    """Remembers the ticks live orders were decided on, and gives each live fill its twin."""

    def __init__(self, config: PaperConfig, last_tick: dict[str, Tick]) -> None:
        self._config = config
        self._last_tick = last_tick
        self._sent: dict[int, Tick] = {}
        self.stop_ticks: dict[int, Tick] = {}
        """trade id -> first tick through its stop, until the price is back or it fills."""

    def sent(self, order_id: int, order: OrderRequest, mode: Mode) -> None:
        """A live order's row is written: the tick it is decided on is the twin's tick."""
        if mode is not Mode.LIVE_SMALL:
            return
        tick = self._last_tick.get(order.symbol)
        if tick is not None:
            self._sent[order_id] = tick

    def stop_through(self, trade_id: int | None, symbol: str) -> None:
        """The price is through a live position's stop: the paper stop fills on this tick."""
        tick = self._last_tick.get(symbol)
        if trade_id is not None and tick is not None:
            self.stop_ticks.setdefault(trade_id, tick)

    def price_back(self, trade_id: int | None) -> None:
        if trade_id is not None:
            self.stop_ticks.pop(trade_id, None)

    def forget(self, order_id: int) -> None:
        """An order that will never fill (rejected, expired, cancelled)."""
        self._sent.pop(order_id, None)

    def beside(self, order_id: int, fill: Fill, mode: Mode, trade_id: int | None) -> Fill:
        """`fill` with its paper twin when it is a live fill with a tick to compute it on."""
        sent = self._sent.pop(order_id, None)
        if mode is not Mode.LIVE_SMALL or fill.paper is not None:
            return fill
        stop_tick = (
            self.stop_ticks.pop(trade_id, None)
            if trade_id is not None and fill.reason in STOP_REASONS
            else None
        )
        tick = stop_tick or sent
        if tick is None:
            return fill  # reported after a restart, or a venue-made fill: nothing to compare
        price = paper_fill_price(self._config, fill.side, tick)
        fee = fill.size * price * self._config.taker_fee_bps / 1e4
        return replace(fill, paper=PaperTwin(price, fee, tick.ts_ms))
