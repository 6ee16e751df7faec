"""`cockpit backtest --journal` as a trader runs it, on SQLite and PostgreSQL: the ledger is
brought up to date and printed, trade by trade, with the totals; bad input is one line, exit 2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cockpit.cli import main
from state.migrate import HEAD_REVISION, downgrade_to
from state.store import Store
from tests.state.factories import T0
from tests.state.test_ledger import RALLY, bars_from, closed_trade


async def test_journal_prints_every_trade_under_every_policy(
    store: Store, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await closed_trade(store, "ck-1", exit_price=153.0)
    await closed_trade(store, "ck-2", exit_price=149.0, ts_ms=T0 + 5 * 3_600_000)  # no candles
    await store.record_audit("manual_action", "user", "close #2", "nervous", T0, trade_id=2)
    await store.upsert_candles(bars_from(RALLY))
    assert await asyncio.to_thread(main, ["--db", db_url, "backtest", "--journal"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("#1 SOL-PERP long entry 150 ") and out[0].endswith("actual +2.00%")
    fixed = next(line for line in out[1:5] if line.strip().startswith("fixed"))
    assert " tp2 154.5 " in fixed and "2 fills" in fixed
    assert any(line.endswith("(manual actions)") for line in out if line.startswith("#2 "))
    assert "no_path: no candles recorded after the entry" in "\n".join(out)
    assert any(line.startswith("2 trades in the ledger (2 computed now).") for line in out)
    header = next(line for line in out if line.startswith("Policy"))
    assert header.split() == [
        "Policy",
        "Trades",
        "Results",
        "Win",
        "%",
        "P&L",
        "%",
        "Actual",
        "%",
        "vs",
        "actual",
        "Path",
        "ended",
        "No",
        "path",
        "Refused",
    ]
    assert out[-2].startswith("Discretion: no trade with manual actions")  # #2 has no path
    assert out[-1].startswith("E-ratio")

    # a second run has nothing left to compute and prints the same ledger
    assert await asyncio.to_thread(main, ["--db", db_url, "backtest", "--journal"]) == 0
    again = capsys.readouterr().out.splitlines()
    assert any(line.startswith("2 trades in the ledger (0 computed now).") for line in again)
    assert [line for line in again if "computed now" not in line] == [
        line for line in out if "computed now" not in line
    ]


async def test_bad_input_is_one_line(
    store: Store, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--db", db_url, "backtest", "--journal", "x.csv"]
    assert await asyncio.to_thread(main, args) == 2
    assert "give no FILE" in capsys.readouterr().err
    await downgrade_to(store.engine, "0009")
    assert await asyncio.to_thread(main, ["--db", db_url, "backtest", "--journal"]) == 2
    err = capsys.readouterr().err
    said = f"schema revision 0009, this cockpit reads {HEAD_REVISION}"
    assert said in err and len(err.splitlines()) == 1
    missing = f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"
    assert await asyncio.to_thread(main, ["--db", missing, "backtest", "--journal"]) == 2
    assert "no journal at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
