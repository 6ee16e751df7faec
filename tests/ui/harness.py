"""A deterministic cockpit for UI tests.

Scripted prices, a paused feed stepped by the test, a fixed clock, a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from cockpit.config import Settings, load_settings
from cockpit.domain import Candle, Tick
from cockpit.session import Session

SYMBOL = "SOL-PERP"
START_MS = 1_750_000_000_000
FIXED_CLOCK_MS = START_MS + 3_600_000


def scripted_ticks(prices: list[float], start_ms: int = START_MS) -> Iterator[Tick]:
    """One tick per second along `prices`, with a 1-cent spread around each."""
    for i, price in enumerate(prices):
        yield Tick(SYMBOL, start_ms + 1000 * i, price, bid=price - 0.005, ask=price + 0.005)


def rally(
    start: float = 100.0, flat: int = 5, steps: int = 40, step_pct: float = 0.1
) -> list[float]:
    """Flat, then a steady rise of `step_pct` % per tick: crosses +1.5 % after 15 rising ticks."""
    prices = [start] * flat
    prices += [start * (1 + step_pct / 100 * i) for i in range(1, steps + 1)]
    return prices


AppFactory = Callable[[list[float]], tuple[CockpitApp, ReplayFeed]]

BAR_MS = 15 * 60_000


def atr_history(price: float = 100.0, true_range: float = 2.0, n: int = 20) -> list[Candle]:
    """`n` closed 15m bars before START_MS, each `true_range` high to low: ATR(14) = that."""
    first = START_MS - START_MS % BAR_MS - n * BAR_MS
    half = true_range / 2
    return [
        Candle(SYMBOL, "15m", first + i * BAR_MS, price, price + half, price - half, price, 1.0)
        for i in range(n)
    ]


LIVE_WALLET = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


def app_factory(
    db_url: str, *, live: bool = False, atr_bars: bool = False, config: Path | None = None
) -> AppFactory:
    """Apps on the same database file, each with its own scripted, paused feed.

    `live=True` gives the session a stand-in live venue (a second paper broker named
    "live-test"), a wallet address and a feed that is not simulated, so LIVE-SMALL can be entered.
    `atr_bars=True` gives the feed 15m history with an ATR of 2.0, for the ATR policies.
    `config` is a TOML settings file read as the cockpit reads its own (database and flush
    interval still the test's).
    """

    def factory(prices: list[float]) -> tuple[CockpitApp, ReplayFeed]:
        if config is None:
            settings = Settings(db_url=db_url, state_flush_ms=50)
        else:
            settings = load_settings(config, db_url=db_url, state_flush_ms=50)
        feed = ReplayFeed(
            {SYMBOL: scripted_ticks(prices)},
            speed=None,
            simulated=not live,
            label="test",
            candle_history={SYMBOL: atr_history()} if atr_bars else None,
        )
        feed.pause()
        session = Session(
            settings,
            feed,
            PaperBroker(settings.paper),
            [SYMBOL],
            live_broker=PaperBroker(settings.paper, venue="live-test") if live else None,
            wallet=LIVE_WALLET if live else None,
            clock=lambda: FIXED_CLOCK_MS,
        )
        return CockpitApp(session), feed

    return factory


def screen_text(app: CockpitApp) -> str:
    """What the terminal shows now, as plain text lines (the same render as a screenshot)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()
