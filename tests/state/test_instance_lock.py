"""One cockpit process per database: the lock file beside a SQLite file, who holds it, and a
holder that died (SIGKILL: no cleanup at all) losing it to the next start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from state.instance_lock import (
    DatabaseInUse,
    Holder,
    InstanceLock,
    database_lock,
    lock_for_url,
    read_holder,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_taking_the_lock_writes_who_holds_it_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "cockpit.db"
    before = datetime.now(UTC).replace(microsecond=0)
    with InstanceLock(db) as lock:
        assert lock.lock_path == tmp_path / "cockpit.db.lock"
        content = json.loads(lock.lock_path.read_text())
        assert content["pid"] == os.getpid()
        assert content["host"] == socket.gethostname()
        started = datetime.fromisoformat(content["started"])
        assert started.utcoffset() is not None and started.utcoffset().total_seconds() == 0
        assert before <= started <= datetime.now(UTC)
        assert read_holder(lock.lock_path) == Holder(os.getpid(), socket.gethostname(), started)


def test_a_second_taker_is_refused_with_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "cockpit.db"
    with InstanceLock(db) as first:
        second = InstanceLock(db)
        with pytest.raises(DatabaseInUse) as info:
            second.acquire()
        assert info.value.holder == first.holder
        started = first.holder.started.strftime("%Y-%m-%d %H:%M:%S")
        assert str(info.value) == (
            f"database {db.resolve()} is in use by cockpit pid {os.getpid()} "
            f"on {socket.gethostname()} since {started} UTC"
        )
        assert "--db" in info.value.hint
        # The refused taker changed nothing: the holder's details are still there.
        assert read_holder(first.lock_path) == first.holder


def test_release_frees_the_database_and_removes_the_file(tmp_path: Path) -> None:
    db = tmp_path / "cockpit.db"
    first = InstanceLock(db)
    first.acquire()
    first.release()
    assert not first.lock_path.exists()
    first.release()  # twice is harmless
    with InstanceLock(db) as again:
        assert again.holder.pid == os.getpid()


def test_the_lock_is_released_when_the_body_raises(tmp_path: Path) -> None:
    db = tmp_path / "cockpit.db"
    with pytest.raises(RuntimeError, match="boom"), InstanceLock(db):
        raise RuntimeError("boom")
    with InstanceLock(db):
        pass


def test_a_missing_directory_is_created(tmp_path: Path) -> None:
    db = tmp_path / "not" / "yet" / "cockpit.db"
    with InstanceLock(db) as lock:
        assert lock.lock_path.exists()


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from state.instance_lock import InstanceLock

    lock = InstanceLock(Path(sys.argv[1]))
    lock.acquire()
    print("held", flush=True)
    time.sleep(600)
    """
)


def test_a_holder_killed_with_sigkill_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "cockpit.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "held\n", child.communicate(timeout=30)[1]
        with pytest.raises(DatabaseInUse) as info:
            InstanceLock(db).acquire()
        assert info.value.holder is not None and info.value.holder.pid == child.pid
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # No cleanup ran: the dead holder's details are still in the file, but the OS dropped its lock.
    stale = read_holder(db.with_name("cockpit.db.lock"))
    assert stale is not None and stale.pid == child.pid
    with InstanceLock(db) as lock:
        assert read_holder(lock.lock_path) == lock.holder
        assert lock.holder.pid == os.getpid()


def test_the_start_time_is_shown_in_utc(tmp_path: Path) -> None:
    holder = Holder(12345, "HOSTNAME", datetime(2026, 12, 2, 11, 40, 3, tzinfo=UTC))
    error = DatabaseInUse(Path("/path/cockpit.db"), holder)
    assert str(error) == (
        "database /path/cockpit.db is in use by cockpit pid 12345 on HOSTNAME "
        "since 2026-12-02 11:40:03 UTC"
    )


def test_unreadable_holder_details_still_refuse(tmp_path: Path) -> None:
    error = DatabaseInUse(tmp_path / "cockpit.db", None)
    assert str(error).startswith(f"database {tmp_path / 'cockpit.db'} is in use by another cockpit")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite://",
        "postgresql+asyncpg://user:pw@localhost/cockpit",
    ],
)
def test_urls_without_a_sqlite_file_take_no_file_lock(url: str) -> None:
    assert lock_for_url(url) is None
    with database_lock(url) as lock:
        assert lock is None


def test_a_sqlite_url_locks_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lock = lock_for_url("sqlite+aiosqlite:///rel.db")
    assert lock is not None and lock.lock_path == tmp_path.resolve() / "rel.db.lock"
    with database_lock(f"sqlite+aiosqlite:///{tmp_path / 'abs.db'}") as held:
        assert held is not None and held.lock_path.exists()
        # The same file under another spelling is the same database.
        with pytest.raises(DatabaseInUse), database_lock("sqlite:///./abs.db"):
            pass
    assert not (tmp_path / "abs.db.lock").exists()


def test_refusal_is_immediate(tmp_path: Path) -> None:
    """A second start is refused at once, it does not queue behind the holder."""
    with InstanceLock(tmp_path / "cockpit.db"):
        began = time.monotonic()
        with pytest.raises(DatabaseInUse):
            InstanceLock(tmp_path / "cockpit.db").acquire()
        assert time.monotonic() - began < 5


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///rel.db",
        "sqlite:////abs/dir/x.db",
        "sqlite+aiosqlite:///a%20b.db",
        "sqlite+aiosqlite:///a@b:c.db",
        "sqlite+aiosqlite:///:memory:",
        "sqlite:///file:x.db",
        "sqlite+aiosqlite:///x.db?mode=ro",
        "sqlite+aiosqlite://",
        "postgresql+asyncpg://u:p@h/db",
    ],
)
def test_the_lock_reads_a_url_s_file_as_sqlalchemy_does(url: str) -> None:
    """The lock reads the usual SQLite URLs without SQLAlchemy (not loaded before the first
    frame): the same file as SQLAlchemy's own parsing, or none where it finds none."""
    from sqlalchemy.engine import make_url

    from state.db import sqlite_file_path

    parsed = make_url(url)
    expected = sqlite_file_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    lock = lock_for_url(url)
    assert (lock.lock_path if lock else None) == (
        InstanceLock(expected).lock_path if expected else None
    )


def test_the_default_account_is_the_models_one() -> None:
    from state import locks, models

    assert locks.DEFAULT_ACCOUNT == models.DEFAULT_ACCOUNT
    assert locks.backend_name("postgresql+asyncpg://u:p@h/db") == "postgresql"
    assert locks.backend_name("sqlite+aiosqlite:///x.db") == "sqlite"
