"""Regenerate docs/cockpit.svg, docs/trade-detail.svg and docs/trade-ledger.svg, the README's
pictures of the cockpit on the demo market (the dashboard, then Enter on the open long: its trade
detail, then Enter on the closed short: its counterfactual ledger).

    uv run python docs/screenshot.py

Two seeded simulated markets (SOL and BTC: the watchlist shows both) in a throwaway
database: one trade that already closed, one open long under the quality_tiers policy, a few
minutes of simulated ticks, rendered headless at 150x44.
The demo feed records no candles: the ticks are put into 1m bars, as the candle recorder keeps a
live feed's, so the ledger has the closed trade's path.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from adapters.paper import PaperBroker
from adapters.replay import simulated_markets
from cockpit.app import CockpitApp
from cockpit.config import Settings
from cockpit.domain import Candle, Side
from cockpit.session import Session
from widgets.history_table import HistoryTable

OUT = Path(__file__).with_name("cockpit.svg")
DETAIL_OUT = Path(__file__).with_name("trade-detail.svg")
LEDGER_OUT = Path(__file__).with_name("trade-ledger.svg")
START_MS = 1_763_700_000_000 - 1_763_700_000_000 % 60_000
SEED = 11


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp}/shot.db")
        markets = {"SOL-PERP": (150.0, SEED), "BTC-PERP": (95_000.0, SEED + 1)}
        feed = simulated_markets(markets, start_ms=START_MS, speed=None, paused=True)
        session = Session(
            settings,
            feed,
            PaperBroker(settings.paper),
            list(markets),
            clock=lambda: feed.market_ms or START_MS,  # the market's time, event log included
        )
        app = CockpitApp(session)
        async with app.run_test(size=(150, 44)) as pilot:
            await feed.step(30)
            first = await session.open_position("SOL-PERP", Side.SHORT, 40, 2)
            await feed.step(200)
            if first.trade_id is not None and not first.closed:
                await session.close_position(first.trade_id)
            await feed.step(60)
            await session.open_position(
                "SOL-PERP", Side.LONG, 25, 2, policy="quality_tiers", quality_score=86.0
            )
            await feed.step(400)
            await session.analytics_settled()
            await pilot.pause(0.6)
            app.save_screenshot(str(OUT))
            await pilot.press("enter")
            for _ in range(500):
                await pilot.pause(0.02)
                if getattr(app.screen, "detail", None) is not None:
                    break
            await pilot.pause(0.3)
            app.save_screenshot(str(DETAIL_OUT))
            await pilot.press("escape")
            await feed.step(2500)  # the market goes on after the short's close
            await session.require_store().upsert_candles(minute_bars(session))
            session.ledger.kick()
            for _ in range(1500):
                await pilot.pause(0.02)
                totals = session.ledger.totals
                if totals is not None and any(s.results for s in totals.sets):
                    break
            app.screen.query_one(HistoryTable).focus()
            await pilot.pause(0.1)
            await pilot.press("enter")
            for _ in range(500):
                await pilot.pause(0.02)
                if getattr(app.screen, "detail", None) is not None:
                    break
            await pilot.pause(0.3)
            app.save_screenshot(str(LEDGER_OUT))
    print(f"wrote {OUT}, {DETAIL_OUT} and {LEDGER_OUT}")


def minute_bars(session: Session) -> list[Candle]:
    """The session's ticks as the closed 1m bars a candle recorder would have kept."""
    bars: dict[int, list[float]] = {}
    for ts, price in session.latest.price_history.get("SOL-PERP", ()):
        bars.setdefault(ts - ts % 60_000, []).append(price)
    closed = sorted(bars)[:-1]  # the last minute is still forming
    return [
        Candle("SOL-PERP", "1m", t, bars[t][0], max(bars[t]), min(bars[t]), bars[t][-1], 1.0)
        for t in closed
    ]


if __name__ == "__main__":
    asyncio.run(main())
