"""A small Binance USD-M futures exchange on 127.0.0.1, as far as ccxt.pro's `binanceusdm` uses it.

REST (fapi): ``/fapi/v1/exchangeInfo``, ``/fapi/v1/klines``, ``/fapi/v1/ticker/bookTicker``,
``/fapi/v1/ticker/24hr``, ``/fapi/v1/premiumIndex``, ``/fapi/v1/aggTrades``, ``/fapi/v1/time``.
Websocket: raw streams at ``/ws``, ``/ws/<n>`` and the split endpoints ``/public/ws/<n>`` (book
ticker, trade) and ``/market/ws/<n>`` (aggTrade, kline, markPrice); clients send
``{"method": "SUBSCRIBE", "params": [...], "id": n}`` and get ``{"result": null, "id": n}``.
Frames have Binance's shapes (``aggTrade``, ``trade``, ``kline``, ``bookTicker``,
``markPriceUpdate``), numbers as strings where Binance sends strings.

The fake is an exchange, not a script: trades move its 1m bars, and every trade is followed by
the kline update Binance would send (the previous bar's final update with ``x: true`` first when
a trade opens a new minute), so REST klines and the kline stream always agree.

Fault switches (see also `FakeExchangeServer`): `fail_http(status)` (5xx, 429 with Binance's
``-1003`` body and ``Retry-After``), `stalled`, `drop_connections()`, `send_raw()` (garbage),
`send_trade_frame()` (a duplicate or late trade the wire delivers without the exchange having
traded), `reject_subscriptions`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._server import Connection, FakeClock, FakeExchangeServer, assert_loopback

__all__ = ["FakeBinanceUSDM", "FakeClock", "assert_loopback"]

MINUTE_MS = 60_000
EIGHT_HOURS_MS = 8 * 3_600_000
INTERVALS_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
}
PUBLIC_STREAMS = ("bookTicker", "trade", "depth")
_STREAM = re.compile(r"^([a-z0-9]+)@(aggTrade|trade|bookTicker|markPrice(?:@1s)?|kline_(\w+))$")


def _num(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"


@dataclass
class _Market:
    symbol: str
    base: str
    price: float
    bars: dict[int, list[float]] = field(default_factory=dict)  # open ms -> o, h, l, c, v
    trades: list[dict[str, Any]] = field(default_factory=list)
    next_trade_id: int = 1_000_000
    bid: float | None = None
    ask: float | None = None
    mark: float | None = None
    funding_rate: float = 0.0001
    next_funding_ms: int | None = None
    book_update_id: int = 1


class FakeBinanceUSDM(FakeExchangeServer):
    name = "binanceusdm"

    def __init__(
        self,
        symbols: tuple[str, ...] = ("SOLUSDT",),
        *,
        price: float = 150.0,
        history_minutes: int = 180,
        clock: Callable[[], int] | None = None,
        seed: int = 1,
    ) -> None:
        super().__init__(clock)
        self.history_minutes = history_minutes
        self.reject_subscriptions = False
        self._seed = seed
        self.markets: dict[str, _Market] = {
            s: _Market(s, s.removesuffix("USDT"), price) for s in symbols
        }

    async def start(self) -> None:
        self._seed_history()
        await super().start()

    # ----------------------------------------------------------------- market state
    def _seed_history(self) -> None:
        rng = random.Random(self._seed)
        now = self.clock()
        current = now - now % MINUTE_MS
        for market in self.markets.values():
            # walk backwards from the current price so the newest close is exactly `price`
            close = market.price
            for i in range(self.history_minutes, 0, -1):
                ts = current - i * MINUTE_MS
                market.bars[ts] = []  # placeholder, filled below in time order
            walk = []
            for _ in range(self.history_minutes):
                open_ = close * (1 + rng.gauss(0, 0.0015))
                walk.append((open_, close))
                close = open_
            for ts, (open_, close_) in zip(sorted(market.bars), reversed(walk), strict=True):
                spread = abs(close_ - open_) + close_ * 0.0008 * rng.random()
                high = max(open_, close_) + spread / 2
                low = min(open_, close_) - spread / 2
                market.bars[ts] = [open_, high, low, close_, round(rng.uniform(500, 5000), 2)]
            market.bars[current] = [market.price] * 4 + [0.0]
            market.bid = market.price - 0.01
            market.ask = market.price + 0.01
            market.mark = market.price
            market.next_funding_ms = now - now % EIGHT_HOURS_MS + EIGHT_HOURS_MS

    def market(self, symbol: str = "SOLUSDT") -> _Market:
        return self.markets[symbol]

    def bar(self, ts_ms: int, symbol: str = "SOLUSDT") -> list[float] | None:
        return self.markets[symbol].bars.get(ts_ms)

    # ----------------------------------------------------------------- pushing the market
    async def trade(
        self,
        price: float,
        qty: float = 1.0,
        *,
        symbol: str = "SOLUSDT",
        ts: int | None = None,
        buyer_maker: bool = False,
    ) -> dict[str, Any]:
        """The exchange trades: bars move, then aggTrade/trade and kline frames go out."""
        market = self.markets[symbol]
        ts = self.clock() if ts is None else ts
        market.next_trade_id += 1
        frame = self._agg_trade(market, market.next_trade_id, price, qty, ts, buyer_maker)
        market.trades.append(frame)
        market.price = price
        bar_ts = ts - ts % MINUTE_MS
        newest = max(market.bars)
        if bar_ts > newest:
            await self._push_kline(market, newest, final=True)
            market.bars[bar_ts] = [price, price, price, price, qty]
        else:
            bar = market.bars.setdefault(bar_ts, [price, price, price, price, 0.0])
            bar[1] = max(bar[1], price)
            bar[2] = min(bar[2], price)
            bar[3] = price
            bar[4] = round(bar[4] + qty, 8)
        await self.push(f"{market.symbol.lower()}@aggTrade", frame)
        await self.push(f"{market.symbol.lower()}@trade", self._raw_trade(frame))
        await self._push_kline(market, bar_ts, final=False)
        return frame

    async def send_trade_frame(
        self, price: float, ts: int, trade_id: int, *, symbol: str = "SOLUSDT", qty: float = 1.0
    ) -> dict[str, Any]:
        """An aggTrade frame on the wire that the exchange did not newly trade: a duplicate or a
        late (out-of-order) delivery. Bars are not touched."""
        market = self.markets[symbol]
        frame = self._agg_trade(market, trade_id, price, qty, ts, False)
        await self.push(f"{market.symbol.lower()}@aggTrade", frame)
        await self.push(f"{market.symbol.lower()}@trade", self._raw_trade(frame))
        return frame

    async def book(
        self, bid: float, ask: float, *, symbol: str = "SOLUSDT", ts: int | None = None
    ) -> None:
        market = self.markets[symbol]
        ts = self.clock() if ts is None else ts
        market.bid, market.ask = bid, ask
        market.book_update_id += 1
        await self.push(
            f"{market.symbol.lower()}@bookTicker",
            {
                "e": "bookTicker",
                "u": market.book_update_id,
                "s": market.symbol,
                "b": _num(bid),
                "B": "31.21",
                "a": _num(ask),
                "A": "40.66",
                "T": ts,
                "E": ts + 2,
            },
        )

    async def mark_price(
        self,
        price: float,
        *,
        symbol: str = "SOLUSDT",
        rate: float | None = None,
        next_funding_ms: int | None = None,
        ts: int | None = None,
    ) -> None:
        """A markPriceUpdate (what ``<symbol>@markPrice@1s`` sends every second)."""
        market = self.markets[symbol]
        ts = self.clock() if ts is None else ts
        market.mark = price
        if rate is not None:
            market.funding_rate = rate
        if next_funding_ms is not None:
            market.next_funding_ms = next_funding_ms
        frame = self._mark_frame(market, ts)
        await self.push(f"{market.symbol.lower()}@markPrice@1s", frame)
        await self.push(f"{market.symbol.lower()}@markPrice", frame)

    async def send_raw(self, text: str, stream: str = "solusdt@aggTrade") -> int:
        """Any text on a stream's sockets: garbage, truncated JSON, a frame of the wrong shape."""
        return await self.push(stream, text)

    # ----------------------------------------------------------------- frames
    @staticmethod
    def _agg_trade(
        market: _Market, trade_id: int, price: float, qty: float, ts: int, buyer_maker: bool
    ) -> dict[str, Any]:
        return {
            "e": "aggTrade",
            "E": ts + 3,
            "a": trade_id,
            "s": market.symbol,
            "p": _num(price),
            "q": _num(qty),
            "f": trade_id * 3,
            "l": trade_id * 3 + 1,
            "T": ts,
            "m": buyer_maker,
        }

    @staticmethod
    def _raw_trade(frame: dict[str, Any]) -> dict[str, Any]:
        return {
            "e": "trade",
            "E": frame["E"],
            "T": frame["T"],
            "s": frame["s"],
            "t": frame["a"],
            "p": frame["p"],
            "q": frame["q"],
            "X": "MARKET",
            "m": frame["m"],
        }

    def _mark_frame(self, market: _Market, ts: int) -> dict[str, Any]:
        mark = market.mark if market.mark is not None else market.price
        return {
            "e": "markPriceUpdate",
            "E": ts,
            "s": market.symbol,
            "p": _num(mark),
            "ap": _num(mark),
            "P": _num(mark),
            "i": _num(mark * 0.9998),
            "r": f"{market.funding_rate:.8f}",
            "T": market.next_funding_ms,
        }

    async def _push_kline(self, market: _Market, bar_ts: int, *, final: bool) -> None:
        o, h, lo, c, v = market.bars[bar_ts]
        now = self.clock()
        frame = {
            "e": "kline",
            "E": now,
            "s": market.symbol,
            "k": {
                "t": bar_ts,
                "T": bar_ts + MINUTE_MS - 1,
                "s": market.symbol,
                "i": "1m",
                "f": 100,
                "L": 200,
                "o": _num(o),
                "c": _num(c),
                "h": _num(h),
                "l": _num(lo),
                "v": _num(v),
                "n": 101,
                "x": final,
                "q": _num(v * c),
                "V": _num(v / 2),
                "Q": _num(v * c / 2),
                "B": "0",
            },
        }
        await self.push(f"{market.symbol.lower()}@kline_1m", frame)

    # ----------------------------------------------------------------- REST
    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/fapi/v1/exchangeInfo", self._exchange_info)
        app.router.add_get("/fapi/v1/klines", self._klines)
        app.router.add_get("/fapi/v1/ticker/bookTicker", self._book_ticker)
        app.router.add_get("/fapi/v1/ticker/24hr", self._ticker_24hr)
        app.router.add_get("/fapi/v1/premiumIndex", self._premium_index)
        app.router.add_get("/fapi/v1/aggTrades", self._agg_trades)
        app.router.add_get("/fapi/v1/time", self._time)
        for path in ("/ws", "/ws/{n}", "/{category}/ws", "/{category}/ws/{n}"):
            app.router.add_get(path, self.serve_ws)

    def fault_body(self, status: int) -> tuple[dict[str, Any] | str, dict[str, str]]:
        if status == 429:
            return (
                {"code": -1003, "msg": "Too many requests; current limit is 2400 per minute."},
                {"Retry-After": "1"},
            )
        if status == 418:
            return ({"code": -1003, "msg": "Way too many requests; IP banned."}, {})
        if status >= 500:
            return ("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", {})
        return ({"code": -1000, "msg": f"fault {status}"}, {})

    def _symbol_param(self, request: web.Request) -> _Market | web.Response:
        symbol = request.query.get("symbol")
        if symbol is None:
            return web.json_response(
                {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."}, status=400
            )
        market = self.markets.get(symbol)
        if market is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        return market

    async def _exchange_info(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": self.clock(),
                "futuresType": "U_MARGINED",
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 2400,
                    }
                ],
                "exchangeFilters": [],
                "assets": [
                    {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}
                ],
                "symbols": [self._symbol_info(m) for m in self.markets.values()],
            }
        )

    @staticmethod
    def _symbol_info(market: _Market) -> dict[str, Any]:
        return {
            "symbol": market.symbol,
            "pair": market.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": market.base,
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": 4,
            "quantityPrecision": 0,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": ["Layer-1"],
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "0.4200",
                    "maxPrice": "6857",
                    "tickSize": "0.0100",
                },
                {"filterType": "LOT_SIZE", "minQty": "1", "maxQty": "1000000", "stepSize": "1"},
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "1",
                    "maxQty": "5000",
                    "stepSize": "1",
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": "5"},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.0500",
                    "multiplierDown": "0.9500",
                    "multiplierDecimal": "4",
                },
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        }

    async def _klines(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        market = self._symbol_param(request)
        if isinstance(market, web.Response):
            return market
        interval = request.query.get("interval", "")
        step = INTERVALS_MS.get(interval)
        if step is None:
            return web.json_response({"code": -1120, "msg": "Invalid interval."}, status=400)
        limit = min(int(request.query.get("limit", "500")), 1500)
        start = request.query.get("startTime")
        end = request.query.get("endTime")
        rows = self._aggregate(market, step)
        if start is not None:
            rows = [r for r in rows if r[0] >= int(start)]
        if end is not None:
            rows = [r for r in rows if r[0] <= int(end)]
        rows = rows[:limit] if start is not None else rows[-limit:]
        return web.json_response(
            [
                [
                    ts,
                    _num(o),
                    _num(h),
                    _num(lo),
                    _num(c),
                    _num(v),
                    ts + step - 1,
                    _num(v * c),
                    100,
                    _num(v / 2),
                    _num(v * c / 2),
                    "0",
                ]
                for ts, o, h, lo, c, v in rows
            ]
        )

    @staticmethod
    def _aggregate(
        market: _Market, step: int
    ) -> list[tuple[int, float, float, float, float, float]]:
        out: dict[int, list[float]] = {}
        for ts in sorted(market.bars):
            o, h, lo, c, v = market.bars[ts]
            key = ts - ts % step
            bar = out.get(key)
            if bar is None:
                out[key] = [o, h, lo, c, v]
            else:
                bar[1] = max(bar[1], h)
                bar[2] = min(bar[2], lo)
                bar[3] = c
                bar[4] += v
        return [(ts, *bar) for ts, bar in sorted(out.items())]  # type: ignore[misc]

    async def _book_ticker(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        market = self._symbol_param(request)
        if isinstance(market, web.Response):
            return market
        now = self.clock()
        return web.json_response(
            {
                "symbol": market.symbol,
                "bidPrice": _num(market.bid or market.price),
                "bidQty": "31.21",
                "askPrice": _num(market.ask or market.price),
                "askQty": "40.66",
                "time": now,
                "lastUpdateId": market.book_update_id,
            }
        )

    async def _ticker_24hr(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        market = self._symbol_param(request)
        if isinstance(market, web.Response):
            return market
        now = self.clock()
        closes = [b[3] for _, b in sorted(market.bars.items())][-1440:]
        return web.json_response(
            {
                "symbol": market.symbol,
                "priceChange": _num(market.price - closes[0]),
                "priceChangePercent": f"{100 * (market.price / closes[0] - 1):.3f}",
                "weightedAvgPrice": _num(sum(closes) / len(closes)),
                "lastPrice": _num(market.price),
                "lastQty": "1",
                "openPrice": _num(closes[0]),
                "highPrice": _num(max(closes)),
                "lowPrice": _num(min(closes)),
                "volume": "100000",
                "quoteVolume": _num(100000 * market.price),
                "openTime": now - 86_400_000,
                "closeTime": now,
                "firstId": 1,
                "lastId": market.next_trade_id,
                "count": market.next_trade_id,
            }
        )

    async def _premium_index(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        market = self._symbol_param(request)
        if isinstance(market, web.Response):
            return market
        mark = market.mark if market.mark is not None else market.price
        return web.json_response(
            {
                "symbol": market.symbol,
                "markPrice": _num(mark),
                "indexPrice": _num(mark * 0.9998),
                "estimatedSettlePrice": _num(mark),
                "lastFundingRate": f"{market.funding_rate:.8f}",
                "interestRate": "0.00010000",
                "nextFundingTime": market.next_funding_ms,
                "time": self.clock(),
            }
        )

    async def _agg_trades(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        market = self._symbol_param(request)
        if isinstance(market, web.Response):
            return market
        limit = min(int(request.query.get("limit", "500")), 1000)
        return web.json_response(
            [{k: t[k] for k in ("a", "p", "q", "f", "l", "T", "m")} for t in market.trades[-limit:]]
        )

    async def _time(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        return web.json_response({"serverTime": self.clock()})

    # ----------------------------------------------------------------- websocket
    async def on_ws_message(self, conn: Connection, message: Any) -> None:
        if not isinstance(message, dict) or "method" not in message:
            self.unexpected.append(f"WS {conn.path} {message!r}")
            return
        method = message.get("method")
        request_id = message.get("id")
        params = message.get("params") or []
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            self.unexpected.append(f"WS {conn.path} method {method!r}")
            await conn.ws.send_json(
                {"error": {"code": 1, "msg": f"Unknown method {method}"}, "id": request_id}
            )
            return
        problems = [why for p in params if (why := self._stream_problem(conn.path, p))]
        if problems or self.reject_subscriptions:
            why = "; ".join(problems) or "subscription rejected"
            self.unexpected.extend(f"WS {conn.path} {p}" for p in problems)
            await conn.ws.send_json(
                {"error": {"code": 2, "msg": f"Invalid request: {why}"}, "id": request_id}
            )
            return
        for stream in params:
            if method == "SUBSCRIBE":
                self.mark_subscribed(conn, stream)
            else:
                conn.streams.discard(stream)
        await conn.ws.send_json({"result": None, "id": request_id})

    def _stream_problem(self, path: str, stream: str) -> str | None:
        match = _STREAM.match(stream)
        if match is None:
            return f"unknown stream {stream}"
        if match.group(1).upper() not in self.markets:
            return f"unknown symbol in {stream}"
        kind = match.group(2)
        if kind.startswith("kline_") and match.group(3) not in INTERVALS_MS:
            return f"unknown kline interval in {stream}"
        category = path.strip("/").split("/")[0]
        if category in ("public", "market"):
            wanted = "public" if kind in PUBLIC_STREAMS else "market"
            if category != wanted:
                return f"{stream} is served on /{wanted}/ws, not /{category}/ws"
        return None
