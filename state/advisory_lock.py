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

A lock can be lost while its cockpit runs: the server restarts, or the connection is cut
(`pg_terminate_backend`, a network drop). The lock's thread notices (a `SELECT 1` every few
seconds, or at once when kicked) and tries to take it back with backoff; until it has, the
cockpit refuses entries (`cockpit.execution.account_lock`). If another cockpit took the account
in between, this one never takes it back (`LockState.TAKEN`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, Self

from state.instance_lock import DatabaseInUse, Holder, InstanceLockError

log = logging.getLogger(__name__)

COCKPIT_KEY: Final = 0x436B7074  # "Ckpt": the first key of every cockpit advisory lock
CONNECT_TIMEOUT_S: Final = 30.0
CHECK_EVERY_S: Final = 5.0  # how often the holder checks its lock's connection
PING_TIMEOUT_S: Final = 10.0  # a check or a try to take it back that takes longer has failed
RETRY_INITIAL_S: Final = 1.0  # taking a lost lock back: 1 s, 2 s, 4 s ... up to RETRY_MAX_S
RETRY_MAX_S: Final = 30.0
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


class LockState(StrEnum):
    """Where the account's lock stands, as the cockpit holding it sees it."""

    HELD = "held"
    LOST = "lost"  # its connection went (a server restart): trying to take it again
    TAKEN = "taken"  # another cockpit took the account meanwhile: never taken back from here


@dataclass(frozen=True, slots=True)
class LockStatus:
    """The lock's state, why it was lost (or why taking it back failed), and who took it."""

    state: LockState
    detail: str = ""
    holder: Holder | None = None

    def describe(self, account: str) -> str:
        """One line for the trader (the header, the event log, a refused entry)."""
        if self.state is LockState.HELD:
            return f"account {account}: lock held"
        if self.state is LockState.LOST:
            why = f" ({self.detail})" if self.detail else ""
            return f"account lock lost{why}: taking it back, no new entries until then"
        if self.holder is None:
            who = "another cockpit (it has not said which)"
        else:
            since = self.holder.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            who = f"cockpit pid {self.holder.pid} on {self.holder.host} since {since} UTC"
        return (
            f"account lock lost: account {account} is now held by {who}; this cockpit "
            "sends no more orders for it (close it)"
        )


Listener = Callable[[LockStatus], None]


class AdvisoryLock:
    """The account's lock, held from `acquire` to `release` (or for the body of a `with`).

    While held, the lock's thread checks its connection every `check_every_s` (one `SELECT 1`,
    off the cockpit's loop), and at once when `kick`ed (the cockpit kicks it when a database
    write fails). A dead connection means the server has dropped the lock: the status becomes
    LOST and the thread tries to take it again at once, then with backoff; it becomes HELD
    again, or TAKEN when another cockpit holds the account by then. TAKEN is final: that
    cockpit restored this account's positions and manages them, so this one's memory of them is
    no longer the account's; it must be closed, not resumed. Listeners hear every change, on the
    lock's thread.
    """

    def __init__(
        self,
        url: str,
        account: str,
        *,
        check_every_s: float = CHECK_EVERY_S,
        retry_initial_s: float = RETRY_INITIAL_S,
    ) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.account = account
        self.where = parsed.render_as_string(hide_password=True)
        self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.check_every_s = check_every_s
        self._retry_initial_s = retry_initial_s
        self._retry_s = retry_initial_s
        self._next_try = 0.0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._kick: asyncio.Event | None = None
        self._checking: asyncio.Lock | None = None
        self._conn: Any = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._status = LockStatus(LockState.HELD)
        self._listeners: list[Listener] = []

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
        """True while this cockpit holds the account (as of the last check)."""
        alive = self._thread is not None and self._thread.is_alive()
        return alive and self._status.state is LockState.HELD

    @property
    def status(self) -> LockStatus:
        return self._status

    def watch(self, listener: Listener) -> Callable[[], None]:
        """Hear every change of status (on the lock's thread); returns the way to stop."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def kick(self) -> None:
        """Check the connection now instead of at the next period (safe from any thread)."""
        loop, kick = self._loop, self._kick
        if loop is not None and kick is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # the lock's loop has just ended
                loop.call_soon_threadsafe(kick.set)

    def check_now(self) -> LockStatus:
        """Check now from a thread that is not the lock's (a LOST lock is tried again at once,
        whatever the backoff) and return the status; blocks until done."""
        return self._submit().result()

    async def check(self) -> LockStatus:
        """`check_now` for a coroutine on another event loop (the cockpit's)."""
        return await asyncio.wrap_future(self._submit())

    def _submit(self) -> concurrent.futures.Future[LockStatus]:
        loop = self._loop
        if loop is None or self._thread is None:
            raise RuntimeError(f"account {self.account}'s lock is not held")
        return asyncio.run_coroutine_threadsafe(self._check(force=True), loop)

    # ---------------------------------------------------------------- the lock's thread
    def _run(self) -> None:
        asyncio.run(self._hold())

    async def _hold(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._kick, self._checking = asyncio.Event(), asyncio.Lock()
        self._status = LockStatus(LockState.HELD)
        try:
            conn = await self._connect(CONNECT_TIMEOUT_S)
        except Exception as exc:
            self._error = InstanceLockError(
                f"cannot reach {self.where} for the account lock: {connect_problem(exc)}"
            )
            self._ready.set()
            return
        try:
            if not await self._try_lock(conn):
                self._error = AccountInUse(self.where, self.account, await self._holder(conn))
                await _close(conn)
                self._ready.set()
                return
        except Exception as exc:
            await _close(conn)
            self._error = InstanceLockError(f"account lock on {self.where}: {exc}")
            self._ready.set()
            return
        self._conn = conn
        self._ready.set()
        try:
            await self._watch()
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                await _close(conn)

    async def _watch(self) -> None:
        stop, kick = self._stop, self._kick
        assert stop is not None and kick is not None
        while not stop.is_set():
            wait = self.check_every_s
            if self._status.state is LockState.LOST:
                wait = min(wait, max(0.0, self._next_try - time.monotonic()))
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(kick.wait())]
            try:
                await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if stop.is_set():
                return
            forced = kick.is_set()
            kick.clear()
            with contextlib.suppress(Exception):  # a check never ends the watch
                await self._check(force=forced)

    async def _check(self, *, force: bool) -> LockStatus:
        checking = self._checking
        assert checking is not None
        async with checking:
            if self._status.state is LockState.HELD:
                problem = await self._ping()
                if problem is None:
                    return self._status
                conn, self._conn = self._conn, None
                if conn is not None:
                    conn.terminate()
                self._retry_s, force = self._retry_initial_s, True
                self._set(LockStatus(LockState.LOST, problem))
            if self._status.state is LockState.LOST and (
                force or time.monotonic() >= self._next_try
            ):
                await self._take_back()
            return self._status

    async def _ping(self) -> str | None:
        """None while the lock's connection answers, else why it does not."""
        conn = self._conn
        if conn is None or conn.is_closed():
            return "its connection is closed"
        try:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=PING_TIMEOUT_S)
        except TimeoutError:
            return f"the server did not answer in {PING_TIMEOUT_S:g} s"
        except Exception as exc:
            return connect_problem(exc)
        return None

    async def _take_back(self) -> None:
        try:
            conn = await self._connect(PING_TIMEOUT_S)
        except Exception as exc:
            self._retry_later(f"cannot reach {self.where}: {connect_problem(exc)}")
            return
        try:
            if await self._try_lock(conn):
                self._conn = conn
                self._retry_s = self._retry_initial_s
                self._set(LockStatus(LockState.HELD, "taken back"))
                return
            holder = await self._holder(conn)
        except Exception as exc:
            conn.terminate()
            self._retry_later(connect_problem(exc))
            return
        await _close(conn)
        self._set(LockStatus(LockState.TAKEN, "another cockpit holds it", holder))

    def _retry_later(self, why: str) -> None:
        self._next_try = time.monotonic() + self._retry_s
        self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)
        if why != self._status.detail:
            self._set(LockStatus(LockState.LOST, why))

    def _set(self, status: LockStatus) -> None:
        self._status = status
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                log.exception("account lock listener failed")

    async def _connect(self, timeout: float) -> Any:
        import asyncpg

        name = f"cockpit pid={os.getpid()} host={socket.gethostname()}"[:63]
        return await asyncpg.connect(
            self._dsn, timeout=timeout, server_settings={"application_name": name}
        )

    async def _try_lock(self, conn: Any) -> bool:
        key = account_key(self.account)
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", COCKPIT_KEY, key))

    async def _holder(self, conn: Any) -> Holder | None:
        return _holder(await conn.fetchrow(_HOLDER_SQL, COCKPIT_KEY, account_key(self.account)))

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


async def _close(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=PING_TIMEOUT_S)
    except Exception:
        conn.terminate()


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
