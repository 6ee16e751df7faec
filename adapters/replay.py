"""Markets that are not live: a seeded simulated market and candle files played back as ticks.

Both run through `ReplayFeed`, a `MarketFeed` whose clock is the market time carried in each tick
(DESIGN.md section 1), so the session, the engine and the UI cannot tell a replay from a live feed
except through `FeedStatus` (its ``detail`` says "simulated 1x" / "replay 10x" and ``simulated`` is
set, so a demo can never be mistaken for the real market).

The pieces live beside it: the simulated market in `adapters.market_sim`, the intrabar order of
`candle_ticks` (what a replayed bar "did" inside itself) and the candle book in
`adapters.candle_ticks`, the per-symbol playback state in `adapters.replay_stream`.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from adapters.candle_ticks import MINUTE_MS, CandleBook, aggregate_ticks, candle_ticks
from adapters.csv_candles import CandleFileError, load_candles_csv, timeframe_label, timeframe_ms
from adapters.market_sim import REGIMES, MarketSimulator, Regime, scale_tick, simulated_ticks
from adapters.replay_stream import Stream
from cockpit.domain import Candle, FeedState, FeedStatus, Tick

__all__ = [
    "REGIMES",
    "CandleFileError",
    "MarketSimulator",
    "Regime",
    "ReplayFeed",
    "aggregate_ticks",
    "candle_replay",
    "candle_ticks",
    "load_candles_csv",
    "simulated_market",
    "simulated_markets",
    "simulated_ticks",
    "timeframe_label",
    "timeframe_ms",
]

MAX_LAG_S = 1.0
"""A paced stream more than this far behind its schedule (a slow consumer) re-anchors instead of
bursting the backlog out at once: at 1x a feed should feel like a feed, not catch up in a flood."""


# --------------------------------------------------------------------------- the feed


def _speed_text(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}x"


def _check_speed(speed: float | None) -> float | None:
    if speed is not None and not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"speed must be a positive number or None (max), got {speed}")
    return speed


class ReplayFeed:
    """A `MarketFeed` over prepared tick iterators, paced by the market time in the ticks.

    `speed` is market seconds per wall second (1.0 = real time, 10, 100, ...); None plays as fast
    as the consumer takes ticks, yielding to the event loop between ticks so the UI stays alive.
    Pacing follows a schedule anchored at the last control change rather than sleeping each gap
    afresh, so per-tick overhead does not slow a 1000x replay down.

    `candle_history` per symbol is served by `candles()` together with bars built from the ticks
    emitted so far. History bars appear once market time has reached their end; market time before
    the first tick is `start_ms` (None: all history is already in the past, as for a warm-up).

    Controls (`pause`, `resume`, `step`, `set_speed`) are for one event loop; each symbol supports
    one consumer at a time.
    """

    def __init__(
        self,
        ticks_by_symbol: Mapping[str, Iterable[Tick]],
        *,
        speed: float | None = 1.0,
        simulated: bool,
        label: str,
        candle_history: Mapping[str, Sequence[Candle]] | None = None,
        start_ms: int | None = None,
        paused: bool = False,
        end_ms: int | None = None,
        bar_ms: int | None = None,
        step_ticks: int = 1,
    ) -> None:
        if not ticks_by_symbol:
            raise ValueError("a replay feed needs at least one symbol")
        history = dict(candle_history or {})
        unknown = sorted(set(history) - set(ticks_by_symbol))
        if unknown:
            raise ValueError(f"candle history for symbols without ticks: {unknown}")
        self._speed = _check_speed(speed)
        self._simulated = simulated
        self._label = label
        self._paused = paused
        self._closed = False
        self._start_ms = start_ms
        # Where the data ends and how long a bar is (a candle file's): the progress and rate the
        # status shows. `step_ticks` is what one step of the trader's key releases (one bar).
        self._end_ms = end_ms
        self._bar_ms = bar_ms
        self.step_ticks = step_ticks
        self._rate_mark: tuple[float, int] | None = None
        self._rate: float | None = None
        self._streams: dict[str, Stream] = {}
        for symbol, ticks in ticks_by_symbol.items():
            book = CandleBook(symbol, history.get(symbol, ()))
            book.reveal(start_ms)
            self._streams[symbol] = Stream(symbol, iter(ticks), book)

    # ----------------------------------------------------------------- introspection
    @property
    def symbols(self) -> list[str]:
        return list(self._streams)

    @property
    def speed(self) -> float | None:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def simulated(self) -> bool:
        return self._simulated

    @property
    def market_ms(self) -> int | None:
        """Market time: the newest timestamp emitted on any symbol (None before the first)."""
        stamps = [s.last_ts for s in self._streams.values() if s.last_ts is not None]
        return max(stamps) if stamps else None

    def now_ms(self) -> int:
        """The data's time, the clock of a session on this feed: the newest tick's time, else
        the start, else the wall clock (a feed whose history is all in the past)."""
        market = self.market_ms
        if market is not None:
            return market
        if self._start_ms is not None:
            return self._start_ms
        return time.time_ns() // 1_000_000

    @property
    def progress(self) -> float | None:
        """How much of the data has played, 0..1 (None when the end is not known)."""
        start, end = self._start_ms, self._end_ms
        if start is None or end is None or end <= start:
            return None
        now = self.market_ms if self.market_ms is not None else start
        return min(1.0, max(0.0, (now - start) / (end - start)))

    def _bars_per_s(self) -> float | None:
        """Bars played per wall second, over the last second or more (None until measured)."""
        market = self.market_ms
        if self._bar_ms is None or market is None or self._paused:
            self._rate_mark = None
            return None
        now = time.monotonic()
        if self._rate_mark is None:
            self._rate_mark = (now, market)
        elif now - self._rate_mark[0] >= 1.0:
            then, was = self._rate_mark
            self._rate = (market - was) / self._bar_ms / (now - then)
            self._rate_mark = (now, market)
        return self._rate

    def _progress_text(self) -> str:
        progress = self.progress
        parts = [] if progress is None else [f"{100 * progress:.0f} %"]
        rate = self._bars_per_s()
        if rate is not None:
            parts.append(f"{rate:,.0f} bars/s")
        return "".join(f" · {part}" for part in parts)

    @property
    def status(self) -> FeedStatus:
        errors = [f"{s.symbol}: {s.error}" for s in self._streams.values() if s.error]
        if errors:
            state, detail = FeedState.DOWN, f"{self._label} error: {'; '.join(errors)}"
        elif self._closed:
            state, detail = FeedState.DOWN, f"{self._label} closed"
        elif all(s.exhausted for s in self._streams.values()):
            state, detail = FeedState.DOWN, f"{self._label} finished"
        elif self._paused:
            state, detail = FeedState.CONNECTED, f"paused{self._progress_text()}"
        else:
            speed = _speed_text(self._speed)
            state, detail = FeedState.CONNECTED, f"{self._label} {speed}{self._progress_text()}"
        return FeedStatus(state, detail, age_s=None, simulated=self._simulated)

    def symbol_status(self, symbol: str) -> FeedStatus:
        """One symbol's state: down once its own data has ended or failed (the others play on);
        the whole feed's once every symbol's has ended."""
        stream = self._stream(symbol)
        if stream.error:
            detail = f"{self._label} error: {stream.error}"
            return FeedStatus(FeedState.DOWN, detail, age_s=None, simulated=self._simulated)
        if stream.exhausted and not all(s.exhausted for s in self._streams.values()):
            detail = f"{self._label} of {symbol} finished"
            return FeedStatus(FeedState.DOWN, detail, age_s=None, simulated=self._simulated)
        return self.status

    def _stream(self, symbol: str) -> Stream:
        try:
            return self._streams[symbol]
        except KeyError:
            raise ValueError(
                f"unknown symbol {symbol!r}: this feed has {', '.join(self._streams)}"
            ) from None

    # ----------------------------------------------------------------- controls
    def _wake_all(self) -> None:
        for stream in self._streams.values():
            stream.wake.set()

    def pause(self) -> None:
        """Hold every stream after the tick it is on; remembers where the paced clock stood."""
        if self._paused:
            return
        now = time.monotonic()
        for stream in self._streams.values():
            if self._speed is not None:
                stream.paused_market = stream.market_position(now, self._speed)
            stream.anchor = None
        self._paused = True
        self._wake_all()

    def resume(self) -> None:
        """Play on from where the paced clock stood at `pause()` (or from the last stepped tick)."""
        if not self._paused:
            return
        now = time.monotonic()
        for stream in self._streams.values():
            if stream.paused_market is not None:
                stream.anchor = (now, stream.paused_market)
            stream.paused_market = None
        self._paused = False
        self._wake_all()

    def set_speed(self, speed: float | None) -> None:
        """Change the pace without a jump: the market clock continues from where it stands."""
        speed = _check_speed(speed)
        now = time.monotonic()
        for stream in self._streams.values():
            position = stream.market_position(now, self._speed) if self._speed is not None else None
            stream.anchor = (now, position) if position is not None else None
        self._speed = speed
        self._wake_all()

    async def step(self, n: int = 1, symbol: str | None = None) -> None:
        """While paused, release exactly `n` ticks (of `symbol`, or of every unfinished symbol).

        Returns once the consumer has taken those ticks and come back for the next one, so what
        it did with them is done, or early when the stream ends or the feed closes. It waits for
        a consumer if none is iterating yet.
        """
        if not self._paused:
            raise RuntimeError("step() needs a paused feed: call pause() first")
        if n < 1:
            raise ValueError(f"step(n) needs n >= 1, got {n}")
        streams = (
            [self._stream(symbol)]
            if symbol is not None
            else [s for s in self._streams.values() if not s.exhausted]
        )
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []
        for stream in streams:
            if stream.exhausted or self._closed:
                continue
            # every tick already handed out or promised must come back before these n count
            target = stream.released + stream.credits + n
            stream.credits += n
            stream.paused_market = None
            fut: asyncio.Future[None] = loop.create_future()
            stream.waiters.append((target, fut))
            futures.append(fut)
            stream.wake.set()
        if futures:
            await asyncio.gather(*futures)

    async def close(self) -> None:
        """End every stream cleanly: consumers see the end of iteration at their next tick."""
        self._closed = True
        for stream in self._streams.values():
            stream.settle(everything=True)
            closer = getattr(stream.source, "close", None)
            if callable(closer) and not stream.consuming:
                closer()
        self._wake_all()

    # ----------------------------------------------------------------- data
    def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        """The symbol's ticks, paced; raises ValueError now for a symbol this feed does not have."""
        return self._play(self._stream(symbol))

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        """Bars of `timeframe` from history and the ticks so far; the last one may be forming.

        As with ccxt: with `since_ms`, the first `limit` bars opening at or after it; without,
        the newest `limit` bars.
        """
        return self._stream(symbol).book.candles(timeframe, since_ms, limit)

    async def _play(self, stream: Stream) -> AsyncIterator[Tick]:
        if stream.consuming:
            raise RuntimeError(f"{stream.symbol} already has a consumer")
        stream.consuming = True
        try:
            while not self._closed:
                try:
                    tick = next(stream.source, None)
                except Exception as exc:
                    stream.error = f"{type(exc).__name__}: {exc}"
                    raise
                if tick is None:
                    stream.exhausted = True
                    return
                if tick.symbol != stream.symbol:
                    stream.error = f"got a {tick.symbol!r} tick in the {stream.symbol!r} stream"
                    raise ValueError(stream.error)
                stream.pending_ts = tick.ts_ms
                if not await self._wait_turn(stream, tick.ts_ms):
                    return
                stream.released += 1
                stream.last_ts = tick.ts_ms
                stream.pending_ts = None
                stream.book.add_tick(tick)
                stream.book.reveal(tick.ts_ms + 1)
                yield tick
                stream.acked += 1
                stream.settle()
        finally:
            stream.consuming = False
            stream.settle(everything=True)
            if self._closed:
                closer = getattr(stream.source, "close", None)
                if callable(closer):
                    closer()

    async def _wait_turn(self, stream: Stream, ts_ms: int) -> bool:
        """Wait until the pending tick is due. False when the feed was closed meanwhile."""
        yielded = False
        while True:
            if self._closed:
                return False
            if self._paused:
                if stream.credits > 0:
                    stream.credits -= 1
                    return True
                await stream.sleep(None)
                continue
            speed = self._speed
            if speed is None:
                if yielded:
                    return True
                yielded = True
                await asyncio.sleep(0)  # keep the event loop (and the UI) responsive
                continue
            if stream.last_ts is None:
                return True
            now = time.monotonic()
            if stream.anchor is None:
                stream.anchor = (now, float(stream.last_ts))
            due = stream.anchor[0] + (ts_ms - stream.anchor[1]) / (1000.0 * speed)
            if due <= now:
                if now - due > MAX_LAG_S:
                    stream.anchor = (now, float(ts_ms))
                return True
            await stream.sleep(due - now)


