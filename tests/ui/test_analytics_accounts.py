"""The in-app analytics read only the session's account (issue 17), on both engines: a desk's
cockpits share one journal, each one's gates and metrics are its own, and the analytics screen
says which account it shows (`cockpit report --account all` is the desk's view)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from adapters.trades_csv import load_trades_csv
from cockpit.app import CockpitApp
from cockpit.config import Settings
from cockpit.screens.analytics import AnalyticsScreen
from cockpit.session import Session
from state.journal import import_trades
from state.store import Store
from tests.conftest import ENGINES
from tests.ui.harness import FIXED_CLOCK_MS, START_MS, SYMBOL, rally, scripted_ticks
from tests.ui.test_analytics_ui import SAMPLE, SIZE, iso
from tests.waiting import pilot_until


async def import_into(db_url: str, account: str, path: Path) -> None:
    store = await Store.open(db_url, account=account)
    try:
        await import_trades(store, load_trades_csv(path), now_ms=START_MS)
    finally:
        await store.close()


def three_trades(tmp_path: Path) -> Path:
    rows = ["symbol,side,entry_time,entry_price,exit_time,exit_price,size"]
    for k in range(3):
        entry = START_MS - (k + 1) * 86_400_000
        rows.append(f"SOL-PERP,long,{iso(entry)},100,{iso(entry + 60_000)},101,1")
    path = tmp_path / "three.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def app_on(db_url: str, account: str) -> tuple[CockpitApp, ReplayFeed]:
    settings = Settings(db_url=db_url, state_flush_ms=50, account=account)
    feed = ReplayFeed({SYMBOL: scripted_ticks(rally())}, speed=None, simulated=True, label="t")
    feed.pause()
    session = Session(
        settings, feed, PaperBroker(settings.paper), [SYMBOL], clock=lambda: FIXED_CLOCK_MS
    )
    return CockpitApp(session), feed


@pytest.mark.parametrize("db_engine", ENGINES, indirect=True)
async def test_the_analytics_show_the_sessions_account_only(
    any_db_url: str, tmp_path: Path
) -> None:
    await import_into(any_db_url, "paper:a", SAMPLE)  # 60 trades on the desk's other account
    await import_into(any_db_url, "paper:b", three_trades(tmp_path))
    app, feed = app_on(any_db_url, "paper:b")
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await app.session.analytics_settled()
        snapshot = app.session.latest.analytics
        assert snapshot is not None and snapshot.trades == 3
        assert len(app.session.latest.closed_trades) == 3
        await pilot.press("g")
        await pilot_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen))
        title = app.screen.query_one("#analytics-title", Static)
        await pilot_until(pilot, lambda: "closed trades" in str(title.render()))
        assert "Analytics of account paper:b  3 closed trades" in str(title.render())
