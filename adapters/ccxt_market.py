"""The data side of the live feed (adapters/ccxt_feed.py): what the feed knows about each
symbol (`SymbolState`) and how ccxt's caches become ticks, closed bars, the book and funding
(`CcxtMarketData`, the base class of `CcxtStreams` and `CcxtFeed`).

Why the caches are swept rather than the watch results taken: `CcxtStreams._wire`
(adapters/ccxt_streams.py). Nothing here imports ccxt or talks to the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.base import ClosedBar, FundingInfo
from adapters.candle_builder import CandleCloser, TradeFilter
from adapters.ccxt_exchange import FALLBACK_PROFILE, PROFILES, integer, number
from cockpit.config import FeedConfig
from cockpit.domain import Candle, Tick

__all__ = [
    "CANDLE_TIMEFRAME",
    "MARK_REPEAT_MS",
    "QUEUE_LIMIT",
    "CcxtMarketData",
    "SymbolState",
    "put_latest",
]

CANDLE_TIMEFRAME = "1m"
QUEUE_LIMIT = 10_000
"""Ticks kept for a slow consumer; beyond that the oldest go (a live feed is about now)."""
MARK_REPEAT_MS = 1_000
"""A ticker stream repeats an unchanged mark price with every book change; one tick a second
of an unchanged mark is plenty."""


@dataclass(eq=False)
class SymbolState:
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


def put_latest(queue: asyncio.Queue[Any], item: Any) -> bool:
    """Put without blocking; when full, drop the oldest item (returns True if one was dropped)."""
    dropped = False
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
            dropped = True
    queue.put_nowait(item)
    return dropped


class CcxtMarketData:
    """The symbols' state and the sweeps and handlers that fill it from ccxt's caches.

    The first layer of `CcxtFeed`: `CcxtStreams` (adapters/ccxt_streams.py) adds the exchange
    and the websocket loops that call the sweeps, `CcxtFeed` the public feed API on top.
    """

    def __init__(
        self,
        config: FeedConfig,
        *,
        symbols: Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.exchange_id = config.exchange
        self.profile = PROFILES.get(config.exchange, FALLBACK_PROFILE)
        self.trigger = config.trigger if self.profile.has_mark else "last"
        self._clock = clock
        self._symbols: dict[str, SymbolState] = {}
        for symbol in symbols or [config.symbol]:
            self._symbols[symbol] = SymbolState(
                symbol,
                asyncio.Queue(QUEUE_LIMIT),
                asyncio.Queue(QUEUE_LIMIT),
                CandleCloser(symbol, CANDLE_TIMEFRAME),
            )
        self._exchange: Any = None
        self.bad_messages = 0

    def _state(self, symbol: str) -> SymbolState:
        try:
            return self._symbols[symbol]
        except KeyError:
            raise ValueError(
                f"unknown symbol {symbol!r}: this feed has {', '.join(self._symbols)}"
            ) from None

    # ----------------------------------------------------------------- sweeps
    def _cache(self, name: str, symbol: str) -> Any:
        caches = getattr(self._exchange, name, None)
        return caches.get(symbol) if caches else None

    def _sweep_trades(self, state: SymbolState) -> None:
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

    def _sweep_klines(self, state: SymbolState) -> None:
        """The newest bars in ccxt's cache; the closer ignores what it has already seen."""
        cache = (self._cache("ohlcvs", state.symbol) or {}).get(CANDLE_TIMEFRAME)
        if not cache:
            return
        floor = state.closer.last_closed_ts
        rows = [row for row in cache[-3:] if floor is None or (row and row[0] > floor)]
        self._on_klines(state, rows)

    def _sweep_book(self, state: SymbolState) -> None:
        ticker = self._cache("bidsasks", state.symbol)
        if ticker is not None and ticker is not state.seen.get("book"):
            state.seen["book"] = ticker
            self._on_book(state, ticker)

    def _sweep_mark(self, state: SymbolState) -> None:
        ticker = self._cache("tickers", state.symbol)
        if ticker is not None and ticker is not state.seen.get("mark"):
            state.seen["mark"] = ticker
            self._on_mark(state, ticker)

    def _sweep_ticker(self, state: SymbolState) -> None:
        ticker = self._cache("tickers", state.symbol)
        if ticker is not None and ticker is not state.seen.get("ticker"):
            state.seen["ticker"] = ticker
            self._on_ticker(state, ticker)

    # ----------------------------------------------------------------- handlers
    def _on_trades(self, state: SymbolState, trades: Any) -> None:
        for trade in trades or ():
            price = number(trade.get("price"))
            ts = integer(trade.get("timestamp"))
            if price is None or ts is None:
                self.bad_messages += 1
                continue
            trade_id = trade.get("id")
            if not state.trades.accept(None if trade_id is None else str(trade_id), ts):
                continue
            state.last_trade = (price, ts)
            if self.trigger == "last":
                self._emit(state, price, ts, "last")

    def _on_klines(self, state: SymbolState, rows: Any) -> None:
        for row in rows or ():
            ts = integer(row[0]) if row else None
            values = [number(v) for v in row[1:5]] if row else []
            if ts is None or len(values) != 4 or any(v is None for v in values):
                self.bad_messages += 1
                continue
            o, h, lo, c = (float(v) for v in values if v is not None)
            volume = float(row[5]) if len(row) > 5 and row[5] is not None else 0.0
            closed = state.closer.update(
                Candle(state.symbol, CANDLE_TIMEFRAME, ts, o, h, lo, c, volume)
            )
            if closed is not None:
                put_latest(state.bars, closed)

    def _on_book(self, state: SymbolState, ticker: Any) -> None:
        if not ticker:
            return
        bid, ask = number(ticker.get("bid")), number(ticker.get("ask"))
        if bid is None or ask is None or bid > ask:
            self.bad_messages += 1
            return
        state.bid, state.ask = bid, ask
        state.book_ts = integer(ticker.get("timestamp"))
        state.book_at = self._clock()

    def _on_mark(self, state: SymbolState, ticker: Any) -> None:
        if not ticker:
            return
        info = ticker.get("info") or {}
        ts = integer(ticker.get("timestamp"))
        self._on_funding(state, info.get("r"), info.get("T"), ts)
        mark = number(ticker.get("markPrice"))
        if mark is None or ts is None:
            self.bad_messages += 1
            return
        state.mark = mark
        if self.trigger == "mark":
            state.mark_tick_ts = ts
            self._emit(state, mark, ts, "mark")

    def _on_ticker(self, state: SymbolState, ticker: Any) -> None:
        if not ticker:
            return
        info = ticker.get("info") or {}
        ts = integer(ticker.get("timestamp"))
        if number(ticker.get("bid")) is not None and number(ticker.get("ask")) is not None:
            self._on_book(state, ticker)
        self._on_funding(state, info.get("fundingRate"), info.get("nextFundingTime"), ts)
        mark = number(ticker.get("markPrice"))
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

    def _on_funding(
        self, state: SymbolState, rate: object, next_ms: object, ts: int | None
    ) -> None:
        if rate is None or next_ms is None:
            return
        try:
            value = float(rate)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        when = integer(next_ms)
        if not math.isfinite(value) or when is None:
            return
        state.funding = FundingInfo(state.symbol, value, when, ts or 0)

    def _emit(self, state: SymbolState, price: float, ts: int, source: str) -> None:
        bid, ask = self._book(state)
        tick = Tick(state.symbol, ts, price, bid=bid, ask=ask, source=source)
        state.last_tick = tick
        state.last_price_at = self._clock()
        if put_latest(state.queue, tick):
            state.dropped += 1

    def _book(self, state: SymbolState) -> tuple[float | None, float | None]:
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
