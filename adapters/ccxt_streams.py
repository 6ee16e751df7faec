"""The connection side of the live feed (adapters/ccxt_feed.py): the ccxt.pro exchange, one loop
per websocket stream retried with backoff, the watchdog, and frames ccxt cannot handle skipped
(`CcxtStreams`, the middle layer of `CcxtFeed`). The facts this is built around are in
adapters/ccxt_feed.py's docstring.

ccxt is imported here only, in `_open_exchange`, in a worker thread when the feed starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.backoff import Backoff
from adapters.ccxt_exchange import describe_error, point_at
from adapters.ccxt_market import CANDLE_TIMEFRAME, CcxtMarketData, SymbolState
from cockpit.config import FeedConfig

__all__ = ["CcxtStreams", "StreamState"]

log = logging.getLogger("adapters.ccxt_feed")
"""The feed's logger name from before the split, kept: the log file shows it."""


@dataclass(eq=False)
class StreamState:
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


class CcxtStreams(CcxtMarketData):
    """The exchange and its streams: started on first use, each stream in its own loop.

    `exchange_factory` replaces the ccxt.pro lookup by id; `clock` is the monotonic clock for
    ages and the watchdog (see `CcxtFeed`).
    """

    def __init__(
        self,
        config: FeedConfig,
        *,
        symbols: Sequence[str] | None = None,
        exchange_factory: Callable[[dict[str, Any]], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, symbols=symbols, clock=clock)
        self._factory = exchange_factory
        self._streams: list[StreamState] = []
        for state in self._symbols.values():
            names = ["trades"] if self.trigger == "last" else []
            names += [*self.profile.quotes, "candles"]
            self._streams += [
                StreamState(name, state.symbol, self._new_backoff()) for name in names
            ]
        self._errors: Any = None
        self._ready = asyncio.Event()
        self._fatal: str | None = None
        self._phase = "starting"
        self._supervisor: asyncio.Task[None] | None = None
        self._started_at: float | None = None
        self._closed = False
        self.garbage_frames = 0
        self.forced_reconnects = 0

    def _new_backoff(self) -> Backoff:
        return Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)

    def price_age_s(self, symbol: str) -> float | None:
        """Seconds since the last price of `symbol` arrived (since start before the first)."""
        state = self._state(symbol)
        since = state.last_price_at if state.last_price_at is not None else self._started_at
        return None if since is None else max(0.0, self._clock() - since)

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

    def _wire(self, stream: StreamState) -> None:
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
        sweeps: dict[str, Callable[[SymbolState], None]] = {
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

    async def _run_stream(self, stream: StreamState) -> None:
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

    def _failed(self, stream: StreamState, exc: Exception) -> float:
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

    def _succeeded(self, stream: StreamState) -> None:
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
