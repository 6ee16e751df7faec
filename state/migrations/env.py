"""Alembic environment: migrate the connection `state.migrate` hands over.

`state.migrate` runs Alembic inside `AsyncConnection.run_sync`, so the sync connection arrives in
`config.attributes["connection"]` and the surrounding transaction belongs to the caller. There is
no engine construction and no logging configuration here on purpose: the application owns both.
`render_as_batch` lets later revisions alter SQLite tables (copy-and-move) with the same code that
emits plain ALTERs on PostgreSQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from state.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported; use state.migrate")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through state.migrate, which supplies the connection")
    _run(connection)


_main()
