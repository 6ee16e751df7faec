"""Engine construction: the one place that knows SQLite needs PRAGMAs on every connection.

WAL lets the UI's reads run while the writer commits; `synchronous=NORMAL` in WAL mode keeps every
commit safe against a crashed or killed process (only an OS crash or power loss can drop the last
commits) at a fraction of FULL's fsync cost; SQLite leaves foreign keys off unless asked, per
connection; `busy_timeout` makes a second process wait for the lock instead of failing at once.
Other dialects (PostgreSQL) are left exactly as SQLAlchemy configures them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_PRAGMAS: Final[tuple[str, ...]] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def create_engine_for(url: str) -> AsyncEngine:
    """An async engine for `url`; for a SQLite file, its directory is created and PRAGMAs set."""
    parsed = make_url(url)
    engine = create_async_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file_path(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    return engine


def sqlite_file_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None for in-memory and `file:` URI databases."""
    database = url.database
    if not database or database == ":memory:":
        return None
    if url.query.get("uri") or database.startswith("file:"):
        return None
    return Path(database)


def _set_sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    """Runs once per new DBAPI connection (the pool reuses them), before SQLAlchemy uses it."""
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()
