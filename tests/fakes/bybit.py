"""A small Bybit v5 exchange on 127.0.0.1 (linear perps), as far as ccxt.pro's `bybit` uses it.

REST: ``/v5/market/instruments-info`` (also with ``status=PreLaunch``, which ccxt asks for too)
and ``/v5/market/kline`` (newest bar first, as Bybit sends it). Websocket ``/v5/public/linear``:
``{"op": "subscribe", "req_id": n, "args": [...]}`` answered with ``success``; ``op: ping``
answered with a pong (ccxt pings Bybit every 18 s). Topics ``tickers.<id>`` (a snapshot, then
deltas of what changed: bid/ask, mark price, funding), ``publicTrade.<id>`` (UUID trade ids)
and ``kline.1.<id>``, all wrapped as ``{"topic", "type", "ts", "data"}``.

Trades move the fake's 1m bars and are followed by the kline update, like the Binance fake.
Fault switches come from `FakeExchangeServer` (`fail_http`, `stalled`, `drop_connections`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._server import Connection, FakeClock, FakeExchangeServer, assert_loopback

__all__ = ["FakeBybit", "FakeClock", "assert_loopback"]

MINUTE_MS = 60_000
INTERVALS_MS = {"1": MINUTE_MS, "5": 5 * MINUTE_MS, "15": 15 * MINUTE_MS, "60": 60 * MINUTE_MS}


def _num(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"


@dataclass
class _Market:
    symbol: str
    base: str
    price: float
    bars: dict[int, list[float]] = field(default_factory=dict)
    bid: float = 0.0
    ask: float = 0.0
    mark: float = 0.0
    funding_rate: float = 0.0001
    next_funding_ms: int = 0
    snapshot_sent: set[int] = field(default_factory=set)


class FakeBybit(FakeExchangeServer):
    name = "bybit"

    def __init__(
        self,
        symbols: tuple[str, ...] = ("SOLUSDT",),
        *,
        price: float = 150.0,
        history_minutes: int = 120,
        clock: Callable[[], int] | None = None,
        seed: int = 2,
    ) -> None:
        super().__init__(clock)
        self.history_minutes = history_minutes
        self._seed = seed
        self.pings = 0
        self.markets = {s: _Market(s, s.removesuffix("USDT"), price) for s in symbols}

    async def start(self) -> None:
        rng = random.Random(self._seed)
        now = self.clock()
        current = now - now % MINUTE_MS
        for market in self.markets.values():
            close = market.price
            for i in range(1, self.history_minutes + 1):
                open_ = close * (1 + rng.gauss(0, 0.0015))
                high = max(open_, close) * (1 + 0.0005 * rng.random())
                low = min(open_, close) * (1 - 0.0005 * rng.random())
                market.bars[current - i * MINUTE_MS] = [open_, high, low, close, 1000.0]
                close = open_
            market.bars[current] = [market.price] * 4 + [0.0]
            market.bid, market.ask, market.mark = (
                market.price - 0.01,
                market.price + 0.01,
                market.price,
            )
            market.next_funding_ms = now - now % (8 * 3_600_000) + 8 * 3_600_000
        await super().start()

    def bar(self, ts_ms: int, symbol: str = "SOLUSDT") -> list[float] | None:
        return self.markets[symbol].bars.get(ts_ms)

    # ----------------------------------------------------------------- pushing the market
    async def trade(
        self, price: float, qty: float = 1.0, *, symbol: str = "SOLUSDT", ts: int | None = None
    ) -> dict[str, Any]:
        market = self.markets[symbol]
        ts = self.clock() if ts is None else ts
        trade = {
            "T": ts,
            "s": symbol,
            "S": "Buy",
            "v": _num(qty),
            "p": _num(price),
            "L": "PlusTick",
            "i": str(uuid.uuid4()),
            "BT": False,
        }
        market.price = price
        bar_ts = ts - ts % MINUTE_MS
        newest = max(market.bars)
        if bar_ts > newest:
            await self._push_kline(market, newest, confirm=True, ts=ts)
            market.bars[bar_ts] = [price, price, price, price, qty]
        else:
            bar = market.bars.setdefault(bar_ts, [price, price, price, price, 0.0])
            bar[1], bar[2], bar[3] = max(bar[1], price), min(bar[2], price), price
            bar[4] = round(bar[4] + qty, 8)
        await self.push(
            f"publicTrade.{symbol}",
            {"topic": f"publicTrade.{symbol}", "type": "snapshot", "ts": ts, "data": [trade]},
        )
        await self._push_kline(market, bar_ts, confirm=False, ts=ts)
        return trade

    async def send_trade_frame(self, trade: dict[str, Any], symbol: str = "SOLUSDT") -> None:
        """A trade frame again (a duplicate delivery) without the exchange trading."""
        await self.push(
            f"publicTrade.{symbol}",
            {
                "topic": f"publicTrade.{symbol}",
                "type": "snapshot",
                "ts": trade["T"],
                "data": [trade],
            },
        )

    async def ticker(
        self,
        *,
        bid: float | None = None,
        ask: float | None = None,
        mark: float | None = None,
        rate: float | None = None,
        next_funding_ms: int | None = None,
        symbol: str = "SOLUSDT",
        ts: int | None = None,
    ) -> None:
        """A tickers delta with the fields given (a snapshot first on each new connection)."""
        market = self.markets[symbol]
        ts = self.clock() if ts is None else ts
        delta: dict[str, Any] = {"symbol": symbol}
        if bid is not None:
            market.bid = bid
            delta.update(bid1Price=_num(bid), bid1Size="120.5")
        if ask is not None:
            market.ask = ask
            delta.update(ask1Price=_num(ask), ask1Size="98.1")
        if mark is not None:
            market.mark = mark
            delta.update(markPrice=_num(mark), indexPrice=_num(mark * 0.9998))
        if rate is not None:
            market.funding_rate = rate
            delta["fundingRate"] = f"{rate:.6f}"
        if next_funding_ms is not None:
            market.next_funding_ms = next_funding_ms
            delta["nextFundingTime"] = str(next_funding_ms)
        topic = f"tickers.{symbol}"
        for conn in list(self.connections):
            if topic not in conn.streams or self.stalled:
                continue
            if id(conn) not in market.snapshot_sent:
                market.snapshot_sent.add(id(conn))
                await self._send(conn, self._ticker_frame(market, "snapshot", ts, None))
            await self._send(conn, self._ticker_frame(market, "delta", ts, delta))

    def _ticker_frame(
        self, market: _Market, kind: str, ts: int, delta: dict[str, Any] | None
    ) -> dict[str, Any]:
        data = delta or {
            "symbol": market.symbol,
            "tickDirection": "PlusTick",
            "price24hPcnt": "0.0123",
            "lastPrice": _num(market.price),
            "prevPrice24h": _num(market.price * 0.99),
            "highPrice24h": _num(market.price * 1.02),
            "lowPrice24h": _num(market.price * 0.98),
            "prevPrice1h": _num(market.price),
            "markPrice": _num(market.mark),
            "indexPrice": _num(market.mark * 0.9998),
            "openInterest": "3500000",
            "openInterestValue": _num(3500000 * market.mark),
            "turnover24h": "500000000",
            "volume24h": "3300000",
            "nextFundingTime": str(market.next_funding_ms),
            "fundingRate": f"{market.funding_rate:.6f}",
            "bid1Price": _num(market.bid),
            "bid1Size": "120.5",
            "ask1Price": _num(market.ask),
            "ask1Size": "98.1",
        }
        return {
            "topic": f"tickers.{market.symbol}",
            "type": kind,
            "data": data,
            "cs": 24987956059,
            "ts": ts,
        }

    async def _send(self, conn: Connection, payload: dict[str, Any]) -> None:
        if not conn.ws.closed:
            await conn.ws.send_json(payload)
            self.frames_sent += 1

    async def _push_kline(self, market: _Market, bar_ts: int, *, confirm: bool, ts: int) -> None:
        o, h, lo, c, v = market.bars[bar_ts]
        await self.push(
            f"kline.1.{market.symbol}",
            {
                "topic": f"kline.1.{market.symbol}",
                "type": "snapshot",
                "ts": ts,
                "data": [
                    {
                        "start": bar_ts,
                        "end": bar_ts + MINUTE_MS - 1,
                        "interval": "1",
                        "open": _num(o),
                        "close": _num(c),
                        "high": _num(h),
                        "low": _num(lo),
                        "volume": _num(v),
                        "turnover": _num(v * c),
                        "confirm": confirm,
                        "timestamp": ts,
                    }
                ],
            },
        )

    # ----------------------------------------------------------------- REST
    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v5/market/instruments-info", self._instruments)
        app.router.add_get("/v5/market/kline", self._kline)
        app.router.add_get("/v5/public/linear", self.serve_ws)

    def fault_body(self, status: int) -> tuple[dict[str, Any] | str, dict[str, str]]:
        if status == 429:
            return ({"retCode": 10006, "retMsg": "Too many visits!"}, {"X-Bapi-Limit": "0"})
        return ("<html>502 Bad Gateway</html>", {})

    def _ok(self, result: dict[str, Any]) -> web.Response:
        return web.json_response(
            {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": self.clock()}
        )

    async def _instruments(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        if request.query.get("category") != "linear":
            self.unexpected.append(f"instruments-info category {request.query.get('category')}")
            return web.json_response({"retCode": 10001, "retMsg": "category only linear"})
        listed = [] if request.query.get("status") == "PreLaunch" else list(self.markets.values())
        return self._ok(
            {
                "category": "linear",
                "list": [self._instrument(m) for m in listed],
                "nextPageCursor": "",
            }
        )

    @staticmethod
    def _instrument(market: _Market) -> dict[str, Any]:
        return {
            "symbol": market.symbol,
            "contractType": "LinearPerpetual",
            "status": "Trading",
            "baseCoin": market.base,
            "quoteCoin": "USDT",
            "launchTime": "1634256000000",
            "deliveryTime": "0",
            "deliveryFeeRate": "",
            "priceScale": "3",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": "0.010", "maxPrice": "19999.980", "tickSize": "0.010"},
            "lotSizeFilter": {
                "maxOrderQty": "79770.0",
                "minOrderQty": "0.1",
                "qtyStep": "0.1",
                "postOnlyMaxOrderQty": "79770.0",
                "maxMktOrderQty": "7977.0",
                "minNotionalValue": "5",
            },
            "unifiedMarginTrade": True,
            "fundingInterval": 480,
            "settleCoin": "USDT",
            "copyTrading": "both",
            "upperFundingRate": "0.01",
            "lowerFundingRate": "-0.01",
            "isPreListing": False,
            "preListingInfo": None,
        }

    async def _kline(self, request: web.Request) -> web.Response:
        if (fault := self.log_request(request)) is not None:
            return fault
        market = self.markets.get(request.query.get("symbol", ""))
        step = INTERVALS_MS.get(request.query.get("interval", ""))
        if market is None or step is None or request.query.get("category") != "linear":
            return web.json_response({"retCode": 10001, "retMsg": "params error"})
        limit = min(int(request.query.get("limit", "200")), 1000)
        rows: dict[int, list[float]] = {}
        for ts in sorted(market.bars):
            o, h, lo, c, v = market.bars[ts]
            key = ts - ts % step
            if key not in rows:
                rows[key] = [o, h, lo, c, v]
            else:
                bar = rows[key]
                bar[1], bar[2], bar[3], bar[4] = max(bar[1], h), min(bar[2], lo), c, bar[4] + v
        keys = sorted(rows)
        if "start" in request.query:
            keys = [k for k in keys if k >= int(request.query["start"])][:limit]
        else:
            keys = keys[-limit:]
        if "end" in request.query:
            keys = [k for k in keys if k <= int(request.query["end"])]
        listing = [
            [
                str(k),
                *(_num(x) for x in rows[k][:4]),
                _num(rows[k][4]),
                _num(rows[k][4] * rows[k][3]),
            ]
            for k in reversed(keys)
        ]
        return self._ok({"category": "linear", "symbol": market.symbol, "list": listing})

    # ----------------------------------------------------------------- websocket
    async def on_ws_message(self, conn: Connection, message: Any) -> None:
        op = message.get("op") if isinstance(message, dict) else None
        req_id = message.get("req_id") if isinstance(message, dict) else None
        if op == "ping":
            self.pings += 1
            await conn.ws.send_json(
                {
                    "success": True,
                    "ret_msg": "pong",
                    "conn_id": "fake",
                    "req_id": req_id,
                    "op": "ping",
                }
            )
            return
        if op != "subscribe":
            self.unexpected.append(f"WS {conn.path} {message!r}")
            return
        args = message.get("args") or []
        bad = [a for a in args if not self._known_topic(a)]
        if bad:
            self.unexpected.extend(f"WS topic {a}" for a in bad)
            await conn.ws.send_json(
                {
                    "success": False,
                    "ret_msg": f"error:handler not found,topic:{bad[0]}",
                    "conn_id": "fake",
                    "req_id": req_id,
                    "op": "subscribe",
                }
            )
            return
        for topic in args:
            self.mark_subscribed(conn, topic)
        await conn.ws.send_json(
            {"success": True, "ret_msg": "", "conn_id": "fake", "req_id": req_id, "op": "subscribe"}
        )
        for topic in args:
            if topic.startswith("tickers."):
                market = self.markets[topic.split(".", 1)[1]]
                market.snapshot_sent.add(id(conn))
                await self._send(conn, self._ticker_frame(market, "snapshot", self.clock(), None))

    def _known_topic(self, topic: str) -> bool:
        parts = topic.split(".")
        if len(parts) == 2 and parts[0] in ("tickers", "publicTrade"):
            return parts[1] in self.markets
        return (
            len(parts) == 3
            and parts[0] == "kline"
            and parts[1] in INTERVALS_MS
            and (parts[2] in self.markets)
        )
