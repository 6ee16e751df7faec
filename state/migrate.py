"""Schema versioning: run the Alembic revisions in `state/migrations` from code, no alembic.ini.

The script location is resolved from this file, so migrations work from a checkout and from an
installed wheel alike. Alembic's API is synchronous; it runs inside `AsyncConnection.run_sync` on
the application's own engine (same PRAGMAs, same driver) within one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR: Final[Path] = Path(__file__).resolve().parent / "migrations"

# The advisory lock key that serializes migrations on PostgreSQL ("Ckmg"; accounts use "Ckpt").
MIGRATION_KEY: Final = 0x436B6D67

# The revision this code's models correspond to; tests check it against the scripts' head.
HEAD_REVISION: Final[str] = "0017"


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config pointing at the packaged scripts (and at `connection`)."""
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolates '%', which a user's install path may contain.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_head() -> str | None:
    """The newest revision among the shipped scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the database to HEAD_REVISION; a no-op when it is already there.

    The common case (already at head) is answered with one query, without importing Alembic,
    which would add a few hundred milliseconds to every start.
    """
    async with engine.connect() as conn:
        if await conn.run_sync(_stamped_revision) == HEAD_REVISION:
            return
    await upgrade_to(engine, "head")


async def upgrade_to(engine: AsyncEngine, revision: str) -> None:
    """Upgrade to `revision` (tests use this to build an old schema)."""
    async with engine.begin() as conn:
        await _serialize(conn)
        await conn.run_sync(_upgrade, revision)


async def downgrade_to(engine: AsyncEngine, revision: str) -> None:
    """Downgrade to `revision` ("base" drops every table). Destroys data; tests and tooling only."""
    async with engine.begin() as conn:
        await _serialize(conn)
        await conn.run_sync(_downgrade, revision)


async def _serialize(conn: AsyncConnection) -> None:
    """One migration at a time per PostgreSQL database.

    On SQLite the file lock already lets one cockpit at a time open a journal; on PostgreSQL a
    desk's cockpits on different accounts may start together on a new database, and two
    migrations at once collide (both create alembic_version). A transaction-level advisory lock
    makes the second wait for the first to commit; Alembic then reads the revision the first one
    stamped and has nothing left to do.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key, 0)"), {"key": MIGRATION_KEY})


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision stamped in the database, None for a database never migrated."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current_revision)


def _stamped_revision(connection: Connection) -> str | None:
    """The revision in alembic_version, read with plain SQL (None if never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(connection), revision)


def _current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
