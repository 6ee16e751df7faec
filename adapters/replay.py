"""Markets that are not live: a seeded simulated market and candle files played back as ticks.

Both run through `ReplayFeed`, a `MarketFeed` whose clock is the market time carried in each tick
(DESIGN.md section 1), so the session, the engine and the UI cannot tell a replay from a live feed
except through `FeedStatus` (its ``detail`` says "simulated 1x" / "replay 10x" and ``simulated`` is
set, so a demo can never be mistaken for the real market).

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

import asyncio
import bisect
import contextlib
import itertools
import math
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

from adapters.csv_candles import CandleFileError, load_candles_csv, timeframe_label, timeframe_ms
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
    "simulated_ticks",
    "timeframe_label",
    "timeframe_ms",
]

MINUTE_MS = 60_000
SECONDS_PER_YEAR = 365 * 86_400  # crypto trades every day (DESIGN.md section 7 annualises with 365)
MAX_LAG_S = 1.0
"""A paced stream more than this far behind its schedule (a slow consumer) re-anchors instead of
bursting the backlog out at once: at 1x a feed should feel like a feed, not catch up in a flood."""


# --------------------------------------------------------------------------- simulated market


@dataclass(frozen=True, slots=True)
class Regime:
    """One volatility state of the simulated market."""

    name: str
    annual_vol: float
    """Annualised volatility of the diffusion (0.9 = 90 %)."""
    mean_minutes: float
    """Mean time spent in the regime before switching (the exit is memoryless, per tick)."""
    half_spread_bps: float
    jumps_per_hour: float


REGIMES: tuple[Regime, ...] = (
    Regime("calm", annual_vol=0.55, mean_minutes=90.0, half_spread_bps=0.5, jumps_per_hour=0.05),
    Regime("normal", annual_vol=0.90, mean_minutes=120.0, half_spread_bps=1.0, jumps_per_hour=0.15),
    Regime("volatile", annual_vol=1.50, mean_minutes=30.0, half_spread_bps=2.5, jumps_per_hour=0.5),
)
"""SOL-like: realised vol of SOL spans roughly 50-150 % a year between quiet and busy weeks."""

_REGIME_EXITS: tuple[tuple[float, ...], ...] = (
    (0.0, 0.85, 0.15),  # calm mostly wakes up into normal
    (0.6, 0.0, 0.4),
    (0.25, 0.75, 0.0),  # volatility mostly decays through normal
)
"""Row i: where the chain goes when it leaves regime i."""

_TREND_PCT_PER_HOUR = (0.2, 1.2)
_TREND_MEAN_MINUTES = 150.0
_JUMP_PCT = (0.4, 1.5)
_JUMP_REVERT_FRACTION = (0.3, 0.8)
_JUMP_REVERT_MINUTES = (2.0, 15.0)
_BLOCK = 4096


class MarketSimulator:
    """A seeded random price process with the features exits react to.

    Log price = a diffusion whose volatility follows a Markov chain over `REGIMES`, plus a slow
    trend whose sign flips at random (a few tenths of a percent to ~1 % an hour, a couple of hours
    long), plus occasional jumps of which a random part decays away again within minutes (spikes
    that wick through stops and partly come back). Working in log space keeps prices positive.

    Determinism: everything is drawn from one ``numpy.random.Generator(seed)`` in a fixed order,
    so a seed reproduces the path exactly. Normals and uniforms are drawn in blocks because scalar
    draws would dominate the cost of a tick.
    """

    def __init__(self, start_price: float, seed: int, interval_ms: int = 1000) -> None:
        if not (math.isfinite(start_price) and start_price > 0):
            raise ValueError(f"start_price must be positive, got {start_price}")
        if interval_ms <= 0:
            raise ValueError(f"interval_ms must be positive, got {interval_ms}")
        self._rng = np.random.default_rng(seed)
        self._dt_s = interval_ms / 1000.0
        self._log_base = math.log(start_price)
        self._overshoot = 0.0
        self._price = start_price  # exact at the start: exp(log(p)) need not round-trip
        self._decay = 1.0
        self._regime = 1
        self._trend = self._draw_trend(1.0 if self._rng.random() < 0.5 else -1.0)
        self._normals: list[float] = []
        self._uniforms: list[list[float]] = []
        self._cursor = _BLOCK

    @property
    def regime(self) -> Regime:
        return REGIMES[self._regime]

    @property
    def price(self) -> float:
        return self._price

    def _draw_trend(self, sign: float) -> float:
        pct_per_hour = float(self._rng.uniform(*_TREND_PCT_PER_HOUR))
        return sign * pct_per_hour / 100.0 / 3600.0

    def step(self) -> float:
        """Advance one interval and return the new mid price."""
        if self._cursor >= _BLOCK:
            self._normals = self._rng.standard_normal(_BLOCK).tolist()
            self._uniforms = self._rng.random((_BLOCK, 3)).tolist()
            self._cursor = 0
        z = self._normals[self._cursor]
        u_regime, u_trend, u_jump = self._uniforms[self._cursor]
        self._cursor += 1
        dt = self._dt_s

        if u_regime < dt / (REGIMES[self._regime].mean_minutes * 60.0):
            self._regime = int(self._rng.choice(len(REGIMES), p=_REGIME_EXITS[self._regime]))
        if u_trend < dt / (_TREND_MEAN_MINUTES * 60.0):
            self._trend = self._draw_trend(-1.0 if self._trend > 0 else 1.0)

        regime = REGIMES[self._regime]
        sigma = regime.annual_vol * math.sqrt(dt / SECONDS_PER_YEAR)
        self._log_base += self._trend * dt - 0.5 * sigma * sigma + sigma * z
        self._overshoot *= self._decay
        if u_jump < regime.jumps_per_hour * dt / 3600.0:
            sign = 1.0 if self._rng.random() < 0.5 else -1.0
            size = sign * float(self._rng.uniform(*_JUMP_PCT)) / 100.0 * regime.annual_vol / 0.9
            revert = float(self._rng.uniform(*_JUMP_REVERT_FRACTION))
            tau_s = float(self._rng.uniform(*_JUMP_REVERT_MINUTES)) * 60.0
            self._log_base += size * (1.0 - revert)
            self._overshoot += size * revert
            self._decay = math.exp(-dt / tau_s)
        self._price = math.exp(self._log_base + self._overshoot)
        return self._price

    def tick(self, symbol: str, ts_ms: int) -> Tick:
        """The current state as a tick with a regime-dependent bid/ask around the mid."""
        price = self.price
        half = REGIMES[self._regime].half_spread_bps / 1e4
        return Tick(
            symbol, ts_ms, price, bid=price * (1 - half), ask=price * (1 + half), source="simulated"
        )


def simulated_ticks(
    symbol: str, *, start_price: float, seed: int, start_ms: int, interval_ms: int = 1000
) -> Iterator[Tick]:
    """An endless simulated market (see `MarketSimulator`), one tick every `interval_ms`.

    The first tick is at `start_ms` at exactly `start_price`. Arguments are checked now, not on
    the first `next()`.
    """
    sim = MarketSimulator(start_price, seed, interval_ms)

    def run() -> Iterator[Tick]:
        ts = start_ms
        while True:
            yield sim.tick(symbol, ts)
            sim.step()
            ts += interval_ms

    return run()


# --------------------------------------------------------------------------- candles <-> ticks


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


class _CandleBook:
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


# --------------------------------------------------------------------------- the feed


@dataclass(eq=False)
class _Stream:
    """Per-symbol playback state. Only the consumer task and the control methods touch it."""

    symbol: str
    source: Iterator[Tick]
    book: _CandleBook
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    consuming: bool = False
    exhausted: bool = False
    error: str | None = None
    credits: int = 0
    released: int = 0
    acked: int = 0
    last_ts: int | None = None
    pending_ts: int | None = None
    anchor: tuple[float, float] | None = None
    """(monotonic wall time, market ms) from which the pending tick's due time is computed."""
    paused_market: float | None = None
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)

    async def sleep(self, delay: float | None) -> None:
        """Sleep `delay` seconds (None: indefinitely), waking early on any control change."""
        self.wake.clear()
        if delay is None:
            await self.wake.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self.wake.wait()

    def market_position(self, now: float, speed: float) -> float | None:
        """Where the paced market clock stands between the last and the pending tick."""
        if self.anchor is None:
            return None
        position = self.anchor[1] + (now - self.anchor[0]) * speed * 1000.0
        if self.pending_ts is not None:
            position = min(position, float(self.pending_ts))
        return position

    def settle(self, *, everything: bool = False) -> None:
        """Resolve the `step()` waiters whose ticks the consumer has taken (or all of them)."""
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, fut in self.waiters:
            if everything or self.acked >= target:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((target, fut))
        self.waiters = keep


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
        self._streams: dict[str, _Stream] = {}
        for symbol, ticks in ticks_by_symbol.items():
            book = _CandleBook(symbol, history.get(symbol, ()))
            book.reveal(start_ms)
            self._streams[symbol] = _Stream(symbol, iter(ticks), book)

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
            state, detail = FeedState.CONNECTED, "paused"
        else:
            state, detail = FeedState.CONNECTED, f"{self._label} {_speed_text(self._speed)}"
        return FeedStatus(state, detail, age_s=None, simulated=self._simulated)

    def _stream(self, symbol: str) -> _Stream:
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

    async def _play(self, stream: _Stream) -> AsyncIterator[Tick]:
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

    async def _wait_turn(self, stream: _Stream, ts_ms: int) -> bool:
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
    if start_ms is None:
        now_ms = time.time_ns() // 1_000_000
        start_ms = now_ms - now_ms % MINUTE_MS
    if start_ms % MINUTE_MS:
        raise ValueError(f"start_ms {start_ms} is not on a minute boundary")
    if warmup_minutes < 0:
        raise ValueError(f"warmup_minutes must be >= 0, got {warmup_minutes}")
    warmup_ticks = warmup_minutes * MINUTE_MS // interval_ms if interval_ms > 0 else 0
    stream = simulated_ticks(
        symbol,
        start_price=start_price,
        seed=seed,
        start_ms=start_ms - warmup_ticks * interval_ms,
        interval_ms=interval_ms,
    )
    raw_warmup = [next(stream) for _ in range(warmup_ticks)]
    first_live = next(stream)
    # The process is multiplicative, so scaling the whole path is another path of the same
    # process: scale it so the first live tick is exactly `start_price` (a demo resumes there).
    factor = start_price / first_live.price
    warmup = [_scaled(t, factor) for t in raw_warmup]
    live = (_scaled(t, factor) for t in itertools.chain([first_live], stream))
    return ReplayFeed(
        {symbol: live},
        speed=speed,
        simulated=True,
        label="simulated",
        candle_history={symbol: aggregate_ticks(warmup, "1m")},
        paused=paused,
    )


def _scaled(tick: Tick, factor: float) -> Tick:
    return Tick(
        tick.symbol,
        tick.ts_ms,
        tick.price * factor,
        bid=None if tick.bid is None else tick.bid * factor,
        ask=None if tick.ask is None else tick.ask * factor,
        source=tick.source,
    )


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
    return ReplayFeed(
        {symbol: candle_ticks(bars)},
        speed=speed,
        simulated=True,
        label="replay",
        candle_history={symbol: bars},
        start_ms=bars[0].ts_ms,
        paused=paused,
    )
