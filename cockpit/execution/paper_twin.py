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

An order's paper price on its tick is also written with the order's row before it is sent
(`quote`, migration 0017), so a fill the venue reports after the cockpit restarted still gets
its twin (`restore`). A live fill that has no twin says why (`Fill.paper_missing`): a stop the
venue filled with no tick through it seen by the cockpit (it was down, or the venue's price went
through first), or an order with no tick kept (no tick when it was sent, or a row from before
0017). The fidelity analytics count those by reason.
"""

from __future__ import annotations

from dataclasses import replace

from adapters.paper import paper_fill_price
from cockpit.config import PaperConfig
from cockpit.domain import (
    ExitReason,
    Fill,
    Mode,
    OrderRequest,
    PaperQuote,
    PaperTwin,
    StopRole,
    Tick,
)

STOP_REASONS = frozenset(ExitReason.for_stop(role).value for role in StopRole)


NO_STOP_TICK = "no tick through the stop seen by the cockpit"
NO_ORDER_TICK = "no tick kept for the order"


class PaperTwins:
    """Remembers the paper prices live orders were decided on, and gives each live fill its
    twin."""

    def __init__(self, config: PaperConfig, last_tick: dict[str, Tick]) -> None:
        self._config = config
        self._last_tick = last_tick
        self._sent: dict[int, PaperQuote] = {}
        self.stop_ticks: dict[int, Tick] = {}
        """trade id -> first tick through its stop, until the price is back or it fills."""

    def quote(self, order: OrderRequest, mode: Mode) -> PaperQuote | None:
        """The paper price of a live order on the tick it is decided on (the newest of its
        symbol), written with its row; None for other modes or before any tick."""
        if mode is not Mode.LIVE_SMALL:
            return None
        tick = self._last_tick.get(order.symbol)
        if tick is None:
            return None
        return PaperQuote(paper_fill_price(self._config, order.side, tick), tick.ts_ms)

    def sent(self, order_id: int, quote: PaperQuote | None) -> None:
        """A live order's row is written with `quote`: its fill's twin."""
        if quote is not None:
            self._sent[order_id] = quote

    def restore(self, order_id: int, quote: PaperQuote | None) -> None:
        """A fill reported for an order this process did not send (sent before a restart):
        the quote kept on its row."""
        if quote is not None:
            self._sent.setdefault(order_id, quote)

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
        """`fill` with its paper twin when it is a live fill with a price to compare it with,
        else with the reason it has none."""
        sent = self._sent.pop(order_id, None)
        if mode is not Mode.LIVE_SMALL or fill.paper is not None:
            return fill
        if fill.reason in STOP_REASONS:
            tick = self.stop_ticks.pop(trade_id, None) if trade_id is not None else None
            if tick is not None:
                return self._twin(fill, paper_fill_price(self._config, fill.side, tick), tick)
            if sent is None:  # the venue's stop order: the paper stop fills on a tick through it
                return replace(fill, paper_missing=NO_STOP_TICK)
        if sent is None:
            return replace(fill, paper_missing=NO_ORDER_TICK)
        return self._twin(fill, sent.price, sent)

    def _twin(self, fill: Fill, price: float, tick: Tick | PaperQuote) -> Fill:
        fee = fill.size * price * self._config.taker_fee_bps / 1e4
        return replace(fill, paper=PaperTwin(price, fee, tick.ts_ms))
