"""Imported trades feed the analytics but never the LIVE-SMALL limits: a journal of losses closed
today, entered a second ago, neither trips the daily loss stop nor starts a cooldown."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from adapters.trades_csv import load_trades_csv
from cockpit.config import Settings
from cockpit.domain import Side, Tick
from cockpit.session import OrderRejected, Session
from state.journal import import_trades
from state.store import Store

SYMBOL = "SOL-PERP"
NOW = 1_761_919_500_000  # 2025-10-31 14:05:00 UTC
WALLET = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def flat() -> Iterator[Tick]:
    for i in range(100):
        yield Tick(SYMBOL, NOW + 1000 * i, 100.0, bid=99.99, ask=100.01)


async def import_todays_losses(db_url: str, tmp_path: Path) -> None:
    """Three losing trades of -10 each, closed this morning; the last entered 1 s before NOW."""
    rows = ["symbol,side,entry_time,entry_price,exit_time,exit_price,size"]
    for k in range(3):
        entry = NOW - 1000 - k * 3_600_000
        rows.append(f"{SYMBOL},long,{iso(entry)},100,{iso(entry + 500)},90,1")
    path = tmp_path / "losses.csv"
    path.write_text("\n".join(rows) + "\n")
    store = await Store.open(db_url)
    try:
        await import_trades(store, load_trades_csv(path), now_ms=NOW)
    finally:
        await store.close()


async def live_entry(db_url: str) -> str:
    """Start a session with a 5 USDT daily loss stop and a 60 s cooldown, go LIVE-SMALL and try
    an entry; returns "" when it is accepted, else the refusal."""
    settings = Settings(db_url=db_url, risk={"daily_loss_limit_usdt": 5, "entry_cooldown_s": 60})
    feed = ReplayFeed({SYMBOL: flat()}, speed=None, simulated=False, label="test", paused=True)
    session = Session(
        settings,
        feed,
        PaperBroker(settings.paper),
        [SYMBOL],
        live_broker=PaperBroker(settings.paper, venue="live-test"),
        wallet=WALLET,
        clock=lambda: NOW,
    )
    await session.start()
    try:
        await feed.step(1)
        await session.enter_live("LIVE")
        await session.open_position(SYMBOL, Side.LONG, 20, 2)
        return ""
    except OrderRejected as exc:
        return str(exc)
    finally:
        await session.stop()


async def test_imported_losses_do_not_stop_live_trading(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'j.db'}"
    await import_todays_losses(db_url, tmp_path)
    assert await live_entry(db_url) == ""


async def test_the_same_trades_recorded_live_would_stop_it(tmp_path: Path) -> None:
    """Control for the test above: the rebuild does see such trades when they are live."""
    db = tmp_path / "j.db"
    db_url = f"sqlite+aiosqlite:///{db}"
    await import_todays_losses(db_url, tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE trades SET mode = 'live_small', venue = 'live-test'")
    refusal = await live_entry(db_url)
    assert "cooldown" in refusal or "daily loss stop" in refusal
