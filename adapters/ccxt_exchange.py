"""What the live feed (adapters/ccxt_feed.py) and the REST candle source
(adapters/ccxt_candles.py) share about a ccxt exchange: which endpoints and streams to use
(`ExchangeProfile`), pointing it at another origin (a fake in tests), one line per error, and
ccxt's loosely typed numbers.

Nothing here imports ccxt: importing it costs a second or more (tests/test_layering.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FALLBACK_PROFILE",
    "PROFILES",
    "ExchangeProfile",
    "describe_error",
    "integer",
    "number",
    "point_at",
]

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


def number(value: object) -> float | None:
    """A finite positive float, or None (ccxt gives None or strings for missing fields)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) and result > 0 else None


def integer(value: object) -> int | None:
    result = number(value)
    return None if result is None else int(result)
