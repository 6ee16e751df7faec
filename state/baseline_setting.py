"""The P2 win condition's baseline as the trader chose it on the analytics screen.

Remembered in `settings` under `analytics.baseline` as the same `kind:value` text that
`cockpit report --baseline` takes, so the screen, a restart and the report agree; an empty value
means "back to `analytics.baseline_end`". A value that no longer parses is ignored (None).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cockpit.analytics.baseline import BaselineChoice, parse_baseline
from state.store import Store

BASELINE_KEY = "analytics.baseline"


def choice_text(choice: BaselineChoice | None) -> str:
    return "" if choice is None else f"{choice.kind}:{choice.value}"


def _parsed(text: str | None) -> BaselineChoice | None:
    if not text:
        return None
    try:
        return parse_baseline(text)
    except ValueError:
        return None


async def remembered_baseline(store: Store) -> BaselineChoice | None:
    return _parsed(await store.get_setting(BASELINE_KEY))


async def remember_baseline(store: Store, choice: BaselineChoice | None) -> None:
    await store.set_setting(BASELINE_KEY, choice_text(choice))


def remembered_baseline_at(path: Path) -> BaselineChoice | None:
    """The same, from a SQLite file through a read-only connection (`cockpit report`)."""
    from state.journal_reader import connect_read_only

    conn = connect_read_only(path)
    try:
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (BASELINE_KEY,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return _parsed(None if row is None else str(row[0]))
