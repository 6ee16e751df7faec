"""Which single-instance lock a cockpit takes, decided in one place for every kind of database.

- a SQLite file: the file lock beside it (`state.instance_lock`), one cockpit per file, whatever
  the account (a SQLite journal is one trader's);
- PostgreSQL: the account's advisory lock (`state.advisory_lock`), one cockpit per account, so a
  desk's cockpits share the database; `account=None` (tools such as `db copy`) takes none there;
- in-memory SQLite: none (it dies with its process).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Final

from state.advisory_lock import AdvisoryLock
from state.instance_lock import InstanceLock
from state.instance_lock import lock_for_url as file_lock_for_url

Lock = InstanceLock | AdvisoryLock

DEFAULT_ACCOUNT: Final = "default"
"""`state.models.DEFAULT_ACCOUNT`, repeated: this module is on the way to the first frame, where
SQLAlchemy (which state.models needs) is not loaded yet (tests/state checks they agree)."""

# The backend part of a URL, as SQLAlchemy's own URL pattern reads it ("postgresql+asyncpg://").
_BACKEND = re.compile(r"^([\w]+)(?:\+[\w]+)?://")


def backend_name(url: str) -> str:
    """'postgresql', 'sqlite', ...: read from the URL's text without loading SQLAlchemy, which
    costs a few hundred ms before the first frame. A URL this cannot read is parsed by SQLAlchemy
    itself, whose error names what is wrong with it."""
    found = _BACKEND.match(url)
    if found is not None:
        return found.group(1)
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


def lock_for_url(url: str, *, account: str | None = DEFAULT_ACCOUNT) -> Lock | None:
    """The lock this database (and account) needs, or None."""
    if backend_name(url) == "postgresql":
        return None if account is None else AdvisoryLock(url, account)
    return file_lock_for_url(url)


@contextlib.contextmanager
def database_lock(url: str, *, account: str | None = DEFAULT_ACCOUNT) -> Iterator[Lock | None]:
    """Hold the lock (if any) for the body; released on exit and on errors."""
    lock = lock_for_url(url, account=account)
    if lock is None:
        yield None
        return
    with lock:
        yield lock
