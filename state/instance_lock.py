"""One cockpit process per database.

Two cockpits writing one journal would each restore the same open positions and manage them
twice: two exit engines, two sets of stop orders, two writers interleaving rows. So every command
that writes the database takes an exclusive lock first, and a second one is refused at start with
who holds it.

For a SQLite file the lock is `<database>.lock` beside it, locked with the operating system's
file lock (`flock` on POSIX, `msvcrt.locking` on Windows). The OS drops that lock when its holder
dies however it dies (SIGKILL, power cut of a remote shell), so a dead holder's lock is taken over
on the next start with nothing to clean up. The file's content (pid, host, start time) is only
there to say who holds it. `filelock` was not used: it truncates the file on every attempt, which
would erase the holder's details each time a second process is refused.

Which lock a database gets is decided in one place, `lock_for_url`: a SQLite file gets this file
lock; an in-memory database dies with its process and needs none; a server database (PostgreSQL)
gets none here (an advisory lock taken through its own connection belongs in the store).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final, Self
from urllib.parse import unquote

LOCK_SUFFIX: Final = ".lock"
# A holder writes its details right after it gets the lock; a refused process that reads the
# file in between sees it empty and looks again for this long before saying "another cockpit".
_READ_RETRY_S: Final = 0.5
_READ_RETRY_STEP_S: Final = 0.05
# Windows locks byte ranges and a locked range cannot be read: lock one byte far past the
# details so that a refused process can still read them.
_WINDOWS_LOCK_OFFSET: Final = 1 << 30


@dataclass(frozen=True)
class Holder:
    """Who holds a database: enough for the trader to find the process (pid on host) and tell
    whether it is the cockpit they left running this morning (since)."""

    pid: int
    host: str
    started: datetime  # UTC, whole seconds

    @classmethod
    def current(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(), datetime.now(UTC).replace(microsecond=0))

    def to_json(self) -> str:
        return json.dumps({"pid": self.pid, "host": self.host, "started": self.started.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> Holder | None:
        """None for anything that is not a complete record (empty, half written, edited)."""
        try:
            data = json.loads(text)
            started = datetime.fromisoformat(data["started"])
            holder = cls(int(data["pid"]), str(data["host"]), started.astimezone(UTC))
        except (ValueError, TypeError, KeyError):
            return None
        return holder


class InstanceLockError(Exception):
    """The lock could not be taken (the file cannot be created or locked)."""


class DatabaseInUse(InstanceLockError):
    """Another live cockpit process holds the database."""

    hint = (
        "close that cockpit first, or give this one another database with --db; "
        "a lock left by a cockpit that died is taken over on the next start"
    )

    def __init__(self, db_path: Path, holder: Holder | None) -> None:
        self.db_path = db_path
        self.holder = holder
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.holder is None:
            return f"database {self.db_path} is in use by another cockpit (it has not said which)"
        since = self.holder.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"database {self.db_path} is in use by cockpit pid {self.holder.pid} "
            f"on {self.holder.host} since {since} UTC"
        )


class InstanceLock:
    """The exclusive lock on one SQLite file, held from `acquire` to `release` (or for the body
    of a `with`). Not reentrant: a second `InstanceLock` on the same file is refused even in the
    same process, as a second cockpit would be."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path.resolve()
        self.lock_path = self.db_path.with_name(self.db_path.name + LOCK_SUFFIX)
        self._fd: int | None = None
        self._holder: Holder | None = None

    @property
    def holder(self) -> Holder:
        """This process's record while it holds the lock."""
        if self._holder is None:
            raise RuntimeError(f"{self.lock_path} is not held")
        return self._holder

    def acquire(self) -> None:
        """Take the lock at once or raise DatabaseInUse; never waits for the holder."""
        if self._fd is not None:
            raise RuntimeError(f"{self.lock_path} is already held by this lock")
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = self._open_locked()
        except OSError as exc:
            raise InstanceLockError(
                f"cannot lock {self.lock_path}: {exc.strerror or exc}"
            ) from None
        holder = Holder.current()
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, holder.to_json().encode())
        except OSError as exc:
            _unlock(fd)
            os.close(fd)
            raise InstanceLockError(
                f"cannot write {self.lock_path}: {exc.strerror or exc}"
            ) from None
        self._fd, self._holder = fd, holder

    def _open_locked(self) -> int:
        """An fd of the lock file with the OS lock on it. The file is created if missing but
        never truncated here: a refused attempt must leave the holder's details readable."""
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not _try_lock(fd):
                    raise DatabaseInUse(self.db_path, _read_holder_fd(fd))
                # A releasing holder unlinks the file before it unlocks: if we locked a file
                # that is no longer at the path, another process may hold a new one there.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)  # closing drops our OS lock too, if we had it
                raise
            if same:
                return fd
            _unlock(fd)
            os.close(fd)

    def release(self) -> None:
        """Give the database up; harmless when not held. The file goes first (while still
        locked, so nobody can take a file that is about to vanish), then the lock."""
        fd, self._fd, self._holder = self._fd, None, None
        if fd is None:
            return
        try:
            if sys.platform == "win32":  # an open file cannot be removed on Windows
                os.ftruncate(fd, 0)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.lock_path)
        finally:
            _unlock(fd)
            os.close(fd)
        if sys.platform == "win32":
            with contextlib.suppress(OSError):
                os.unlink(self.lock_path)

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


# `sqlite[+driver]:///<file>` without a query: the file is the URL's unquoted rest, exactly as
# SQLAlchemy's make_url reads it (tests/state/test_instance_lock.py compares the two).
_PLAIN_SQLITE: Final = re.compile(r"^sqlite(?:\+\w+)?:///([^?]*)$")


def lock_for_url(url: str) -> InstanceLock | None:
    """The lock a database URL needs, or None: the one place that decides per kind of database.

    A SQLite file gets the file lock beside it. In-memory SQLite (and `file:` URIs, which
    `state.db` treats the same way) and server databases get none here; PostgreSQL is to get an
    advisory lock held on its own connection, which is the store's business, not a file's.
    """
    plain = _PLAIN_SQLITE.match(url)
    if plain is not None:  # the usual file URL, read without SQLAlchemy (it is not loaded
        # before the app's first frame, and costs a third of a second: issue 14)
        database = unquote(plain.group(1))
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return InstanceLock(Path(database))
    from sqlalchemy.engine import make_url

    from state.db import sqlite_file_path

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    path = sqlite_file_path(parsed)
    return None if path is None else InstanceLock(path)


@contextlib.contextmanager
def database_lock(url: str) -> Iterator[InstanceLock | None]:
    """Hold the database's lock (if it has one) for the body; released on exit and on errors."""
    lock = lock_for_url(url)
    if lock is None:
        yield None
        return
    with lock:
        yield lock


def read_holder(lock_path: Path) -> Holder | None:
    """Who the lock file says holds the database (possibly a dead holder: only the OS lock
    tells whether it is held), or None when there is no complete record."""
    try:
        return Holder.from_json(lock_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _read_holder_fd(fd: int) -> Holder | None:
    deadline = time.monotonic() + _READ_RETRY_S
    while True:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 4096)
        holder = Holder.from_json(data.decode("utf-8", errors="replace"))
        if holder is not None or time.monotonic() >= deadline:
            return holder
        time.sleep(_READ_RETRY_STEP_S)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        # flock, not fcntl/lockf: flock locks belong to the open file, so a second open in the
        # same process conflicts too, and closing another fd of the file does not drop it.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