# --------------------------------------------------------------------------- ready-made feeds


def simulated_market(
    symbol: str = "SOL-PERP",
    start_price: float = 150.0,
    seed: int = 7,
    start_ms: int | None = None,
    speed: float | None = 1.0,
    warmup_minutes: int = 240,
    *,
    interval_ms: int = 1000,
    paused: bool = False,
) -> ReplayFeed:
    """The demo market: `warmup_minutes` of 1m history, then live simulated ticks from `start_ms`.

    The warm-up is the same seeded process run before `start_ms`, so `candles()` has hours of
    bars at once (ATR needs them) and the first live tick continues from the last warm-up price;
    the first live tick is at exactly `start_price`.
    `start_ms` defaults to the current minute and must be on a minute boundary, so that every
    warm-up bar is whole and the first live tick opens a fresh bar.
    """
    return simulated_markets(
        {symbol: (start_price, seed)},
        start_ms,
        speed,
        warmup_minutes,
        interval_ms=interval_ms,
        paused=paused,
    )


def simulated_markets(
    markets: Mapping[str, tuple[float, int]],
    start_ms: int | None = None,
    speed: float | None = 1.0,
    warmup_minutes: int = 240,
    *,
    interval_ms: int = 1000,
    paused: bool = False,
) -> ReplayFeed:
    """Several simulated markets in one feed (`cockpit demo --symbol A --symbol B`): symbol ->
    (start price, seed), each its own seeded path as `simulated_market` describes, all on one
    market clock under one set of controls (pause, speed, step)."""
    if start_ms is None:
        now_ms = time.time_ns() // 1_000_000
        start_ms = now_ms - now_ms % MINUTE_MS
    if start_ms % MINUTE_MS:
        raise ValueError(f"start_ms {start_ms} is not on a minute boundary")
    if warmup_minutes < 0:
        raise ValueError(f"warmup_minutes must be >= 0, got {warmup_minutes}")
    warmup_ticks = warmup_minutes * MINUTE_MS // interval_ms if interval_ms > 0 else 0
    live: dict[str, Iterator[Tick]] = {}
    history: dict[str, list[Candle]] = {}
    for symbol, (start_price, seed) in markets.items():
        # The same path as `simulated_ticks` from the warm-up's start: its prices only (no tick
        # objects: the demo's markets are built while the trader waits for a first price).
        sim = MarketSimulator(start_price, seed, interval_ms)
        raw_warmup = []
        for _ in range(warmup_ticks):
            raw_warmup.append(sim.price)
            sim.step()
        first_live = sim.tick(symbol, start_ms)
        # The process is multiplicative, so scaling the whole path is another path of the same
        # process: scale it so the first live tick is exactly `start_price` (a demo resumes
        # there).
        factor = start_price / first_live.price
        first_ms = start_ms - warmup_ticks * interval_ms
        history[symbol] = minute_bars(symbol, first_ms, interval_ms, raw_warmup, factor)
        after = _ticks_after(sim, symbol, start_ms, interval_ms)
        live[symbol] = _scaled(itertools.chain([first_live], after), factor)
    return ReplayFeed(
        live,
        speed=speed,
        simulated=True,
        label="simulated",
        candle_history=history,
        paused=paused,
    )


