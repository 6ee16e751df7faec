"""The counterfactual ledger as `[ledger]` configures it, on a real database (SQLite and
PostgreSQL): a grid of sets gives each trade one row per set, each exactly the engine's run, and
a second pass (or a fresh process) computes nothing again; the horizon and the timeframe decide
the candles; a ledger that is off runs no pass."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from cockpit.backtest.ledger_job import Ledger
from cockpit.backtest.reference import run_trade
from cockpit.config import Settings
from cockpit.domain import Candle, Side
from cockpit.engine.policy import plan_for
from state.ledger_rows import LedgerRow, rows_for
from state.store import Store
from tests.state.factories import T0, raw_one
from tests.state.test_ledger import FIRST_BAR, HOUR, MIN, RALLY, SYMBOL, bars_from, closed_trade
from tests.waiting import until

TWO_SETS = [{"policy": "fixed", "tp1_pct": [1.0, 2.0]}]


def lab(store: Store, **ledger: Any) -> Ledger:
    return Ledger(Settings(ledger=ledger), lambda: store, lambda lvl, t: None, lambda: T0)


def grid_rows(rows: list[LedgerRow]) -> dict[str, LedgerRow]:
    return {r.label: r for r in rows if "tp1_pct" in r.label}


def count(store_db: Path | str) -> int:
    row = raw_one(store_db, "SELECT COUNT(*) FROM counterfactuals")
    assert row is not None
    return int(row[0])


async def test_a_grid_of_two_sets_gives_two_rows_per_trade_each_the_engines_own(
    store: Store, journal_db: Path | str, tmp_path: Path
) -> None:
    first = await closed_trade(store, "ck-1", exit_price=153.0)
    second = await closed_trade(store, "ck-2", exit_price=153.0, ts_ms=T0 + 2 * HOUR)
    bars = bars_from(RALLY)
    await store.upsert_candles(bars)
    await store.upsert_candles(bars_from(RALLY, FIRST_BAR + 2 * HOUR))
    ledger = lab(store, sets=TWO_SETS)
    assert await ledger.refresh() == 2
    for position in (first, second):
        assert position.trade_id is not None
        rows = await rows_for(store, position.trade_id)
        assert len(rows) == 6  # fixed, atr_scaled, quality_tiers, the two sets, own
        assert sorted(grid_rows(rows)) == ["fixed tp1_pct=1", "fixed tp1_pct=2"]

    # Each grid row is what the engine's own loop does with that set's plan on the same bars.
    assert first.trade_id is not None
    rows = grid_rows(await rows_for(store, first.trade_id))
    for tp1, label in ((1.0, "fixed tp1_pct=1"), (2.0, "fixed tp1_pct=2")):
        plan = plan_for(
            Settings(policy={"tp1_pct": tp1}),
            policy="fixed",
            symbol=SYMBOL,
            side=Side.LONG,
            entry=150.0,
            size=1.0,
        )
        engine = run_trade(plan, bars, first_index=0, kind="candles")
        row = rows[label]
        assert row.status == "done" and row.pnl_pct == engine.pnl_pct
        fills = json.loads(row.fills_json)
        assert [(f[1], f[2], f[3]) for f in fills] == [(p, f, r) for _, p, f, r in engine.fills]
        assert json.loads(row.params_json)["fixed"]["tp1_pct"] == tp1
    assert rows["fixed tp1_pct=1"].pnl_pct != rows["fixed tp1_pct=2"].pnl_pct

    # Idempotent: nothing is computed again, by this ledger, a fresh one, or one that reads the
    # same sets from a grid file instead.
    written = count(journal_db)
    assert written == 12
    assert await ledger.refresh() == 0
    assert await lab(store, sets=TWO_SETS).refresh() == 0
    grid = tmp_path / "ledger.toml"
    grid.write_text('[[set]]\npolicy = "fixed"\ntp1_pct = [1.0, 2.0]\n')
    assert await lab(store, grid=str(grid)).refresh() == 0
    assert count(journal_db) == written
    assert ledger.totals is not None
    labels = [s.label for s in ledger.totals.sets]
    assert "fixed tp1_pct=1" in labels and "fixed tp1_pct=2" in labels

    # A third set is computed for every trade, and only it.
    ledger3 = lab(store, sets=[{"policy": "fixed", "tp1_pct": [1.0, 2.0, 2.5]}])
    assert await ledger3.refresh() == 2
    assert count(journal_db) == written + 2


FLAT = [150.1] * 150  # 2.5 h of quiet 1m bars: no level is reached


async def test_the_horizon_closes_a_policy_still_open_there(store: Store) -> None:
    position = await closed_trade(store, "ck-1", exit_price=150.1, reason="manual_close")
    await store.upsert_candles(bars_from(FLAT))
    assert position.trade_id is not None
    await lab(store).refresh()  # 48 h: the recorded 2.5 h do not reach it
    fixed = next(r for r in await rows_for(store, position.trade_id) if r.label == "fixed")
    assert (fixed.status, fixed.pnl_pct) == ("path_ended", None)

    await lab(store, horizon_h=2).refresh()
    rows = {r.label: r for r in await rows_for(store, position.trade_id)}
    fixed = next(r for r in rows.values() if r.policy == "fixed" and r.status != "path_ended")
    assert (fixed.status, fixed.exit_reason) == ("horizon", "horizon")
    assert fixed.exit_ts_ms == FIRST_BAR + 119 * MIN  # the last bar before 2 h after the entry
    assert fixed.pnl_pct == pytest.approx(100.0 * 0.1 / 150.0)


async def test_the_timeframe_decides_which_recorded_candles_are_used(store: Store) -> None:
    position = await closed_trade(store, "ck-1", exit_price=153.0)
    five = [
        Candle(SYMBOL, "5m", FIRST_BAR + 5 * MIN * i, c.open, c.high, c.low, c.close, 1.0)
        for i, c in enumerate(bars_from(RALLY))
    ]
    await store.upsert_candles(five)
    assert position.trade_id is not None
    await lab(store).refresh()  # 1m: none recorded
    own = next(r for r in await rows_for(store, position.trade_id) if r.policy == "own")
    assert own.status == "no_path"

    await lab(store, timeframe="5m").refresh()
    rows = [r for r in await rows_for(store, position.trade_id) if r.policy == "own"]
    on_five = next(r for r in rows if r.status != "no_path")
    engine = run_trade(position.plan, five, first_index=0, kind="candles")
    assert (on_five.status, on_five.exit_reason) == ("done", "tp2")
    assert on_five.pnl_pct == engine.pnl_pct
    assert on_five.exit_ts_ms == five[engine.fills[-1][0]].ts_ms


async def test_a_ledger_that_is_off_runs_no_pass(store: Store, journal_db: Path | str) -> None:
    await closed_trade(store, "ck-1", exit_price=153.0)
    await store.upsert_candles(bars_from(RALLY))
    ledger = lab(store, enabled=False)
    task = asyncio.create_task(ledger.run())
    ledger.kick()
    await until(task.done, what="the ledger task to end")
    assert task.result() is None
    assert ledger.version == 0 and count(journal_db) == 0
