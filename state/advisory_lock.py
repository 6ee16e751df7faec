"""One cockpit per account on a shared PostgreSQL journal: a session-level advisory lock.

The SQLite journal keeps its file lock (`state.instance_lock`: one cockpit per file). On
PostgreSQL a desk shares one database, so the rule becomes one cockpit per *account*: the lock is
`pg_try_advisory_lock(COCKPIT_KEY, key(account))` taken on a connection of its own that is held
open for the cockpit's life. The server drops it when that connection ends however the process
ends (kill -9, a laptop lid), so a dead holder's account is free on the next start with nothing to
clean up, as with the file lock.

Who holds it: the lock's connection names itself `cockpit pid=N host=H` (application_name); a
refused cockpit reads that and the connection's start time from pg_stat_activity.

The connection lives on a thread with its own event loop, so the lock has the same synchronous
acquire/release as the file lock and outlives whatever loop the cockpit runs (Textual's).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import zlib
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self

from state.instance_lock import DatabaseInUse, Holder, InstanceLockError

COCKPIT_KEY: Final = 0x436B7074  # "Ckpt": the first key of every cockpit advisory lock
CONNECT_TIMEOUT_S: Final = 30.0
_APP_NAME: Final = re.compile(r"cockpit pid=(\d+) host=(\S+)")
_HOLDER_SQL: Final = """
SELECT a.application_name, a.backend_start
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
LIMIT 1
"""


def account_key(account: str) -> int:
    """A stable non-negative int4 for the account (the second advisory key)."""
    return zlib.crc32(account.encode()) & 0x7FFFFFFF


class AccountInUse(DatabaseInUse):
    """Another live cockpit holds this account on the shared database."""

    hint = (
        "close that cockpit first, or start this one on another account with --account; "
        "a lock left by a cockpit that died is free again once its connection is gone"
    )

    def __init__(self, where: str, account: str, holder: Holder | None) -> None:
        self.where, self.account = where, account
        super().__init__(_no_path(where), holder)

    def __str__(self) -> str:
        head = f"account {self.account} on {self.where} is in use by"
        if self.holder is None:
            return f"{head} another cockpit (it has not said which)"
        since = self.holder.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"{head} cockpit pid {self.holder.pid} on {self.holder.host} since {since} UTC"


def _no_path(where: str) -> Any:
    from pathlib import Path

    return Path(where)


class AdvisoryLock:
    """The account's lock, held from `acquire` to `release` (or for the body of a `with`)."""

    def __init__(self, url: str, account: str) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.account = account
        self.where = parsed.render_as_string(hide_password=True)
        self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def acquire(self) -> None:
        """Take the lock at once or raise AccountInUse; never waits for the holder."""
        if self._thread is not None:
            raise RuntimeError(f"account {self.account} is already held by this lock")
        self._ready.clear()
        self._error = None
        thread = threading.Thread(target=self._run, name="cockpit-account-lock", daemon=True)
        thread.start()
        self._ready.wait()
        if self._error is not None:
            thread.join()
            error, self._error = self._error, None
            raise error
        self._thread = thread

    def release(self) -> None:
        """Give the account up (closes the lock's connection); harmless when not held."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join()

    @property
    def held(self) -> bool:
        """True while the lock's connection is up (False once the server dropped it)."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        asyncio.run(self._hold())

    async def _hold(self) -> None:
        import asyncpg

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        key = account_key(self.account)
        name = f"cockpit pid={os.getpid()} host={socket.gethostname()}"[:63]
        try:
            conn = await asyncpg.connect(
                self._dsn,
                timeout=CONNECT_TIMEOUT_S,
                server_settings={"application_name": name},
            )
        except Exception as exc:
            self._error = InstanceLockError(
                f"cannot reach {self.where} for the account lock: {connect_problem(exc)}"
            )
            self._ready.set()
            return
        try:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", COCKPIT_KEY, key):
                row = await conn.fetchrow(_HOLDER_SQL, COCKPIT_KEY, key)
                self._error = AccountInUse(self.where, self.account, _holder(row))
                self._ready.set()
                return
            self._ready.set()
            await self._stop.wait()
        except Exception as exc:
            if not self._ready.is_set():
                self._error = InstanceLockError(f"account lock on {self.where}: {exc}")
                self._ready.set()
        finally:
            try:
                await asyncio.wait_for(conn.close(), timeout=CONNECT_TIMEOUT_S)
            except Exception:
                conn.terminate()

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _holder(row: Any) -> Holder | None:
    if row is None:
        return None
    match = _APP_NAME.fullmatch(str(row["application_name"] or ""))
    started = row["backend_start"]
    if match is None or not isinstance(started, datetime):
        return None
    return Holder(
        int(match.group(1)), match.group(2), started.astimezone(UTC).replace(microsecond=0)
    )


def connect_problem(exc: BaseException) -> str:
    """One line saying why a connection failed, without the URL (so never its password)."""
    orig = getattr(exc, "orig", None) or exc.__cause__ or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__
