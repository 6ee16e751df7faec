"""The sessions the command line starts, built after the app's first frame (issue 14 item 3).

The demo's and the live feed's are in `cockpit.feeds` (several symbols). `cockpit.cli` checks
what can refuse a start (settings, the journal's lock, a candle file, a
wallet) and hands the app a `SessionStart` whose `build` is one of these: each imports what its
session needs (SQLAlchemy, numpy, ccxt, driftpy...) only when called, in the app's worker thread,
so this module is as light to import as the command line itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.base import Broker
    from adapters.drift.wallet import Wallet
    from adapters.replay import ReplayFeed
    from cockpit.config import Settings
    from cockpit.execution.book import PositionBook
    from cockpit.execution.commands import Audit
    from cockpit.execution.router import Router
    from cockpit.live_venue import LiveVenue
    from cockpit.session import Session
    from cockpit.signals.replay import TimedSignal


def replay_session(
    settings: Settings,
    feed: ReplayFeed,
    symbol: str,
    path: Path,
    speed: float | None,
    resume: bool,
    signals: Path | None,
    timed: list[TimedSignal] | None,
) -> Session:
    """The replay's session (built after the first frame): see `replay_app`."""
    from adapters.paper import PaperBroker
    from cockpit.session import Session
    from cockpit.signals.replay import SignalSchedule

    session = Session(
        settings,
        feed,
        PaperBroker(settings.paper),
        [symbol],
        clock=feed.now_ms,
        fresh_run=not resume,
        replay_source=path.name,
    )
    if timed is not None and signals is not None:
        session.signal_schedule = SignalSchedule(timed, session.signals, f"replay:{signals.name}")
        session.event("info", f"{len(timed)} signals from {signals.name} ({settings.webhook.mode})")
    speed_text = "max" if speed is None else f"{speed:g}x"
    session.event("info", f"replay of {path.name} as {symbol} at {speed_text}")
    return session


def drift_keeper(router: Router, book: PositionBook, audit: Audit, broker: Broker) -> LiveVenue:
    """The keeper of a Drift broker: its stops, unconfirmed orders and reconcile."""
    from adapters.drift import DriftBroker
    from cockpit.live_venue import LiveVenue

    if not isinstance(broker, DriftBroker):
        raise TypeError(f"the Drift keeper needs a DriftBroker, not {type(broker).__name__}")
    return LiveVenue(router, book, audit, broker)


def drift_session(settings: Settings, wallet: Wallet) -> Session:
    """The Drift session of `drift_app`, with a checked wallet."""
    from adapters.ccxt_candles import CcxtCandles
    from adapters.drift import DriftBroker, DriftOracleFeed
    from adapters.drift.market_names import missing_candle_symbols
    from adapters.paper import PaperBroker
    from cockpit.session import Session, wall_clock_ms

    cfg = settings.drift
    broker = DriftBroker.unconnected(cfg, wallet)
    feed = DriftOracleFeed(
        broker.client,
        cfg,
        candle_source=CcxtCandles(settings.feed),
        rpc=broker.rpc,
        loader=broker.loader_watch,
    )
    paper = PaperBroker(
        settings.paper, max_price_age_ms=int(cfg.stale_after_s * 1000), clock=wall_clock_ms
    )
    session = Session(
        settings,
        feed,
        paper,
        list(cfg.markets),
        live_broker=broker,
        keeper=drift_keeper,
        wallet=wallet.short,
    )
    session.event(
        "info",
        f"Drift {cfg.env} as {wallet.short}: SHADOW fills on paper at the oracle price; "
        "m + typed LIVE for real orders under the LIVE-SMALL limits",
    )
    for market in missing_candle_symbols(cfg):
        session.event(
            "warning",
            f"no candles for {market}'s ATR: add it to drift.candle_symbols "
            "(the ccxt symbol on the [feed] exchange); fixed exits still work",
        )
    return session
