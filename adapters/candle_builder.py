"""Closing bars from a stream of bar updates, and filtering a stream of trades.

Both exist because a live socket delivers what the exchange sends, not what a recorder needs:

- `CandleCloser`: an exchange's kline stream repeats the *forming* bar many times a second and
  never says "final" in a form ccxt keeps. A bar is closed when an update for a later bar
  arrives (timestamp rollover); it is emitted exactly once, however often it was repeated,
  and an update for a bar already closed (a duplicate or a late frame after a reconnect) is
  ignored, so a closed bar can never be changed or emitted twice by the stream.
- `TradeFilter`: after a reconnect an exchange may resend trades, and frames can arrive out of
  order. A trade already seen (same id) or older than the newest one taken is dropped, so a
  tick is never emitted twice and the price never steps back in time.
"""

from __future__ import annotations

from collections import deque

from adapters.base import ClosedBar
from cockpit.domain import Candle


class CandleCloser:
    """Turns repeated updates of forming bars into each closed bar, exactly once."""

    def __init__(self, symbol: str, timeframe: str) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self._forming: Candle | None = None
        self._last_closed_ts: int | None = None
        self._interrupted = False
        self.ignored = 0
        """Updates dropped because their bar was already closed (duplicates, late frames)."""

    @property
    def forming(self) -> Candle | None:
        return self._forming

    @property
    def last_closed_ts(self) -> int | None:
        return self._last_closed_ts

    def interrupted(self) -> None:
        """The stream reconnected: the next bar closed is marked `after_gap`."""
        self._interrupted = True

    def update(self, candle: Candle) -> ClosedBar | None:
        """Take one bar update; returns the bar it closed, if it closed one."""
        if self._last_closed_ts is not None and candle.ts_ms <= self._last_closed_ts:
            self.ignored += 1
            return None
        forming = self._forming
        if forming is None or candle.ts_ms == forming.ts_ms:
            self._forming = candle  # a kline update carries the whole bar so far
            return None
        if candle.ts_ms < forming.ts_ms:
            self.ignored += 1  # an update for an older bar than the one forming: late
            return None
        self._forming = candle
        self._last_closed_ts = forming.ts_ms
        closed = ClosedBar(forming, after_gap=self._interrupted)
        self._interrupted = False
        return closed


class TradeFilter:
    """Drops trades already seen and trades older than the newest one taken.

    Numeric ids (Binance aggregate trade ids) are compared by value: an id at or below the
    newest taken is a duplicate or arrived late. Other ids (Bybit's UUIDs) are remembered in a
    bounded window. In both cases a timestamp before the newest taken is late.
    """

    def __init__(self, window: int = 4096) -> None:
        self._last_id: int | None = None
        self._last_ts: int | None = None
        self._seen: set[str] = set()
        self._order: deque[str] = deque()
        self._window = window
        self.duplicates = 0
        self.late = 0

    def accept(self, trade_id: str | None, ts_ms: int) -> bool:
        """True if this trade is new and not older than the newest one accepted."""
        numeric = _as_int(trade_id)
        if numeric is not None and self._last_id is not None and numeric <= self._last_id:
            if numeric == self._last_id:
                self.duplicates += 1
            else:
                self.late += 1
            return False
        if numeric is None and trade_id is not None and trade_id in self._seen:
            self.duplicates += 1
            return False
        if self._last_ts is not None and ts_ms < self._last_ts:
            self.late += 1
            return False
        if numeric is not None:
            self._last_id = numeric
        elif trade_id is not None:
            self._remember(trade_id)
        self._last_ts = ts_ms
        return True

    def _remember(self, trade_id: str) -> None:
        self._seen.add(trade_id)
        self._order.append(trade_id)
        if len(self._order) > self._window:
            self._seen.discard(self._order.popleft())


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
