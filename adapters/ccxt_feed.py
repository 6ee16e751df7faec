"""Live mainnet data through ccxt.pro: the feed behind SHADOW mode (docs/feeds.md).

One ccxt.pro exchange, several websocket streams per symbol, each in its own loop:

- the price the exit engine acts on: the mark price where the exchange streams it (what venues
  trigger stops on, DESIGN.md section 2), else trades (`FeedConfig.trigger` chooses);
- the book (best bid/ask) for paper fills, the mark price and the funding rate;
- the exchange's own 1m klines, closed on timestamp rollover (`CandleCloser`) and handed to the
  candle recorder through `closed_candles()`.

Facts this module is built around (DESIGN.md section 5):

- ccxt does not reconnect by itself: a watch raises NetworkError and the *next* watch opens a new
  socket. Each loop therefore retries with exponential backoff (cap, jitter, reset on the first
  message after a success); after `down_after_failures` failures in a row the feed shows
  `down` with the error, and keeps retrying.
- a dead socket is noticed late (Binance's keep-alive ping is every 3 minutes), so the feed has
  its own watchdog: no price for `stale_after_s` makes the status `stale`, none for
  `reconnect_after_s` fails the sockets on purpose so the loops reconnect.
- a frame ccxt cannot handle must not end ccxt's receive loop silently: each websocket client's
  message handler is wrapped so such a frame is logged, counted and skipped.
- `close()` always awaits ``exchange.close()``, whatever state the feed is in.

Importing ccxt costs a second or more (much more without cached bytecode), so it happens here
only, in a worker thread, when the live feed starts: the demo never imports it, and the
dashboard stays responsive while it loads.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from adapters.backoff import Backoff
from adapters.base import ClosedBar, FundingInfo
from adapters.candle_builder import CandleCloser, TradeFilter
from cockpit.config import FeedConfig
from cockpit.domain import Candle, FeedState, FeedStatus, Tick

__all__ = ["PROFILES", "CcxtFeed", "ExchangeProfile", "describe_error", "point_at"]

log = logging.getLogger(__name__)

T = TypeVar("T")

CANDLE_TIMEFRAME = "1m"
QUEUE_LIMIT = 10_000
"""Ticks kept for a slow consumer; beyond that the oldest go (a live feed is about now)."""
MARK_REPEAT_MS = 1_000
"""A ticker stream repeats an unchanged mark price with every book change; one tick a second
of an unchanged mark is plenty."""
ERROR_TEXT_LIMIT = 160


@dataclass(frozen=True, slots=True)
class ExchangeProfile:
    """How one exchange's ccxt.pro streams map onto prices, book, mark and funding.

    `options` restrict ccxt to the endpoints we know (and fake in tests): only linear perps are
    loaded, no currency or time-difference requests. `quotes` name the streams that carry the
    book, the mark price and the funding rate: ``bids_asks`` and ``mark_price`` (Binance's
    bookTicker and markPrice streams), or ``ticker`` (Bybit's tickers stream has them all).
    """

    options: Mapping[str, Any]
    quotes: tuple[str, ...]
    has_mark: bool
    trade_params: Mapping[str, Any] = field(default_factory=dict)


_LINEAR_ONLY: Mapping[str, Any] = {
    "defaultType": "swap",
    "fetchMarkets": {"types": ["linear"]},
    "fetchCurrencies": False,
    "adjustForTimeDifference": False,
}

PROFILES: Mapping[str, ExchangeProfile] = {
    "binanceusdm": ExchangeProfile(
        options=_LINEAR_ONLY,
        quotes=("bids_asks", "mark_price"),
        has_mark=True,
        trade_params={"name": "aggTrade"},
    ),
    "bybit": ExchangeProfile(options=_LINEAR_ONLY, quotes=("ticker",), has_mark=True),
}
FALLBACK_PROFILE = ExchangeProfile(
    options={"defaultType": "swap"}, quotes=("ticker",), has_mark=False
)


def point_at(urls: Any, origin: str) -> Any:
    """`urls` (ccxt's nested ``urls['api']``) with every scheme://host replaced by `origin`.

    HTTP(S) URLs get `origin`, websocket URLs its ws:// (wss://) twin; paths are kept, so a fake
    or relay sees exactly the paths the exchange would.
    """
    if isinstance(urls, dict):
        return {key: point_at(value, origin) for key, value in urls.items()}
    if isinstance(urls, list):
        return [point_at(value, origin) for value in urls]
    if isinstance(urls, str):
        match = re.match(r"^(https?|wss?)://[^/]+", urls)
        if match is not None:
            target = origin
            if match.group(1).startswith("ws"):
                target = "ws" + origin.removeprefix("http")
            return target + urls[match.end() :]
    return urls


def describe_error(exc: BaseException) -> str:
    """One line for the header and the log: the error's class, its message and, when ccxt
    wrapped a lower-level error (connection refused, DNS, TLS), that cause."""
    text = " ".join(str(exc).split()) or "(no message)"
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({' '.join(str(cause).split())})"
    if len(text) > ERROR_TEXT_LIMIT:
        text = text[: ERROR_TEXT_LIMIT - 3] + "..."
    return f"{type(exc).__name__}: {text}"


def _number(value: object) -> float | None:
    """A finite positive float, or None (ccxt gives None or strings for missing fields)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _integer(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


@dataclass(eq=False)
class _Stream:
    """One websocket subscription loop and its health."""

    name: str
    symbol: str
    backoff: Backoff
    watch: Callable[[], Awaitable[Any]] | None = None
    handle: Callable[[Any], None] | None = None
    sweep: Callable[[], None] | None = None
    failures: int = 0
    error: str | None = None
    retry_at: float | None = None
    live: bool = False
    messages: int = 0
    reconnects: int = 0


@dataclass(eq=False)
class _Symbol:
    """Everything the feed knows about one symbol."""

    symbol: str
    queue: asyncio.Queue[Tick | None]
    bars: asyncio.Queue[ClosedBar | None]
    closer: CandleCloser
    trades: TradeFilter = field(default_factory=TradeFilter)
    bid: float | None = None
    ask: float | None = None
    book_ts: int | None = None
    book_at: float | None = None
    last_trade: tuple[float, int] | None = None
    mark: float | None = None
    mark_tick_ts: int | None = None
    seen: dict[str, object] = field(default_factory=dict)
    """The newest cache object taken per stream (trade dict, ticker dict), by identity."""
    funding: FundingInfo | None = None
    last_tick: Tick | None = None
    last_price_at: float | None = None
    forced_at: float = 0.0
    consuming_ticks: bool = False
    consuming_bars: bool = False
    dropped: int = 0


class CcxtFeed:
    """A `MarketFeed` (plus `LiveFeed`, `ClosedCandleFeed`, `FundingFeed`) on ccxt.pro.

    Streams start with the first consumer (`ticks()`, `closed_candles()`) or REST call
    (`candles()`); `close()` stops them and closes the exchange. `exchange_factory` replaces the
    ccxt.pro lookup by id (a test can hand in any ccxt.pro class instance); `clock` is the
    monotonic clock for ages and the watchdog.
    """

    def __init__(
        self,
        config: FeedConfig,
        *,
        symbols: Sequence[str] | None = None,
        exchange_factory: Callable[[dict[str, Any]], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.exchange_id = config.exchange
        self.profile = PROFILES.get(config.exchange, FALLBACK_PROFILE)
        self.trigger = config.trigger if self.profile.has_mark else "last"
        self._factory = exchange_factory
        self._clock = clock
        self._symbols: dict[str, _Symbol] = {}
        for symbol in symbols or [config.symbol]:
            self._symbols[symbol] = _Symbol(
                symbol,
                asyncio.Queue(QUEUE_LIMIT),
                asyncio.Queue(QUEUE_LIMIT),
                CandleCloser(symbol, CANDLE_TIMEFRAME),
            )
        self._streams: list[_Stream] = []
        for state in self._symbols.values():
            names = ["trades"] if self.trigger == "last" else []
            names += [*self.profile.quotes, "candles"]
            self._streams += [_Stream(name, state.symbol, self._new_backoff()) for name in names]
        self._exchange: Any = None
        self._errors: Any = None
        self._ready = asyncio.Event()
        self._fatal: str | None = None
        self._phase = "starting"
        self._supervisor: asyncio.Task[None] | None = None
        self._started_at: float | None = None
        self._closed = False
        self.garbage_frames = 0
        self.bad_messages = 0
        self.forced_reconnects = 0

    def _new_backoff(self) -> Backoff:
        return Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)

    # ----------------------------------------------------------------- introspection
    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @property
    def stale_after_s(self) -> float:
        return self.config.stale_after_s

    @property
    def candle_timeframe(self) -> str:
        return CANDLE_TIMEFRAME

    @property
    def exchange(self) -> Any:
        """The ccxt.pro exchange once created (None before): for tests and diagnostics."""
        return self._exchange

    @property
    def closed(self) -> bool:
        return self._closed

    def funding(self, symbol: str) -> FundingInfo | None:
        return self._state(symbol).funding

    def last_tick(self, symbol: str) -> Tick | None:
        return self._state(symbol).last_tick

    def price_age_s(self, symbol: str) -> float | None:
        """Seconds since the last price of `symbol` arrived (since start before the first)."""
        state = self._state(symbol)
        since = state.last_price_at if state.last_price_at is not None else self._started_at
        return None if since is None else max(0.0, self._clock() - since)

    def stats(self) -> dict[str, Any]:
        """Counters for tests and the log: what was dropped, repaired or retried."""
        return {
            "garbage_frames": self.garbage_frames,
            "bad_messages": self.bad_messages,
            "forced_reconnects": self.forced_reconnects,
            "streams": {
                f"{s.symbol} {s.name}": {
                    "messages": s.messages,
                    "reconnects": s.reconnects,
                    "failures": s.failures,
                    "error": s.error,
                }
                for s in self._streams
            },
            "symbols": {
                st.symbol: {
                    "duplicate_trades": st.trades.duplicates,
                    "late_trades": st.trades.late,
                    "ignored_bar_updates": st.closer.ignored,
                    "dropped_ticks": st.dropped,
                }
                for st in self._symbols.values()
            },
        }

    @property
    def status(self) -> FeedStatus:
        """connected / stale (age) / reconnecting (error, next retry) / down (error)."""
        ages = [self.price_age_s(s) for s in self._symbols]
        known = [a for a in ages if a is not None]
        age = max(known) if known else None
        if self._closed:
            return FeedStatus(FeedState.DOWN, f"{self.exchange_id} closed", age)
        if self._fatal is not None:
            return FeedStatus(FeedState.DOWN, self._fatal, age)
        now = self._clock()
        failing = [s for s in self._streams if s.error is not None]
        if failing:
            down = any(s.failures >= self.config.down_after_failures for s in failing)
            by_error: dict[str, list[_Stream]] = {}
            for s in failing:
                by_error.setdefault(s.error or "", []).append(s)
            parts = []
            everything = len(failing) == len(self._streams) and len(by_error) == 1
            for error, streams in by_error.items():
                names = "" if everything else ", ".join(s.name for s in streams) + ": "
                attempt = max(s.failures for s in streams)
                wait = max(0.0, min((s.retry_at or now) for s in streams) - now)
                parts.append(f"{names}{error} (attempt {attempt}, retry in {wait:.0f}s)")
            state = FeedState.DOWN if down else FeedState.RECONNECTING
            return FeedStatus(state, "; ".join(parts), age)
        if any(st.last_price_at is None for st in self._symbols.values()):
            return FeedStatus(FeedState.RECONNECTING, f"{self._phase} {self.exchange_id}", age)
        if age is not None and age > self.config.stale_after_s:
            return FeedStatus(
                FeedState.STALE,
                f"no price for {age:.0f}s: no automatic exits on stale prices",
                age,
            )
        return FeedStatus(FeedState.CONNECTED, f"{self.exchange_id} {self.trigger} price", age)

    def _state(self, symbol: str) -> _Symbol:
        try:
            return self._symbols[symbol]
        except KeyError:
            raise ValueError(
                f"unknown symbol {symbol!r}: this feed has {', '.join(self._symbols)}"
            ) from None

    # ----------------------------------------------------------------- MarketFeed
    def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        """Ticks of `symbol` as they arrive; ends only when the feed is closed."""
        state = self._state(symbol)
        return self._drain(state, state.queue, "consuming_ticks")

    def closed_candles(self, symbol: str) -> AsyncIterator[ClosedBar]:
        """Each exchange 1m bar once, when the next one has started; ends on close."""
        state = self._state(symbol)
        return self._drain(state, state.bars, "consuming_bars")

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        """Bars from the exchange's REST history (``fetch_ohlcv``); the last one may be forming.

        Raises whatever ccxt raises (NetworkError and friends): callers decide what a missing
        history means (the session enters without ATR, the recorder retries later).
        """
        self._state(symbol)
        exchange = await self._ready_exchange()
        rows = await exchange.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        candles = []
        for row in rows:
            values = [_number(v) for v in row[1:5]]
            ts = _integer(row[0])
            if ts is None or any(v is None for v in values):
                self.bad_messages += 1
                continue
            o, h, lo, c = (float(v) for v in values if v is not None)
            volume = float(row[5]) if len(row) > 5 and row[5] is not None else 0.0
            candles.append(Candle(symbol, timeframe, ts, o, h, lo, c, volume))
        return candles

    async def close(self) -> None:
        """Stop every stream, end the iterators, and always close the exchange."""
        self._closed = True
        try:
            supervisor = self._supervisor
            if supervisor is not None and not supervisor.done():
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await supervisor
        finally:
            for state in self._symbols.values():
                _put(state.queue, None)
                _put(state.bars, None)
            exchange, self._exchange = self._exchange, None
            if exchange is not None:
                try:
                    await exchange.close()
                except Exception as exc:
                    log.warning("closing %s failed: %s", self.exchange_id, describe_error(exc))

    async def _drain(
        self, state: _Symbol, queue: asyncio.Queue[T | None], flag: str
    ) -> AsyncIterator[T]:
        if getattr(state, flag):
            raise RuntimeError(f"{state.symbol} already has a consumer")
        setattr(state, flag, True)
        try:
            self._ensure_started()
            while not (self._closed and queue.empty()):
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            setattr(state, flag, False)

    # ----------------------------------------------------------------- running
    def _ensure_started(self) -> None:
        if self._supervisor is None and not self._closed:
            self._started_at = self._clock()
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name=f"ccxt-feed:{self.exchange_id}"
            )

    async def _ready_exchange(self) -> Any:
        if self._closed:
            raise RuntimeError(f"the {self.exchange_id} feed is closed")
        self._ensure_started()
        await self._ready.wait()
        if self._exchange is None:
            raise RuntimeError(self._fatal or f"the {self.exchange_id} feed is closed")
        return self._exchange

    async def _supervise(self) -> None:
        try:
            await self._open_exchange()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fatal = f"cannot start {self.exchange_id}: {describe_error(exc)}"
            log.error("%s", self._fatal)
            return
        finally:
            self._ready.set()
        self._phase = "waiting for the first price from"
        for stream in self._streams:
            self._wire(stream)
        tasks = [
            asyncio.create_task(self._run_stream(s), name=f"ccxt:{s.symbol}:{s.name}")
            for s in self._streams
        ]
        tasks.append(asyncio.create_task(self._watchdog(), name="ccxt:watchdog"))
        try:
            await asyncio.gather(*tasks)
        except Exception as exc:  # a bug, not a network fault: say so instead of going quiet
            self._fatal = f"{self.exchange_id} feed stopped: {describe_error(exc)}"
            log.exception("%s", self._fatal)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _open_exchange(self) -> None:
        self._phase = "loading ccxt for"
        options = {
            "enableRateLimit": True,
            "timeout": int(self.config.request_timeout_s * 1000),
            "options": dict(self.profile.options),
        }
        if self._factory is not None:
            exchange = self._factory(options)
            self._errors = importlib.import_module("ccxt")
        else:
            pro = await asyncio.to_thread(importlib.import_module, "ccxt.pro")
            self._errors = importlib.import_module("ccxt")
            cls = getattr(pro, self.exchange_id, None)
            if not isinstance(cls, type):
                raise ValueError(f"ccxt.pro has no exchange {self.exchange_id!r}")
            exchange = cls(options)
        self._exchange = exchange
        if self.config.origin is not None:
            exchange.urls["api"] = point_at(exchange.urls["api"], self.config.origin)
        self._guard_frames(exchange)
        self._phase = "connecting to"

    def _guard_frames(self, exchange: Any) -> None:
        """Make every ccxt websocket client skip a frame it cannot decode or handle.

        ccxt handles each frame inside a callback of its receive loop; an exception there (a
        truncated JSON frame, a frame of an unexpected shape) ends the loop silently and the
        socket goes deaf. Wrapping each client's ``handle_message`` logs, counts and skips such
        a frame instead; the watchdog remains the safety net for anything else.
        """
        make_client = exchange.client

        def client(url: str) -> Any:
            made = make_client(url)
            if not getattr(made, "_cockpit_guarded", False):
                handle = made.handle_message

                def guarded(message: Any) -> Any:
                    try:
                        return handle(message)
                    except Exception as exc:
                        self.garbage_frames += 1
                        log.warning(
                            "%s: skipped a frame that could not be handled (%s): %.80r",
                            self.exchange_id,
                            describe_error(exc),
                            getattr(message, "data", message),
                        )
                        return None

                made.handle_message = guarded
                made._cockpit_guarded = True
            return made

        exchange.client = client

    def _wire(self, stream: _Stream) -> None:
        """Bind a stream to its ccxt watch call and to the sweep of the cache it fills.

        What a watch returns is only a wake-up call: ccxt resolves a watch with the first of
        several frames that arrive together and keeps the rest in its caches until the *next*
        frame. Reading the caches (``exchange.trades``, ``ohlcvs``, ``tickers``, ``bidsasks``)
        after every wake-up and on every watchdog round takes those frames at once; the sweeps
        are idempotent (by object identity, trade id and bar time).
        """
        ex = self._exchange
        state = self._symbols[stream.symbol]
        symbol = stream.symbol
        trade_params = dict(self.profile.trade_params)
        watches: dict[str, Callable[[], Awaitable[Any]]] = {
            "trades": lambda: ex.watch_trades(symbol, None, None, dict(trade_params)),
            "candles": lambda: ex.watch_ohlcv(symbol, CANDLE_TIMEFRAME, None, None, {}),
            "bids_asks": lambda: ex.watch_bids_asks([symbol], {}),
            "mark_price": lambda: ex.watch_mark_price(symbol, {}),
            "ticker": lambda: ex.watch_ticker(symbol, {}),
        }
        sweeps: dict[str, Callable[[_Symbol], None]] = {
            "trades": self._sweep_trades,
            "candles": self._sweep_klines,
            "bids_asks": self._sweep_book,
            "mark_price": self._sweep_mark,
            "ticker": self._sweep_ticker,
        }
        sweep = sweeps[stream.name]
        stream.watch = watches[stream.name]
        stream.handle = lambda _data: sweep(state)
        stream.sweep = lambda: sweep(state)

    async def _run_stream(self, stream: _Stream) -> None:
        """Watch forever: data is handled, an error backs off and the next watch reconnects."""
        assert stream.watch is not None and stream.handle is not None
        while not self._closed:
            watch = asyncio.ensure_future(stream.watch())
            try:
                if stream.error is not None:
                    # after a failure: a socket that stays up for `stale_after_s` is healthy
                    # again even if this stream is quiet (the price age says the rest)
                    done, _ = await asyncio.wait({watch}, timeout=self.config.stale_after_s)
                    if not done:
                        stream.error = None
                        stream.retry_at = None
                data = await watch
            except asyncio.CancelledError:
                watch.cancel()
                raise
            except Exception as exc:
                await asyncio.sleep(self._failed(stream, exc))
                continue
            self._succeeded(stream)
            try:
                stream.handle(data)
            except Exception as exc:  # one malformed message must not stop the stream
                self.bad_messages += 1
                log.warning("%s %s: bad message skipped: %s", self.exchange_id, stream.name, exc)

    def _failed(self, stream: _Stream, exc: Exception) -> float:
        delay = stream.backoff.next_delay()
        stream.failures = stream.backoff.failures
        stream.error = describe_error(exc)
        stream.retry_at = self._clock() + delay
        stream.live = False
        if stream.name == "candles":
            self._symbols[stream.symbol].closer.interrupted()
        level = logging.WARNING if stream.failures == 1 else logging.INFO
        log.log(
            level,
            "%s %s %s failed (attempt %d), retry in %.2fs: %s",
            self.exchange_id,
            stream.symbol,
            stream.name,
            stream.failures,
            delay,
            stream.error,
        )
        return delay

    def _succeeded(self, stream: _Stream) -> None:
        stream.messages += 1
        if stream.live:
            return
        if stream.failures:
            stream.reconnects += 1
            log.info(
                "%s %s %s back after %d failed attempts",
                self.exchange_id,
                stream.symbol,
                stream.name,
                stream.failures,
            )
        stream.backoff.reset()
        stream.failures = 0
        stream.error = None
        stream.retry_at = None
        stream.live = True

    async def _watchdog(self) -> None:
        """Fail the sockets when no price came for `reconnect_after_s`: ccxt would wait for its
        next keep-alive ping (minutes on Binance) to notice a dead connection."""
        period = min(0.5, self.config.stale_after_s / 4)
        limit = self.config.reconnect_after_s
        while not self._closed:
            await asyncio.sleep(period)
            for stream in self._streams:
                if stream.sweep is not None:
                    try:
                        stream.sweep()
                    except Exception as exc:
                        self.bad_messages += 1
                        log.warning("%s %s: sweep failed: %s", self.exchange_id, stream.name, exc)
            now = self._clock()
            for state in self._symbols.values():
                age = self.price_age_s(state.symbol)
                if age is None or age < limit or now - state.forced_at < limit:
                    continue
                state.forced_at = now
                self._force_reconnect(f"no price for {state.symbol} for {age:.0f}s")

    def _force_reconnect(self, why: str) -> None:
        exchange = self._exchange
        clients = list((getattr(exchange, "clients", None) or {}).values())
        if not clients:
            return
        self.forced_reconnects += 1
        log.warning("%s: %s; dropping %d sockets to reconnect", self.exchange_id, why, len(clients))
        error = self._errors.RequestTimeout(f"{why}; reconnecting")
        for client in clients:
            with contextlib.suppress(Exception):
                client.on_error(error)

    # ----------------------------------------------------------------- sweeps
    def _cache(self, name: str, symbol: str) -> Any:
        caches = getattr(self._exchange, name, None)
        return caches.get(symbol) if caches else None

    def _sweep_trades(self, state: _Symbol) -> None:
        """Every trade appended to ccxt's cache since the last sweep, oldest first."""
        cache = self._cache("trades", state.symbol)
        if not cache:
            return
        newest = state.seen.get("trades")
        fresh = []
        for trade in reversed(cache):
            if trade is newest:
                break
            fresh.append(trade)
        if fresh:
            state.seen["trades"] = fresh[0]
            self._on_trades(state, reversed(fresh))

    def _sweep_klines(self, state: _Symbol) -> None:
        """The newest bars in ccxt's cache; the closer ignores what it has already seen."""
        cache = (self._cache("ohlcvs", state.symbol) or {}).get(CANDLE_TIMEFRAME)
        if not cache:
            return
        floor = state.closer.last_closed_ts
        rows = [row for row in cache[-3:] if floor is None or (row and row[0] > floor)]
        self._on_klines(state, rows)

    def _sweep_book(self, state: _Symbol) -> None:
        ticker = self._cache("bidsasks", state.symbol)
        if ticker is not None and ticker is not state.seen.get("book"):
            state.seen["book"] = ticker
            self._on_book(state, ticker)

    def _sweep_mark(self, state: _Symbol) -> None:
        ticker = self._cache("tickers", state.symbol)
        if ticker is not None and ticker is not state.seen.get("mark"):
            state.seen["mark"] = ticker
            self._on_mark(state, ticker)

    def _sweep_ticker(self, state: _Symbol) -> None:
        ticker = self._cache("tickers", state.symbol)
        if ticker is not None and ticker is not state.seen.get("ticker"):
            state.seen["ticker"] = ticker
            self._on_ticker(state, ticker)

    # ----------------------------------------------------------------- handlers
    def _on_trades(self, state: _Symbol, trades: Any) -> None:
        for trade in trades or ():
            price = _number(trade.get("price"))
            ts = _integer(trade.get("timestamp"))
            if price is None or ts is None:
                self.bad_messages += 1
                continue
            trade_id = trade.get("id")
            if not state.trades.accept(None if trade_id is None else str(trade_id), ts):
                continue
            state.last_trade = (price, ts)
            if self.trigger == "last":
                self._emit(state, price, ts, "last")

    def _on_klines(self, state: _Symbol, rows: Any) -> None:
        for row in rows or ():
            ts = _integer(row[0]) if row else None
            values = [_number(v) for v in row[1:5]] if row else []
            if ts is None or len(values) != 4 or any(v is None for v in values):
                self.bad_messages += 1
                continue
            o, h, lo, c = (float(v) for v in values if v is not None)
            volume = float(row[5]) if len(row) > 5 and row[5] is not None else 0.0
            closed = state.closer.update(
                Candle(state.symbol, CANDLE_TIMEFRAME, ts, o, h, lo, c, volume)
            )
            if closed is not None:
                _put(state.bars, closed)

    def _on_book(self, state: _Symbol, ticker: Any) -> None:
        if not ticker:
            return
        bid, ask = _number(ticker.get("bid")), _number(ticker.get("ask"))
        if bid is None or ask is None or bid > ask:
            self.bad_messages += 1
            return
        state.bid, state.ask = bid, ask
        state.book_ts = _integer(ticker.get("timestamp"))
        state.book_at = self._clock()

    def _on_mark(self, state: _Symbol, ticker: Any) -> None:
        if not ticker:
            return
        info = ticker.get("info") or {}
        ts = _integer(ticker.get("timestamp"))
        self._on_funding(state, info.get("r"), info.get("T"), ts)
        mark = _number(ticker.get("markPrice"))
        if mark is None or ts is None:
            self.bad_messages += 1
            return
        state.mark = mark
        if self.trigger == "mark":
            state.mark_tick_ts = ts
            self._emit(state, mark, ts, "mark")

    def _on_ticker(self, state: _Symbol, ticker: Any) -> None:
        if not ticker:
            return
        info = ticker.get("info") or {}
        ts = _integer(ticker.get("timestamp"))
        if _number(ticker.get("bid")) is not None and _number(ticker.get("ask")) is not None:
            self._on_book(state, ticker)
        self._on_funding(state, info.get("fundingRate"), info.get("nextFundingTime"), ts)
        mark = _number(ticker.get("markPrice"))
        if mark is None or ts is None or self.trigger != "mark":
            if mark is not None:
                state.mark = mark
            return
        repeat = state.mark_tick_ts is not None and ts - state.mark_tick_ts < MARK_REPEAT_MS
        if mark == state.mark and repeat:
            return
        if state.mark_tick_ts is not None and ts < state.mark_tick_ts:
            return  # an older ticker than the last mark taken
        state.mark = mark
        state.mark_tick_ts = ts
        self._emit(state, mark, ts, "mark")

    def _on_funding(self, state: _Symbol, rate: object, next_ms: object, ts: int | None) -> None:
        if rate is None or next_ms is None:
            return
        try:
            value = float(rate)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        when = _integer(next_ms)
        if not math.isfinite(value) or when is None:
            return
        state.funding = FundingInfo(state.symbol, value, when, ts or 0)

    def _emit(self, state: _Symbol, price: float, ts: int, source: str) -> None:
        bid, ask = self._book(state)
        tick = Tick(state.symbol, ts, price, bid=bid, ask=ask, source=source)
        state.last_tick = tick
        state.last_price_at = self._clock()
        if _put(state.queue, tick):
            state.dropped += 1

    def _book(self, state: _Symbol) -> tuple[float | None, float | None]:
        """Best bid/ask for a fill now, never better than a trade printed after the book.

        A book older than `book_max_age_s` is not used (paper fills then cross an assumed
        half spread around the price). If a trade printed after the last book update, the book
        is widened to include that trade: when the price gapped through the book, a market
        order fills no better than where the market actually traded.
        """
        if state.bid is None or state.ask is None or state.book_at is None:
            return None, None
        if self._clock() - state.book_at > self.config.book_max_age_s:
            return None, None
        bid, ask = state.bid, state.ask
        if state.last_trade is not None:
            price, ts = state.last_trade
            if state.book_ts is None or ts >= state.book_ts:
                bid, ask = min(bid, price), max(ask, price)
        return bid, ask


def _put(queue: asyncio.Queue[Any], item: Any) -> bool:
    """Put without blocking; when full, drop the oldest item (returns True if one was dropped)."""
    dropped = False
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
            dropped = True
    queue.put_nowait(item)
    return dropped