def _scaled(ticks: Iterator[Tick], factor: float) -> Iterator[Tick]:
    return (scale_tick(t, factor) for t in ticks)


def _ticks_after(sim: MarketSimulator, symbol: str, ts_ms: int, interval_ms: int) -> Iterator[Tick]:
    """`simulated_ticks` after its tick at `ts_ms`: the next step, the next tick, and so on."""
    while True:
        sim.step()
        ts_ms += interval_ms
        yield sim.tick(symbol, ts_ms)


def minute_bars(
    symbol: str, first_ms: int, interval_ms: int, prices: Sequence[float], factor: float
) -> list[Candle]:
    """`aggregate_ticks(..., "1m")` of ticks at `prices` times `factor`, one every `interval_ms`
    from `first_ms`, without making the ticks (identical bars: a positive factor keeps the
    order of prices, so the highest scaled price is the scaled highest)."""
    out: list[Candle] = []
    bucket: int | None = None
    o = h = lo = c = 0.0
    for i, price in enumerate(prices):
        ts = first_ms + i * interval_ms
        start = ts - ts % MINUTE_MS
        if start != bucket:
            if bucket is not None:
                out.append(_bar(symbol, bucket, o, h, lo, c, factor))
            bucket = start
            o = h = lo = c = price
        else:
            h, lo, c = max(h, price), min(lo, price), price
    if bucket is not None:
        out.append(_bar(symbol, bucket, o, h, lo, c, factor))
    return out


def _bar(symbol: str, ts_ms: int, o: float, h: float, lo: float, c: float, factor: float) -> Candle:
    return Candle(symbol, "1m", ts_ms, o * factor, h * factor, lo * factor, c * factor, 0.0)


def candle_replay(
    path: Path | str,
    symbol: str,
    speed: float | None = 1.0,
    *,
    timeframe: str | None = None,
    paused: bool = False,
) -> ReplayFeed:
    """A candle file (see `load_candles_csv`) played as `candle_ticks`.

    `candles()` serves the file's own bars (with their volume) up to the current replay time, the
    bar in progress built from the ticks so far. `FeedStatus.simulated` is True: replayed prices
    are real but not live, and nothing may treat them as the market now.
    """
    bars = load_candles_csv(path, symbol, timeframe)
    bar_ms = timeframe_ms(bars[0].timeframe)
    return ReplayFeed(
        {symbol: candle_ticks(bars)},
        speed=speed,
        simulated=True,
        label="replay",
        candle_history={symbol: bars},
        start_ms=bars[0].ts_ms,
        paused=paused,
        end_ms=bars[-1].ts_ms + bar_ms,
        bar_ms=bar_ms,
        step_ticks=4,  # one bar: its four ticks (candle_ticks)
    )
