"""`cockpit db copy` and `cockpit db check` as a desk runs them, SQLite <-> PostgreSQL on a real
throwaway server (tests/pg_server.py; skipped with the reason where there is none).

The copy is all or nothing: a copy that fails halfway, on a value the destination refuses after
several tables went in, leaves the destination exactly as it was. A wrong password is one line,
exit 2, and the password appears nowhere.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from cockpit.cli import main
from cockpit.domain import Candle, Mode, Side
from state.copy import journal_tables, table_counts
from state.db import create_engine_for
from state.store import Store
from tests import pg_server
from tests.state.factories import T0, exit_order, fill_for, open_trade

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"


async def cli(*argv: str) -> int:
    """`cockpit ...` in-process (main runs its own event loop: off this test's loop)."""
    return await asyncio.to_thread(main, list(argv))


def sqlite_url(tmp_path: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}"


async def cockpit_trades(url: str, *, bad_stop_mover: str | None = None) -> None:
    """Two cockpit trades with orders and fills (one closed, one open with a stop move)."""
    store = await Store.open(url, flush_interval_s=60.0)
    try:
        closed = await open_trade(store, "ck-a", side=Side.LONG, entry=100.0, size=2.0, ts_ms=T0)
        order = exit_order("ck-a-x", closed, 2.0, "tp2")
        oid = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
        closed.size, closed.closed, closed.realized_pnl = 0.0, True, 6.0
        await store.record_exit_fill(oid, fill_for(order, 103.0, T0 + 60_000), closed)
        held = await open_trade(store, "ck-b", side=Side.SHORT, entry=101.0, size=1.0, ts_ms=T0 + 1)
        assert held.trade_id is not None
        who = bad_stop_mover or "engine"
        await store.record_stop_move(held.trade_id, 102.0, 101.5, held.stop_role, "be", who, T0 + 2)
        await store.upsert_candles(
            [Candle("SOL-PERP", "1m", T0, 100, 101, 99, 100.5, 10.0)], source="test"
        )
    finally:
        await store.close()


async def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every journal table, in key order: what 'unchanged' and 'equal' compare."""
    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            out = {}
            for table in journal_tables():
                query = select(table).order_by(*table.primary_key.columns)
                out[table.name] = [tuple(r) for r in await conn.execute(query)]
            return out
    finally:
        await engine.dispose()


async def counts(url: str) -> dict[str, int]:
    engine = create_engine_for(url)
    try:
        return await table_counts(engine)
    finally:
        await engine.dispose()


async def test_sqlite_to_postgresql_and_back_keeps_every_row(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = sqlite_url(tmp_path, "laptop.db")
    assert await cli("--db", src, "import", str(SAMPLE)) == 0
    await cockpit_trades(src)
    assert await cli("db", "copy", src, pg_url) == 0
    out = capsys.readouterr().out
    assert "trades         62 copied" in out and "copy done" in out
    assert await dump(pg_url) == await dump(src)
    back = sqlite_url(tmp_path, "back.db")
    assert await cli("db", "copy", pg_url, back) == 0
    assert await dump(back) == await dump(src)
    # the copy is a working journal: a new trade on PostgreSQL gets a fresh id (sequence moved)
    store = await Store.open(pg_url)
    try:
        position = await open_trade(store, "ck-new", ts_ms=T0 + 5)
        assert position.trade_id == 63
    finally:
        await store.close()
    # and both engines give the same report
    for url, name in ((src, "lite.md"), (pg_url, "pg.md")):
        assert await cli("--db", url, "report", "--out", str(tmp_path / name)) == 0
    lite, pg = ((tmp_path / n).read_text().splitlines() for n in ("lite.md", "pg.md"))
    assert [line for line in lite if "Source" not in line and "Generated" not in line] == [
        line for line in pg if "Source" not in line and "Generated" not in line
    ]


async def test_a_non_empty_destination_needs_append_which_is_idempotent(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = sqlite_url(tmp_path, "a.db"), sqlite_url(tmp_path, "b.db")
    assert await cli("--db", first, "import", str(SAMPLE)) == 0
    await cockpit_trades(second)
    assert await cli("db", "copy", first, pg_url) == 0
    capsys.readouterr()
    before = await dump(pg_url)
    assert await cli("db", "copy", second, pg_url) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cockpit: the destination is not empty") and "--append" in err
    assert "\n" not in err
    assert await dump(pg_url) == before
    assert await cli("db", "copy", second, pg_url, "--append") == 0
    once = await counts(pg_url)
    assert once["trades"] == 62 and once["fills"] == 3 and once["orders"] == 3
    assert await cli("db", "copy", second, pg_url, "--append") == 0
    assert "2 already there" in capsys.readouterr().out
    assert await counts(pg_url) == once
    # the appended fills still point at their own trades (ids translated, not copied)
    engine = create_engine_for(pg_url)
    try:
        async with engine.connect() as conn:
            orphans = await conn.execute(
                text(
                    "SELECT COUNT(*) FROM fills f JOIN trades t ON t.id = f.trade_id "
                    "WHERE t.venue <> 'paper'"
                )
            )
            assert orphans.scalar_one() == 0
    finally:
        await engine.dispose()


async def test_a_copy_failing_halfway_leaves_postgresql_unchanged(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite takes a 100-character `who` for a stop move, PostgreSQL's VARCHAR(64) refuses it:
    trades, orders and fills are already in when stop_moves fails."""
    good, bad = sqlite_url(tmp_path, "good.db"), sqlite_url(tmp_path, "bad.db")
    assert await cli("--db", good, "import", str(SAMPLE)) == 0
    assert await cli("db", "copy", good, pg_url) == 0
    await cockpit_trades(bad, bad_stop_mover="x" * 100)
    before = await dump(pg_url)
    capsys.readouterr()
    assert await cli("db", "copy", bad, pg_url, "--append") == 2
    captured = capsys.readouterr()
    assert "trades         2 copied" in captured.out  # it was past trades when it failed
    err = captured.err.strip()
    assert err.startswith("cockpit: copy failed,") and "left as it was" in err
    assert "\n" not in err
    assert await dump(pg_url) == before


async def test_a_copy_failing_halfway_leaves_sqlite_unchanged(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL keeps a NaN volume, SQLite stores NaN as NULL and its NOT NULL refuses it."""
    dst = sqlite_url(tmp_path, "dst.db")
    assert await cli("--db", dst, "import", str(SAMPLE)) == 0
    await cockpit_trades(pg_url)
    store = await Store.open(pg_url)
    try:
        await store.upsert_candles(
            [Candle("SOL-PERP", "1m", T0 + 60_000, 1, 2, 0.5, 1.5, float("nan"))]
        )
    finally:
        await store.close()
    before = await dump(dst)
    assert await cli("db", "copy", pg_url, dst, "--append") == 2
    assert "left as it was" in capsys.readouterr().err
    assert await dump(dst) == before


async def test_db_check_finds_fills_that_do_not_add_up_and_stuck_orders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path, "j.db")
    await cockpit_trades(url)
    assert await cli("--db", url, "db", "check") == 0
    out = capsys.readouterr().out
    assert "ok    schema" in out and "ok    fills   2 trades with fills add up" in out
    assert "ok    orders  none stuck" in out
    engine = create_engine_for(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE fills SET size = 1.5 WHERE client_order_id = 'ck-a-x'"))
            await conn.execute(text("UPDATE orders SET status = 'submitted' WHERE id = 3"))
    finally:
        await engine.dispose()
    assert await cli("--db", url, "db", "check") == 1
    out = capsys.readouterr().out
    assert "FAIL  fills   trade 1: exit fills 1.5 != 2 closed" in out
    assert "FAIL  orders  1 unfinished with no cockpit running: order 3 (ck-b) submitted" in out


async def test_db_check_names_an_old_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from state.migrate import HEAD_REVISION, upgrade_to

    url = sqlite_url(tmp_path, "old.db")
    engine = create_engine_for(url)
    try:
        await upgrade_to(engine, "0004")
    finally:
        await engine.dispose()
    assert await cli("--db", url, "db", "check") == 1
    assert f"FAIL  schema  revision 0004, this cockpit expects {HEAD_REVISION}" in (
        capsys.readouterr().out
    )


async def test_a_wrong_password_is_one_line_without_the_password(
    pg_url: str, pg_admin_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await pg_server.ensure_password_user(pg_admin_url)
    database = pg_url.rsplit("/", 1)[1]
    wrong = "Sekr1t-wrong-horse"
    url = pg_server.sqlalchemy_url(pg_admin_url, database, user=pg_server.PASSWORD_USER)
    url = url.replace(f"{pg_server.PASSWORD_USER}@", f"{pg_server.PASSWORD_USER}:{wrong}@")
    right = url.replace(wrong, pg_server.PASSWORD)
    if await pg_server.reachable(right.replace("+asyncpg", "")) is not None:
        pytest.skip("the server does not check this user's password")
    if await pg_server.reachable(url.replace("+asyncpg", "")) is None:
        pytest.skip("the server lets a wrong password in (trust authentication)")
    for argv in (
        ("--db", url, "report", "--out", str(tmp_path / "r.md")),
        ("--db", url, "import", str(SAMPLE)),
        ("--db", url, "db", "check"),
        ("db", "copy", url, sqlite_url(tmp_path, "x.db")),
    ):
        assert await cli(*argv) == 2, argv
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert "\n" not in err, err
        assert "password authentication failed" in err, err
        assert wrong not in captured.err + captured.out
