"""A new demo resumes from the last price the previous one saw, read before its markets start
with the standard library's sqlite3 (not the store: SQLAlchemy is most of a second to import);
the same answer as the store's, per account, and the store's own answer where sqlite3 cannot
give one. On real SQLite journals."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from cockpit.config import Settings
from cockpit.feeds import demo_start, last_prices_quickly
from cockpit.last_price import last_prices, settings_from_sqlite
from state.db import create_engine_for
from state.migrate import upgrade_to
from state.store import Store

SOL, BTC = "SOL-PERP", "BTC-PERP"


async def journal_with_prices(db: Path) -> str:
    url = f"sqlite+aiosqlite:///{db}"
    for account, price in (("default", "101.5"), ("paper:b", "99.25")):
        store = await Store.open(url, account=account)
        await store.set_setting(f"last_price:{SOL}", price)
        await store.close()
    return url


async def test_the_quick_read_gives_the_stores_answer_per_account(tmp_path: Path) -> None:
    url = await journal_with_prices(tmp_path / "demo.db")
    for account in ("default", "paper:b", "paper:c"):
        quick = await asyncio.to_thread(last_prices_quickly, url, [SOL, BTC], account)
        assert quick == await last_prices(url, [SOL, BTC], account)
    assert settings_from_sqlite(url, [f"last_price:{SOL}"], "paper:b") == {
        f"last_price:{SOL}": "99.25"
    }


def test_a_journal_not_created_yet_has_no_last_price_and_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    url = f"sqlite+aiosqlite:///{db}"
    assert last_prices_quickly(url, [SOL], "default") == {SOL: None}
    assert not db.exists()


async def test_a_journal_sqlite3_cannot_answer_is_read_through_the_store(tmp_path: Path) -> None:
    """A journal of a schema before settings had accounts (0014): the store migrates it and
    answers; so does a file that is not SQLite's."""
    db = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{db}"
    engine = create_engine_for(url)
    await upgrade_to(engine, "0009")  # the revision before 0014
    await engine.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO settings (key, value) VALUES (?, '97.5')", (f"last_price:{SOL}",))
    conn.close()
    assert settings_from_sqlite(url, [f"last_price:{SOL}"], "default") is None
    quick = await asyncio.to_thread(last_prices_quickly, url, [SOL], "default")
    assert quick == {SOL: 97.5}


async def test_the_demo_market_starts_at_the_last_price_seen(tmp_path: Path) -> None:
    url = await journal_with_prices(tmp_path / "demo.db")
    start = demo_start(Settings(db_url=url), seed=1, speed=None, symbols=[SOL])
    feed = await asyncio.to_thread(start.feed)
    first = await anext(feed.ticks(SOL))
    assert first.price == pytest.approx(101.5, rel=1e-12)
    await feed.close()
