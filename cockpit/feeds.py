"""The demo and the live sessions on one or more symbols: their feeds built, their symbols checked.

Moved out of cli.py (which parses and reports) when sessions got several symbols (issue 16 item
5). Each symbol gets its own feed task in the session, its own prices, ATR, candles, staleness
and exits; how the feeds are shaped:

- the demo: one simulated market per symbol, each from its own seed (the first symbol's seed is
  the one given, the next ones count up from it) and its own start price, all on one market
  clock under one set of controls (pause, speed);
- the live feed: one ccxt.pro exchange for every symbol (one REST rate limiter, one
  ``load_markets``), with each symbol's own websocket streams and its own state
  (`CcxtFeed.symbol_status`). The symbols are checked against the exchange's markets after the
  first frame ("checking markets ..."), before the feed starts: an unknown one is said on the
  screen and exit status 2 with the closest names;
- a replay plays one candle file as one symbol: a file has no symbol column, and several files
  would need their timelines merged. It stays one symbol per session (docs/feeds.md).

Both are built as a `FeedFirst` (cockpit/starting.py): the feed first, which the app starts and
shows at once, then the session on it, behind the first prices.
"""

from __future__ import annotations

import asyncio
import difflib
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from cockpit.config import FeedConfig, Settings
from cockpit.last_price import as_price, last_price_key
from cockpit.starting import FeedFirst
from cockpit.symbols import demo_markets

if TYPE_CHECKING:
    from adapters.ccxt_feed import CcxtFeed
    from adapters.replay import ReplayFeed
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


def demo_start(
    settings: Settings,
    *,
    seed: int | None,
    speed: float | None,
    paused: bool = False,
    symbols: list[str] | None = None,
) -> FeedFirst[ReplayFeed]:
    """The demo's simulated markets, each resuming from the last price the demo saw, then its
    session on them (both built after the app's first frame: `cockpit.cli.demo_app`). The
    markets come first so their prices show while the session loads the journal."""
    first_prices = demo_symbols(settings, symbols)
    if seed is None:
        seed = settings.demo.seed
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    chosen = seed
    described: list[str] = []

    def feed() -> ReplayFeed:
        from adapters.replay import simulated_markets

        seen = last_prices_quickly(settings.db_url, list(first_prices), settings.account)
        markets = {
            symbol: (seen[symbol] or first, chosen + n)
            for n, (symbol, first) in enumerate(first_prices.items())
        }
        described.extend(f"{s} from {p:.4f}, seed {n}" for s, (p, n) in markets.items())
        return simulated_markets(
            markets, start_ms=minute_floor(int(time.time() * 1000)), speed=speed, paused=paused
        )

    def session(markets: ReplayFeed) -> Session:
        from adapters.paper import PaperBroker
        from cockpit.session import Session

        built = Session(settings, markets, PaperBroker(settings.paper), list(first_prices))
        built.event("info", f"demo: simulated {', '.join(described)}")
        return built

    return FeedFirst(feed, session)


def last_prices_quickly(db_url: str, symbols: list[str], account: str) -> dict[str, float | None]:
    """`cockpit.last_price.last_prices`, from a SQLite journal with the standard library's
    sqlite3 (milliseconds) instead of the store (SQLAlchemy: most of a second to import), so the
    demo's markets start before the journal is opened. Anything else (PostgreSQL, a journal of an
    older schema, an unreadable file) is read through the store, which also migrates it."""
    from cockpit.last_price import settings_from_sqlite

    found = settings_from_sqlite(db_url, [last_price_key(s) for s in symbols], account)
    if found is None:
        from cockpit.last_price import last_prices

        return asyncio.run(last_prices(db_url, symbols, account))
    return {s: as_price(found.get(last_price_key(s))) for s in symbols}


def live_start(
    settings: Settings,
    *,
    clock: Callable[[], int] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> FeedFirst[CcxtFeed]:
    """SHADOW on live mainnet data: the symbols checked against the exchange (an unknown one:
    ValueError, exit 2), the ccxt.pro feed for every symbol (started and shown at once by the
    app), then the session on it: paper fills, every candle recorded. `clock` (ms) and
    `monotonic` (s) are the session's and the feed's clocks: a test moves them itself so a
    price's age is what it made it."""
    notes: list[str] = []

    def feed() -> CcxtFeed:
        from adapters.ccxt_feed import CcxtFeed

        note = check_live_markets(settings.feed)
        if note is not None:
            notes.append(note)
        cfg = settings.feed
        return CcxtFeed(cfg, symbols=cfg.symbol_list, clock=monotonic)

    def session(live: CcxtFeed) -> Session:
        return live_session(settings, live, clock=clock, note=notes[0] if notes else None)

    return FeedFirst(feed, session)


def live_session(
    settings: Settings,
    feed: CcxtFeed,
    *,
    clock: Callable[[], int] | None = None,
    note: str | None = None,
) -> Session:
    """The live session on `feed` (`live_start`). `note`: what the symbols' check could not do
    (`check_live_markets`), said in the event log."""
    from adapters.paper import PaperBroker
    from cockpit.session import Session, wall_clock_ms

    clock = clock or wall_clock_ms
    cfg = settings.feed
    symbols = cfg.symbol_list
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

    One REST call, after the first frame and before the feed starts. When the exchange cannot be
    asked (no network), the cockpit starts anyway and the returned note says so: an unknown
    symbol then shows as down in its watchlist row, and only it is blocked."""
    from adapters.ccxt_exchange import describe_error

    try:
        listed = _listed_now(cfg)
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


def _listed_now(cfg: FeedConfig) -> set[str]:
    """The exchange's markets, asked on an event loop of its own: in a thread of its own when
    this thread runs one already (a session built before its app runs, as tests do)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_listed_markets(cfg))
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(_listed_markets(cfg))).result()


async def _listed_markets(cfg: FeedConfig) -> set[str]:
    from adapters.ccxt_candles import CcxtCandles

    source = CcxtCandles(cfg)
    try:
        async with asyncio.timeout(cfg.request_timeout_s * 2):
            return await source.market_symbols()
    finally:
        await source.close()
