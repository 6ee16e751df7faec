"""Two real cockpit processes on one database: the second is refused at once with who holds it,
the first runs on untouched; `report` still reads, `import` (a writer) is refused too.

The first process is the real `cockpit demo` through `cockpit.cli.main`, with the Textual app
run headless (no terminal in a test); it stops cleanly when its stdin closes. The test waits for
the lock file to name the first process, never for a fixed time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cockpit.cli import main
from state.instance_lock import InstanceLock, read_holder

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "tests" / "data" / "sample_trades.csv"
START_DEADLINE_S = 120.0

HEADLESS_CLI = textwrap.dedent(
    """
    import sys, threading, time

    import cockpit.cli as cli


    def headless(app):
        def dashboard_up():
            return type(app.screen).__name__ == "DashboardScreen" and bool(
                app.screen.query("#history")
            )

        def stop_when_stdin_closes():
            sys.stdin.read()
            # Exit only once the dashboard is mounted: an exit in the middle of mounting it is
            # not what this test is about (and on a loaded machine stdin can close that early).
            while True:
                if app.is_running:
                    try:
                        if app.call_from_thread(dashboard_up):
                            break
                    except Exception:
                        pass
                time.sleep(0.05)
            app.call_from_thread(app.exit)

        threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
        app.run(headless=True)
        return app.return_code or 0


    cli._run = headless
    raise SystemExit(cli.main(sys.argv[1:]))
    """
)


def _env(tmp_path: Path) -> dict[str, str]:
    """Logs and any user config stay inside the test's directory."""
    return {
        **os.environ,
        "TERM": "dumb",
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }


def _wait_until_held_by(lock_path: Path, proc: subprocess.Popen[str], err: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        holder = read_holder(lock_path)
        if holder is not None and holder.pid == proc.pid:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the first cockpit ended ({proc.returncode}): {err.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"the first cockpit never took {lock_path}")


def _wait_until_migrated(db: Path, proc: subprocess.Popen[str], err: Path) -> None:
    """The first cockpit takes the lock before it opens the database: wait until it has
    migrated it too, so this test's in-process `report` never migrates an empty file beside it."""
    import sqlite3

    from state.migrate import HEAD_REVISION

    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the first cockpit ended ({proc.returncode}): {err.read_text()}")
        try:
            with sqlite3.connect(db, timeout=1.0) as conn:
                rows = list(conn.execute("SELECT version_num FROM alembic_version"))
            if rows == [(HEAD_REVISION,)]:
                return
        except sqlite3.Error:
            pass  # not created, or being migrated right now
        time.sleep(0.05)
    raise AssertionError(f"the first cockpit never migrated {db}")


def test_a_second_cockpit_on_the_same_database_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "x.db"
    url = f"sqlite+aiosqlite:///{db}"
    config = tmp_path / "c.toml"
    config.write_text("")
    common = ["--config", str(config), "--db", url]
    lock_path = tmp_path / "x.db.lock"
    first_err = tmp_path / "first.err"
    with first_err.open("w") as err_file:
        first = subprocess.Popen(
            [sys.executable, "-c", HEADLESS_CLI, *common, "demo", "--seed", "7"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            text=True,
            env=_env(tmp_path),
        )
    try:
        _wait_until_held_by(lock_path, first, first_err)
        _wait_until_migrated(db, first, first_err)
        holder = read_holder(lock_path)
        assert holder is not None and holder.host == socket.gethostname()

        second = subprocess.run(
            [sys.executable, "-m", "cockpit.cli", *common, "demo"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            timeout=120,
        )
        assert second.returncode == 2
        since = holder.started.strftime("%Y-%m-%d %H:%M:%S")
        first_line, *hint = second.stderr.splitlines()
        assert first_line == (
            f"cockpit: database {db.resolve()} is in use by cockpit pid {first.pid} "
            f"on {holder.host} since {since} UTC"
        )
        assert hint and "--db" in hint[0]

        # The first is untouched: still running, still the holder.
        assert first.poll() is None
        assert read_holder(lock_path) == holder

        # Reading works while it is held; writing the journal does not.
        out = tmp_path / "r.md"
        assert main([*common, "report", "--out", str(out)]) == 0
        assert out.exists()
        assert main([*common, "import", str(SAMPLE)]) == 2
        assert f"in use by cockpit pid {first.pid}" in capsys.readouterr().err
        assert first.poll() is None and read_holder(lock_path) == holder
    finally:
        if first.poll() is None:
            assert first.stdin is not None
            first.stdin.close()  # a clean stop: the app exits, main releases the lock
        try:
            first.wait(timeout=60)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait(timeout=30)
            raise
    assert first.returncode == 0, first_err.read_text()
    assert not lock_path.exists()
    with InstanceLock(db):
        pass
