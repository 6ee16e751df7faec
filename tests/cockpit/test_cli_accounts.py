"""A desk on one PostgreSQL journal: one cockpit per account, every row carries its account, and
the report reads one account or all of them.

The first cockpit is the real `cockpit demo` (headless, as in test_cli_lock.py) on account
paper:a; the test waits until the server shows its advisory lock, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from cockpit.cli import main
from cockpit.domain import Mode
from state.advisory_lock import COCKPIT_KEY, AccountInUse, AdvisoryLock, account_key
from state.store import Store
from tests.cockpit.test_cli_lock import HEADLESS_CLI, REPO_ROOT, START_DEADLINE_S, _env
from tests.conftest import ENGINES
from tests.state.factories import T0, exit_order, open_trade

SAMPLE = REPO_ROOT / "tests" / "data" / "sample_trades.csv"


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def lock_holder_pid(url: str, account: str) -> int | None:
    """The pid the account's lock connection names (application_name), or None when free."""
    conn = await asyncpg.connect(dsn(url))
    try:
        name = await conn.fetchval(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            COCKPIT_KEY,
            account_key(account),
        )
    finally:
        await conn.close()
    if name is None:
        return None
    return int(str(name).split()[1].removeprefix("pid="))


def headless_cockpit(argv: list[str], err: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """The cockpit as a trader starts it, headless; it ends when its stdin is closed."""
    with err.open("w") as err_file:
        return subprocess.Popen(
            [sys.executable, "-c", HEADLESS_CLI, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            text=True,
            cwd=REPO_ROOT,
            env=env,
        )


async def lock_freed(url: str, account: str) -> None:
    """Until the server has dropped the account's lock: a holder's backend ends a moment after
    its client closed the connection, so right after the holder exits it may still be listed."""
    deadline = time.monotonic() + START_DEADLINE_S
    while await lock_holder_pid(url, account) is not None:
        assert time.monotonic() < deadline, f"the lock of {account} was never dropped"
        await asyncio.sleep(0.05)


async def wait_for_holder(url: str, account: str, proc: subprocess.Popen[str], err: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if await lock_holder_pid(url, account) == proc.pid:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the first cockpit ended ({proc.returncode}): {err.read_text()}")
        await asyncio.sleep(0.05)
    raise AssertionError("the first cockpit never took its account lock")


async def test_two_cockpits_on_one_account_the_second_is_refused_another_account_runs(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = tmp_path / "first.err"
    argv = ["--db", pg_url, "--account", "paper:a", "demo", "--seed", "7", "--speed", "1"]
    first = headless_cockpit(argv, err, _env(tmp_path))
    try:
        await wait_for_holder(pg_url, "paper:a", first, err)
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "cockpit.cli", *argv],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=_env(tmp_path),
            timeout=START_DEADLINE_S,
        )
        assert second.returncode == 2
        line, hint = second.stderr.strip().splitlines()
        assert line.startswith(f"cockpit: account paper:a on {pg_url} is in use by cockpit ")
        assert f"pid {first.pid} on {socket.gethostname()} since " in line
        assert "--account" in hint
        # a writer on the same account is refused too; another account shares the database
        assert await cli("--db", pg_url, "--account", "paper:a", "import", str(SAMPLE)) == 2
        assert await cli("--db", pg_url, "--account", "paper:b", "import", str(SAMPLE)) == 0
        assert first.poll() is None  # the first cockpit runs on untouched
        capsys.readouterr()
        out = tmp_path / "r.md"
        assert await cli("--db", pg_url, "--account", "paper:b", "report", "--out", str(out)) == 0
        assert "(60 closed trades of account paper:b" in capsys.readouterr().out
        assert await cli("--db", pg_url, "--account", "paper:c", "report", "--out", str(out)) == 0
        assert "(0 closed trades of account paper:c" in capsys.readouterr().out
        assert await cli("--db", pg_url, "report", "--out", str(out)) == 0
        assert "closed trades of every account" in capsys.readouterr().out
    finally:
        assert first.stdin is not None
        first.stdin.close()
        first.wait(timeout=START_DEADLINE_S)
    assert first.returncode == 0, err.read_text()
    await lock_freed(pg_url, "paper:a")
    assert await cli("--db", pg_url, "--account", "paper:a", "import", str(SAMPLE)) == 0


HOLD = """
import sys
from state.advisory_lock import AdvisoryLock
lock = AdvisoryLock(sys.argv[1], sys.argv[2])
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""


async def test_a_killed_holder_frees_its_account(tmp_path: Path, pg_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, pg_url, "drift:1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.to_thread(holder.stdout.readline) == "held\n"
        with pytest.raises(AccountInUse) as refused:
            AdvisoryLock(pg_url, "drift:1").acquire()
        assert refused.value.holder is not None and refused.value.holder.pid == holder.pid
        other = AdvisoryLock(pg_url, "drift:2")
        other.acquire()  # another account: free
        other.release()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    await lock_freed(pg_url, "drift:1")  # the server drops it with the dead process's connection
    with AdvisoryLock(pg_url, "drift:1") as lock:
        assert lock.held


@pytest.mark.parametrize("db_engine", ENGINES, indirect=True)
async def test_each_store_writes_and_manages_only_its_own_account(any_db_url: str) -> None:
    """Rows are stamped with the store's account; a cockpit restores only its own positions,
    orders and audit; the journal's analytics read one account or all."""
    from state.journal import closed_trade_records

    a = await Store.open(any_db_url, account="paper:a", flush_interval_s=60.0)
    b = await Store.open(any_db_url, account="paper:b", flush_interval_s=60.0)
    try:
        pa = await open_trade(a, "ck-a", ts_ms=T0)
        pb = await open_trade(b, "ck-b", ts_ms=T0 + 1)
        await a.record_audit("manual", "trader", "note", "why", T0)
        await a.record_mode_change(Mode.SHADOW, Mode.LIVE_SMALL, "trader", "go", T0, None)
        order = exit_order("ck-b-x", pb, 1.0, "tp1")
        await b.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
        assert [p.trade_id for p in await a.open_positions()] == [pa.trade_id]
        assert [p.trade_id for p in await b.open_positions()] == [pb.trade_id]
        assert [o.client_order_id for o in await b.unfinished_orders()] == ["ck-b-x"]
        assert await a.unfinished_orders() == []
        assert len(await a.recent_audit()) == 1 and await b.recent_audit() == []
        assert len(await a.mode_changes()) == 1 and await b.mode_changes() == []
        assert await closed_trade_records(a, account="paper:b") == []
    finally:
        await a.close()
        await b.close()
    default = await Store.open(any_db_url)
    try:
        assert await default.open_positions() == []  # rows of named accounts are not "default"
    finally:
        await default.close()


def test_bad_account_names_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    assert main(["--db", db, "--account", "all", "import", str(SAMPLE)]) == 2
    assert "'all' is not an account name" in capsys.readouterr().err
    assert main(["--db", db, "--account", "paper a", "report"]) == 2
    assert "account 'paper a'" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


async def test_a_phase_start_takes_its_accounts_lock(pg_url: str) -> None:
    """`cockpit phase start` is a writer like the others: refused while a cockpit holds the
    account (exit 2), written on another account, its audit row on the account it names."""
    with AdvisoryLock(pg_url, "paper:a"):
        start = ("--db", pg_url, "--account", "paper:a", "phase", "start", "1")
        assert await cli(*start) == 2
        assert await cli("--db", pg_url, "--account", "paper:b", "phase", "start", "1") == 0
    assert await cli("--db", pg_url, "--account", "all", "phase", "start", "2") == 2
    conn = await asyncpg.connect(dsn(pg_url))
    try:
        audit = await conn.fetch("SELECT account FROM audit_events WHERE kind = 'phase'")
        phases = await conn.fetch("SELECT phase FROM phases")
    finally:
        await conn.close()
    assert [r["account"] for r in audit] == ["paper:b"]
    assert [r["phase"] for r in phases] == [1]


async def cut_and_take(url: str, account: str) -> AdvisoryLock:
    """Cut the holder's lock connection and take the account as soon as the server frees it;
    the holder may take it back first (its watch runs on its own): then cut again."""
    taker = AdvisoryLock(url, account, check_every_s=3600.0, retry_initial_s=3600.0)
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        assert time.monotonic() < deadline, "the account was never free to take"
        conn = await asyncpg.connect(dsn(url))
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND classid = $1 AND objid = $2 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                COCKPIT_KEY,
                account_key(account),
            )
        finally:
            await conn.close()
        try:
            await asyncio.to_thread(taker.acquire)
        except AccountInUse:
            await asyncio.sleep(0.05)
            continue
        return taker


async def test_a_running_cockpit_that_loses_its_account_says_who_took_it(
    tmp_path: Path, pg_url: str
) -> None:
    """The command-line cockpit watches its lock: once its connection is cut and another
    process holds the account, it says so (event log) and never takes the account back."""
    err = tmp_path / "first.err"
    logs = tmp_path / "logs"
    argv = ["--db", pg_url, "--account", "paper:a", "demo", "--seed", "7", "--speed", "1"]
    first = headless_cockpit(argv, err, {**_env(tmp_path), "COCKPIT_LOG_DIR": str(logs)})
    taker: AdvisoryLock | None = None
    said = f"account paper:a is now held by cockpit pid {os.getpid()}"
    try:
        await wait_for_holder(pg_url, "paper:a", first, err)
        taker = await cut_and_take(pg_url, "paper:a")
        log = logs / "cockpit.log"
        deadline = time.monotonic() + START_DEADLINE_S
        while not (log.exists() and said in log.read_text(errors="replace")):
            assert time.monotonic() < deadline, "the first cockpit never said it lost the account"
            assert first.poll() is None, err.read_text()
            await asyncio.sleep(0.05)
        assert first.poll() is None  # it runs on, standing down, until the trader closes it
        assert (await taker.check()).state.value == "held"
        assert await lock_holder_pid(pg_url, "paper:a") == os.getpid()
    finally:
        if taker is not None:
            taker.release()
        assert first.stdin is not None
        first.stdin.close()
        first.wait(timeout=START_DEADLINE_S)
    assert first.returncode == 0, err.read_text()
