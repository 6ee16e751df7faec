"""The demo and the live sessions on one or more symbols: their feeds built, their symbols checked.

Moved out of cli.py (which parses and reports) when sessions got several symbols (issue 16 item
5). Each symbol gets its own feed task in the session, its own prices, ATR, candles, staleness
and exits; how the feeds are shaped:

- the demo: one simulated market per symbol, each from its own seed (the first symbol's seed is
  the one given, the next ones count up from it) and its own start price, all on one market
  clock under one set of controls (pause, speed);
- the live feed: one ccxt.pro exchange for every symbol (one REST rate limiter, one
  ``load_markets``), with each symbol's own websocket streams and its own state
  (`CcxtFeed.symbol_status`). The symbols are checked against the exchange's markets before the
  screen opens: an unknown one is exit status 2 with the closest names;
- a replay plays one candle file as one symbol: a file has no symbol column, and several files
  would need their timelines merged. It stays one symbol per session (docs/feeds.md).
"""

from __future__ import annotations

import asyncio
import difflib
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cockpit.config import FeedConfig, Settings
from cockpit.symbols import demo_markets

if TYPE_CHECKING:
    from cockpit.session import Session


def minute_floor(ms: int) -> int:
    """The simulated market starts on a bar boundary so its candles line up with real ones."""
    return ms - ms % 60_000


def demo_symbols(settings: Settings, asked: list[str] | None) -> dict[str, float]:
    """The demo's symbols (`--symbol`, else `[demo] symbols`, else `[demo] symbol`) with their
    first start prices; ValueError (exit 2) for a duplicate or a market it does not simulate."""
    demo = settings.demo
    symbols = asked or demo.symbols or [demo.symbol]
    return demo_markets(symbols, demo.symbol, demo.start_price)


def demo_session(
    settings: Settings,
    *,
    seed: int | None,
    speed: float | None,
    paused: bool = False,
    symbols: list[str] | None = None,
) -> Session:
    """The demo's session on the simulated markets, each resuming from the last price the demo
    saw (built after the app's first frame: `cockpit.cli.demo_app`)."""
    from adapters.paper import PaperBroker
    from adapters.replay import simulated_markets
    from cockpit.last_price import last_prices
    from cockpit.session import Session

    first_prices = demo_symbols(settings, symbols)
    if seed is None:
        seed = settings.demo.seed
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    seen = asyncio.run(last_prices(settings.db_url, list(first_prices), settings.account))
    markets = {
        symbol: (seen[symbol] or first, seed + n)
        for n, (symbol, first) in enumerate(first_prices.items())
    }
    feed = simulated_markets(
        markets, start_ms=minute_floor(int(time.time() * 1000)), speed=speed, paused=paused
    )
    session = Session(settings, feed, PaperBroker(settings.paper), list(markets))
    described = ", ".join(f"{s} from {p:.4f}, seed {n}" for s, (p, n) in markets.items())
    session.event("info", f"demo: simulated {described}")
    return session


def live_session(
    settings: Settings,
    *,
    clock: Callable[[], int] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    note: str | None = None,
) -> Session:
    """SHADOW on live mainnet data: the ccxt.pro feed for every symbol, paper fills, every
    candle recorded. `clock` (ms) and `monotonic` (s) are the session's and the feed's clocks: a
    test moves them itself so a price's age is what it made it. `note`: what the symbols' check
    could not do (`check_live_markets`), said in the event log."""
    from adapters.ccxt_feed import CcxtFeed
    from adapters.paper import PaperBroker
    from cockpit.session import Session, wall_clock_ms

    clock = clock or wall_clock_ms
    cfg = settings.feed
    symbols = cfg.symbol_list
    feed = CcxtFeed(cfg, symbols=symbols, clock=monotonic)
    broker = PaperBroker(
        settings.paper, max_price_age_ms=int(cfg.stale_after_s * 1000), clock=clock
    )
    session = Session(settings, feed, broker, symbols, clock=clock)
    session.event(
        "info",
        f"SHADOW on {cfg.exchange} {', '.join(symbols)}: paper fills on live prices "
        f"(exits act on the {feed.trigger} price)",
    )
    if note is not None:
        session.event("warning", f"{note}: an unknown symbol shows as down")
    return session


def check_live_markets(cfg: FeedConfig) -> str | None:
    """Refuse (ValueError, exit 2) a symbol the exchange does not list, naming the closest ones.

    One REST call before the screen opens. When the exchange cannot be asked (no network), the
    cockpit starts anyway and the returned note says so: an unknown symbol then shows as down in
    its watchlist row, and only it is blocked."""
    from adapters.ccxt_exchange import describe_error

    try:
        listed = asyncio.run(_listed_markets(cfg))
    except Exception as exc:
        return f"markets not checked ({describe_error(exc)})"
    missing = [s for s in cfg.symbol_list if s not in listed]
    if not missing:
        return None
    hints = []
    for symbol in missing:
        close = difflib.get_close_matches(symbol, sorted(listed), n=3)
        hints.append(f"{symbol} (closest: {', '.join(close)})" if close else symbol)
    raise ValueError(f"{cfg.exchange} has no market {'; '.join(hints)}")


async def _listed_markets(cfg: FeedConfig) -> set[str]:
    from adapters.ccxt_candles import CcxtCandles

    source = CcxtCandles(cfg)
    try:
        async with asyncio.timeout(cfg.request_timeout_s * 2):
            return await source.market_symbols()
    finally:
        await source.close()
