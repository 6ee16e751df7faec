"""Funding on paper perp positions, at the exchange's funding times (SHADOW realism).

A perp position pays or receives funding at each funding time (every 8 h on Binance and Bybit
for SOL): notional x rate, longs pay a positive rate and shorts receive it. A shadow result that
ignored it would flatter long carry trades in a positive-funding market, so paper positions are
charged the same way when the live feed reports the rate (`FundingFeed`; Binance's markPrice
stream and Bybit's tickers stream carry the rate and the next funding time).

How it is booked: the payment is added to the position's `fees` (positive = paid, negative =
received), so the trade's net P&L (realized - fees) includes it; the trade row is written at
once and the event log shows each charge with the rate and notional. Approximations, stated:
the rate used is the last one the feed reported before the funding time (the exchange's
predicted rate, which it fixes at that moment), the notional uses the newest price the session
has (the mark price on the default trigger) within a poll interval after the funding time, and a
funding time that passes while the cockpit is not running is not charged. Positions on a live
venue are charged by the venue itself and are left alone. Feeds without a funding rate (replay,
demo) charge nothing: there, funding is not modelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from adapters.base import FundingFeed
from cockpit.domain import PositionState, Tick
from state.store import Store

log = logging.getLogger(__name__)

EventSink = Callable[[str, str], None]


def funding_payment(pos: PositionState, rate: float, price: float) -> float:
    """What the position pays at one funding time (negative: it receives).

    notional (size x price) x rate, signed by side: a long pays a positive rate, a short
    receives it.
    """
    return pos.side.sign * pos.size * price * rate


@dataclass(frozen=True, slots=True)
class _Due:
    at_ms: int
    rate: float


class FundingCharger:
    """Charges funding on open paper positions. `run()` is a task; cancel it to stop."""

    def __init__(
        self,
        feed: FundingFeed,
        symbols: Sequence[str],
        positions: Callable[[], list[PositionState]],
        last_tick: Callable[[str], Tick | None],
        paper_venues: Callable[[], set[str]],
        store: Callable[[], Store | None],
        *,
        clock: Callable[[], int],
        event: EventSink,
        interval_s: float = 1.0,
    ) -> None:
        self._feed = feed
        self._symbols = list(symbols)
        self._positions = positions
        self._last_tick = last_tick
        self._paper_venues = paper_venues
        self._store = store
        self._clock = clock
        self._event = event
        self._interval_s = interval_s
        self._due: dict[str, _Due] = {}
        self._charged: set[tuple[str, int]] = set()
        self.total_paid = 0.0

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self._interval_s)

    async def check(self) -> None:
        """Charge what has come due; then remember the next funding time and its rate."""
        now = self._clock()
        for symbol in self._symbols:
            info = self._feed.funding(symbol)
            due = self._due.get(symbol)
            if due is not None and (
                now >= due.at_ms or (info and info.next_funding_ms > due.at_ms)
            ):
                del self._due[symbol]
                if (symbol, due.at_ms) not in self._charged:
                    self._charged.add((symbol, due.at_ms))
                    await self._charge(symbol, due)
            upcoming = info is not None and now < info.next_funding_ms
            if (
                info is not None
                and upcoming
                and (symbol, info.next_funding_ms) not in self._charged
            ):
                self._due[symbol] = _Due(info.next_funding_ms, info.rate)

    async def _charge(self, symbol: str, due: _Due) -> None:
        tick = self._last_tick(symbol)
        if tick is None:
            log.warning("funding %s at %s not charged: no price", symbol, due.at_ms)
            return
        venues = self._paper_venues()
        store = self._store()
        when = datetime.fromtimestamp(due.at_ms / 1000, tz=UTC).strftime("%H:%M UTC")
        for pos in self._positions():
            if pos.symbol != symbol or pos.closed or pos.venue not in venues:
                continue
            if pos.opened_ms >= due.at_ms:
                continue  # opened after the funding time: nothing to pay for this one
            payment = funding_payment(pos, due.rate, tick.price)
            pos.fees += payment
            self.total_paid += payment
            verb = "paid" if payment >= 0 else "received"
            self._event(
                "trade",
                f"#{pos.trade_id} funding {when}: {verb} {abs(payment):.4f} "
                f"(rate {due.rate * 100:+.4f} % on {pos.size * tick.price:.2f} notional)",
            )
            if store is not None:
                store.update_position(pos)
        if store is not None:
            try:
                await store.flush()
            except Exception as exc:
                log.warning("funding for %s not flushed: %s", symbol, exc)
