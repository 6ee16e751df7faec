"""Candles and ticks, both ways: a bar played as ticks, ticks built into bars, and the bars a
replay can show for a symbol at its current market time (`CandleBook`).

Intrabar order of `candle_ticks` (what a replayed bar "did" inside itself):

- a bar that closed at or above its open: open -> low -> high -> close;
- a bar that closed below its open:      open -> high -> low -> close.

Why: of the two orders consistent with a bar's OHLC, this one has the least total travel (for an
up bar (O-L)+(H-L)+(H-C) <= (H-O)+(H-L)+(C-L) because C >= O), i.e. it assumes no more reversals
than the bar proves, and the final leg runs monotonically into the close, the way a bar that
closes near its high usually got there. It is not optimistic for any one trade: inside an up bar
the low comes first, so a long's stop is tested before its target. Each bar becomes exactly four
ticks, at the bar's open time, one third and two thirds of the way through it, and 1 ms before the
next bar opens (open at the bar's start, close just before the next bar). Candle ticks carry no
bid/ask (bars have no book) and ``source="replay"``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise

from adapters.csv_candles import timeframe_label, timeframe_ms
from cockpit.domain import Candle, Tick

__all__ = ["MINUTE_MS", "CandleBook", "aggregate_ticks", "candle_ticks"]

MINUTE_MS = 60_000


def candle_ticks(candles: Iterable[Candle]) -> Iterator[Tick]:
    """Four ticks per bar in the documented intrabar order (see the module docstring)."""
    for bar in candles:
        span = timeframe_ms(bar.timeframe) - 1
        if bar.close >= bar.open:
            path = (bar.open, bar.low, bar.high, bar.close)
        else:
            path = (bar.open, bar.high, bar.low, bar.close)
        for i, price in enumerate(path):
            yield Tick(bar.symbol, bar.ts_ms + i * span // 3, price, source="replay")


def aggregate_ticks(ticks: Iterable[Tick], timeframe: str) -> list[Candle]:
    """OHLC bars of `timeframe` on the UTC epoch grid; volume is 0 because ticks carry no size."""
    tf_ms = timeframe_ms(timeframe)
    out: list[Candle] = []
    bucket: int | None = None
    symbol = ""
    o = h = lo = c = 0.0
    for tick in ticks:
        start = tick.ts_ms - tick.ts_ms % tf_ms
        if start != bucket:
            if bucket is not None:
                out.append(Candle(symbol, timeframe, bucket, o, h, lo, c, 0.0))
            bucket, symbol = start, tick.symbol
            o = h = lo = c = tick.price
        else:
            h, lo, c = max(h, tick.price), min(lo, tick.price), tick.price
    if bucket is not None:
        out.append(Candle(symbol, timeframe, bucket, o, h, lo, c, 0.0))
    return out


class CandleBook:
    """What `candles()` can serve for one symbol: history bars the replay has reached, plus
    one-minute bars built from the ticks emitted so far (the forming bar included).

    A history bar becomes visible once market time reaches its last millisecond, so a replay
    never shows a bar's high before the ticks have gone there. Tick-built minutes are kept only
    where no visible history bar covers them, so a finished file bar (with its real volume)
    replaces the provisional bar its ticks built.
    """

    def __init__(self, symbol: str, history: Sequence[Candle]) -> None:
        self.symbol = symbol
        self.history = list(history)
        self.history_tf_ms: int | None = None
        if self.history:
            frames = {bar.timeframe for bar in self.history}
            if len(frames) != 1:
                raise ValueError(f"{symbol}: candle history mixes timeframes {sorted(frames)}")
            self.history_tf_ms = timeframe_ms(self.history[0].timeframe)
            for a, b in pairwise(self.history):
                if b.ts_ms <= a.ts_ms:
                    raise ValueError(f"{symbol}: candle history is not strictly increasing")
        self.history_ts = [bar.ts_ms for bar in self.history]
        self.visible = 0
        self.minute_keys: list[int] = []
        self.minutes: dict[int, list[float]] = {}

    def reveal(self, market_end_ms: int | None) -> None:
        """Make visible every history bar that ends at or before `market_end_ms` (None: all)."""
        if market_end_ms is None or self.history_tf_ms is None:
            self.visible = len(self.history)
            return
        # bar i is complete when ts_i + tf <= market_end, i.e. ts_i <= market_end - tf
        self.visible = max(
            self.visible, bisect.bisect_right(self.history_ts, market_end_ms - self.history_tf_ms)
        )

    def add_tick(self, tick: Tick) -> None:
        key = tick.ts_ms - tick.ts_ms % MINUTE_MS
        bar = self.minutes.get(key)
        if bar is None:
            self.minutes[key] = [tick.price, tick.price, tick.price, tick.price]
            if not self.minute_keys or key > self.minute_keys[-1]:
                self.minute_keys.append(key)
            else:  # an out-of-order tick: tolerated, kept sorted
                bisect.insort(self.minute_keys, key)
        else:
            bar[1] = max(bar[1], tick.price)
            bar[2] = min(bar[2], tick.price)
            bar[3] = tick.price

    def candles(self, timeframe: str, since_ms: int | None, limit: int) -> list[Candle]:
        tf_ms = timeframe_ms(timeframe)
        if tf_ms % MINUTE_MS:
            raise ValueError(f"timeframe {timeframe!r}: candles come in whole minutes")
        if self.history_tf_ms is not None and tf_ms % self.history_tf_ms:
            raise ValueError(
                f"timeframe {timeframe!r} is not a multiple of the {self.symbol} history's "
                f"{timeframe_label(self.history_tf_ms)} bars"
            )
        if limit <= 0:
            return []
        hist_tf = self.history_tf_ms or 0
        cutoff = self.history_ts[self.visible - 1] + hist_tf if self.visible else None
        first_minute = 0
        if cutoff is not None:  # minutes ending at or before the cutoff are covered by history
            first_minute = bisect.bisect_right(self.minute_keys, cutoff - MINUTE_MS)

        if since_ms is not None:
            lo = since_ms - since_ms % tf_ms
            hi = lo + (limit + 1) * tf_ms
        else:
            newest: list[int] = []
            if self.visible:
                newest.append(self.history_ts[self.visible - 1])
            if len(self.minute_keys) > first_minute:
                newest.append(self.minute_keys[-1])
            if not newest:
                return []
            last = max(newest)
            hi = last - last % tf_ms + tf_ms
            lo = hi - limit * tf_ms

        pieces: list[tuple[int, float, float, float, float, float]] = []
        i0 = bisect.bisect_left(self.history_ts, lo, 0, self.visible)
        i1 = bisect.bisect_left(self.history_ts, hi, 0, self.visible)
        for bar in self.history[i0:i1]:
            pieces.append((bar.ts_ms, bar.open, bar.high, bar.low, bar.close, bar.volume))
        j0 = max(first_minute, bisect.bisect_left(self.minute_keys, lo))
        j1 = bisect.bisect_left(self.minute_keys, hi)
        for key in self.minute_keys[j0:j1]:
            o, h, lo_, c = self.minutes[key]
            pieces.append((key, o, h, lo_, c, 0.0))
        pieces.sort(key=lambda piece: piece[0])

        out: list[Candle] = []
        for ts, o, h, lo_, c, v in pieces:
            start = ts - ts % tf_ms
            if out and out[-1].ts_ms == start:
                prev = out[-1]
                out[-1] = Candle(
                    self.symbol,
                    timeframe,
                    start,
                    prev.open,
                    max(prev.high, h),
                    min(prev.low, lo_),
                    c,
                    prev.volume + v,
                )
            else:
                out.append(Candle(self.symbol, timeframe, start, o, h, lo_, c, v))
        if since_ms is not None:
            return [bar for bar in out if bar.ts_ms >= since_ms][:limit]
        return out[-limit:]
