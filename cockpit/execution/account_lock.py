"""What the cockpit does when its account's lock is lost (PostgreSQL: `state.advisory_lock`).

A desk runs one cockpit per account; the lock is what makes it one. When the lock's connection
dies (the server restarts, the connection is cut) the server has let the account go, and a second
cockpit could start on it. So, while the lock is not held:

- **no new entry**, from any source (the ticket, a signal, a test): refused with the reason
  "account lock lost", audited (the durable queue writes the row when the database is back), and
  the header says so until the lock is taken back;
- **exits keep going** while nobody else holds the account (LOST): the software stop keeps
  protecting the open positions. Each exit first asks the lock to be taken back (one round trip,
  only on this rare path); an order still needs its intent row, so nothing leaves while the
  database is down anyway;
- **another cockpit took the account** (TAKEN): it restored this account's open positions from
  the journal and manages them now. Two managers of one position would close it twice and write
  over each other, so this cockpit stands down for good: no entry, no exit, no stop move, no
  position written; it says who holds the account and waits to be closed. A venue's own stop
  orders (Drift) stay on the venue whatever happens here.

The entry refusal is decided here and asked for by `Entries`; the stand-down by the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable
from typing import Protocol

from cockpit.execution.commands import Audit
from cockpit.execution.events import LatestState
from state.advisory_lock import LockState, LockStatus

log = logging.getLogger(__name__)


class WatchedLock(Protocol):
    """A lock that can be lost while held (the PostgreSQL account lock)."""

    account: str

    @property
    def status(self) -> LockStatus: ...

    def watch(self, listener: Callable[[LockStatus], None]) -> Callable[[], None]: ...

    def kick(self) -> None: ...

    async def check(self) -> LockStatus: ...


class AccountLockGuard:
    """Follows the account lock and says what may still be sent; state in `latest.account_lock`
    (None while the lock is held, else the line the header and a refused entry show)."""

    def __init__(
        self,
        latest: LatestState,
        audit: Audit,
        event: Callable[[str, str], None],
    ) -> None:
        self._latest = latest
        self._audit = audit
        self._event = event
        self.lock: WatchedLock | None = None
        self._unwatch: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._state = LockState.HELD
        self.on_taken: Callable[[], None] | None = None
        # The alert rules' `fire(rule, subject, level, text)` (set by the session): a lost
        # lock is an alert (notification, Telegram), not only a log line.
        self.alert: Callable[[str, str, str, str], object] | None = None

    def start(self) -> None:
        """Hear the lock's changes on this event loop (they come from the lock's thread).

        A change is handled in the context this was started in (the app's): what it wakes may
        start a Textual timer, and a timer started in the lock thread's context has no app
        and fails when it fires."""
        lock = self.lock
        if lock is None or self._unwatch is not None:
            return
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()

        def heard(status: LockStatus) -> None:
            with contextlib.suppress(RuntimeError):  # the cockpit's loop is closed
                loop.call_soon_threadsafe(self._changed, status, context=context)

        self._unwatch = lock.watch(heard)
        if lock.status.state is not LockState.HELD:
            self._changed(lock.status)

    def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    @property
    def refusal(self) -> str | None:
        """Why no entry may go out now (the lock is not held), or None."""
        return self._latest.account_lock

    @property
    def stood_down(self) -> str | None:
        """Why this cockpit acts on nothing any more (another one holds the account), or None."""
        return self._latest.account_lock if self._state is LockState.TAKEN else None

    def kick(self) -> None:
        """A database write failed: have the lock's connection checked now, not in seconds."""
        if self.lock is not None:
            self.lock.kick()

    async def before_order(self, *, reduce_only: bool) -> str | None:
        """Why this order must not go out, or None. An entry needs the lock held; an exit needs
        that no other cockpit holds the account (it tries to take a lost lock back first)."""
        lock = self.lock
        if lock is None or self._state is LockState.HELD:
            return None
        state: LockState = self._state
        if state is LockState.LOST:
            try:
                status = await lock.check()
            except Exception as exc:  # the lock's thread is gone: as if still lost
                log.warning("account lock check failed: %s", exc)
            else:
                self._changed(status)
                state = status.state
        if state is LockState.TAKEN or (not reduce_only and state is not LockState.HELD):
            return self.refusal
        return None

    def _changed(self, status: LockStatus) -> None:
        lock = self.lock
        if lock is None:
            return
        if status.state is self._state and status.state is not LockState.LOST:
            return
        was, self._state = self._state, status.state
        line = status.describe(lock.account)
        if status.state is LockState.HELD:
            self._latest.account_lock = None
            self._event("info", f"account {lock.account}: lock taken back; entries allowed again")
            self._audit_later("account lock taken back", status.detail)
        elif status.state is LockState.LOST:
            self._latest.account_lock = line
            if was is LockState.HELD:
                self._event("error", f"{line}; open positions are still managed")
                self._audit_later("account lock lost", status.detail)
                self._alert("lost", line)
        else:
            self._latest.account_lock = line
            self._event("error", line)
            self._audit_later("account lock lost to another cockpit", line)
            self._alert("taken", line)
            if self.on_taken is not None:
                self.on_taken()
        self._latest.touch()

    def _alert(self, what: str, text: str) -> None:
        """One alert per kind (lost, taken): the rule's cooldown would hide the second."""
        if self.alert is not None and self.lock is not None:
            self.alert("account_lock", f"{self.lock.account} {what}", "error", text)

    def _audit_later(self, action: str, reason: str) -> None:
        """Audited through the durable queue: written when the database takes it."""

        async def write() -> None:
            await self._audit("account_lock", "cockpit", action, reason or action)

        task = asyncio.get_running_loop().create_task(write())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("account lock audit row not written: %s", task.exception())
