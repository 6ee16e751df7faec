"""The last price a session saw per symbol, kept in the settings table so a new demo market
resumes from where the previous one stopped instead of jumping back to its start price.

Light to import (no SQLAlchemy): the demo reads the last prices before its markets start, and
those start before the journal is opened (issue 14 item 3)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

DEFAULT_ACCOUNT = "default"  # state.models.DEFAULT_ACCOUNT (importing it loads SQLAlchemy)


def last_price_key(symbol: str) -> str:
    return f"last_price:{symbol}"


def last_tick_ms_key(symbol: str) -> str:
    """When that last price was seen, in the session's time (a replay's: the data's)."""
    return f"last_tick_ms:{symbol}"


def as_price(value: str | None) -> float | None:
    """A stored last price, None when there is none or it is not a number."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def last_price(db_url: str, symbol: str, account: str = DEFAULT_ACCOUNT) -> float | None:
    """The last price a previous session of `account` saw for `symbol`, or None."""
    return (await last_prices(db_url, [symbol], account))[symbol]


async def last_prices(
    db_url: str, symbols: list[str], account: str = DEFAULT_ACCOUNT
) -> dict[str, float | None]:
    """The last price a previous session of `account` saw for each of `symbols` (None: never
    seen), through the store (which creates and migrates the journal)."""
    from state.store import Store

    store = await Store.open(db_url, account=account)
    try:
        values = {s: await store.get_setting(last_price_key(s)) for s in symbols}
    finally:
        await store.close()
    return {symbol: as_price(value) for symbol, value in values.items()}


def settings_from_sqlite(db_url: str, keys: list[str], account: str) -> dict[str, str] | None:
    """The values of `keys` for `account` in a SQLite journal's settings table, read with the
    standard library and read-only (a journal file that does not exist yet is not created: it has
    none); None when this cannot answer (not SQLite, a URL with options, a table of an older
    schema, a file that is not a database), and the store must be asked instead."""
    found = re.match(r"^sqlite(?:\+\w+)?:///([^?]*)$", db_url)
    if found is None:
        return None
    path = found.group(1)
    if path in ("", ":memory:"):
        return {}  # an in-memory journal is new: nothing seen yet
    file = Path(path)
    if not file.exists():
        return {}
    marks = ", ".join("?" * len(keys))
    query = f"SELECT key, value FROM settings WHERE account = ? AND key IN ({marks})"
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute(query, [account, *keys]).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return {str(key): str(value) for key, value in rows}
