"""The counterfactual ledger on a real database (SQLite and PostgreSQL): each closed trade re-run
under every policy on its own recorded candles, exactly as the engine would have run it; nothing
invented where the candles are missing; a failed write leaves nothing and is done again later."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from cockpit.backtest.ledger_job import Ledger
from cockpit.backtest.reference import run_trade
from cockpit.config import Settings
from cockpit.domain import Candle, ExitPlan, PositionState, Side
from state.ledger_rows import LedgerRow, path_facts, rows_for
from state.store import Store
from tests.state.factories import T0, exit_order, fill_for, open_trade, raw_one
from tests.waiting import until

HOUR = 3_600_000
MIN = 60_000
SYMBOL = "SOL-PERP"
FIRST_BAR = -(-T0 // MIN) * MIN  # the first whole minute after the entry


def bars_from(closes: list[float], start_ms: int = FIRST_BAR, prev: float = 150.0) -> list[Candle]:
    out = []
    for i, close in enumerate(closes):
        high, low = max(prev, close) + 0.05, min(prev, close) - 0.05
        out.append(Candle(SYMBOL, "1m", start_ms + i * MIN, prev, high, low, close, 1.0))
        prev = close
    return out


async def closed_trade(
    store: Store, cid: str, *, exit_price: float, ts_ms: int = T0, reason: str = "tp2"
) -> PositionState:
    """A long at 150 (size 2) opened at `ts_ms` and closed in full an hour later."""
    position = await open_trade(store, cid, side=Side.LONG, entry=150.0, size=2.0, ts_ms=ts_ms)
    order = exit_order(f"{cid}-x", position, 2.0, reason)
    order_id = await store.record_order_intent(order, mode=position.mode, venue="paper")
    position.size, position.closed = 0.0, True
    position.realized_pnl = (exit_price - 150.0) * 2.0
    await store.record_exit_fill(order_id, fill_for(order, exit_price, ts_ms + HOUR), position)
    return position


def ledger(store: Store, events: list[tuple[str, str]] | None = None) -> Ledger:
    said = events if events is not None else []
    return Ledger(Settings(), lambda: store, lambda lvl, t: said.append((lvl, t)), lambda: T0)


def by_policy(rows: list[LedgerRow]) -> dict[str, LedgerRow]:
    return {r.policy: r for r in rows}


RALLY = [150.2, 150.8, 151.5, 152.0, 152.4, 153.0, 153.8, 154.6, 154.0, 153.5]


async def test_each_policy_is_run_on_the_trades_own_candles_as_the_engine_would(
    store: Store,
) -> None:
    position = await closed_trade(store, "ck-1", exit_price=153.0)
    bars = bars_from(RALLY)
    await store.upsert_candles(bars)
    lab = ledger(store)
    assert await lab.refresh() == 1
    assert position.trade_id is not None
    rows = by_policy(await rows_for(store, position.trade_id))
    assert set(rows) == {"fixed", "atr_scaled", "quality_tiers", "own"}

    # The trade's own frozen plan, run by the engine's own loop on the same bars: the oracle.
    engine = run_trade(position.plan, bars, first_index=0, kind="candles")
    own = rows["own"]
    assert own.status == "done" and own.exit_reason == "tp2" and not own.path_ended
    assert own.pnl_pct == engine.pnl_pct
    fills = json.loads(own.fills_json)
    assert [(f[1], f[2], f[3]) for f in fills] == [(p, f, r) for _, p, f, r in engine.fills]
    assert [f[0] for f in fills] == [bars[b].ts_ms for b, _, _, _ in engine.fills]
    assert own.exit_ts_ms == bars[engine.fills[-1][0]].ts_ms
    # fixed has the same levels as the hand-built plan; the plan's ATR (2.0 = the SOL
    # baseline) makes atr_scaled's factor 1; quality_tiers needs a score the trade never had.
    assert rows["fixed"].pnl_pct == pytest.approx(engine.pnl_pct)
    assert rows["atr_scaled"].pnl_pct == pytest.approx(engine.pnl_pct)
    tiers = rows["quality_tiers"]
    assert (tiers.status, tiers.pnl_pct, tiers.note) == ("refused", None, "no quality score")

    # Incremental: a second pass finds nothing to do.
    assert await lab.refresh() == 0
    assert lab.totals is not None
    fixed = next(s for s in lab.totals.sets if s.policy == "fixed")
    assert (fixed.trades, fixed.results, fixed.wins) == (1, 1, 1)
    assert fixed.actual_pct == pytest.approx(100.0 * 6.0 / 300.0)  # (153 - 150) x 2 on 300


async def test_a_trade_without_recorded_candles_says_so_instead_of_a_number(
    store: Store,
) -> None:
    position = await closed_trade(store, "ck-1", exit_price=153.0)
    lab = ledger(store)
    assert await lab.refresh() == 1
    assert position.trade_id is not None
    rows = by_policy(await rows_for(store, position.trade_id))
    for policy in ("fixed", "atr_scaled", "own"):
        row = rows[policy]
        assert (row.status, row.pnl_pct, row.exit_reason) == ("no_path", None, None)
        assert row.note == "no candles recorded after the entry"
    (facts,) = await path_facts(store)
    assert (facts.bars, facts.last_bar_ms, facts.excursions) == (0, None, {})
    assert lab.totals is not None
    assert all(s.results == 0 and s.pnl_pct == 0.0 for s in lab.totals.sets)


async def test_candles_that_end_before_the_exit_are_marked_then_completed(
    store: Store,
) -> None:
    position = await closed_trade(store, "ck-1", exit_price=147.7, reason="stop_loss")
    await store.upsert_candles(bars_from([150.1] * 10))  # nothing reached yet
    lab = ledger(store)
    await lab.refresh()
    assert position.trade_id is not None
    rows = by_policy(await rows_for(store, position.trade_id))
    for policy in ("fixed", "own"):
        assert (rows[policy].status, rows[policy].pnl_pct) == ("path_ended", None)
        assert rows[policy].path_ended
    assert await lab.refresh() == 0  # no newer candle: not run again

    # The recorder moves on: the stop is hit, and the next pass settles the trade.
    await store.upsert_candles(bars_from([149.0, 147.5], FIRST_BAR + 10 * MIN, prev=150.1))
    assert await lab.refresh() == 1
    rows = by_policy(await rows_for(store, position.trade_id))
    for policy in ("fixed", "own"):
        row = rows[policy]
        assert (row.status, row.exit_reason, row.path_ended) == ("done", "stop_loss", False)
        assert row.pnl_pct == pytest.approx(-1.5)
    (facts,) = await path_facts(store)
    assert facts.bars == 12 and set(facts.excursions) == {5}


async def test_a_gap_the_recorder_has_left_behind_is_final(store: Store) -> None:
    """Bars missing inside the window while the recorder is already past it: marked, and not
    run again on every new candle (only a backfill could fill the gap)."""
    position = await closed_trade(store, "ck-1", exit_price=147.7, reason="stop_loss")
    await store.upsert_candles(bars_from([150.1] * 5))
    after = FIRST_BAR + 49 * HOUR  # past the 48 h window
    await store.upsert_candles(bars_from([149.0, 147.5], after, prev=150.1))
    lab = ledger(store)
    assert await lab.refresh() == 1
    assert position.trade_id is not None
    assert by_policy(await rows_for(store, position.trade_id))["fixed"].status == "path_ended"
    (facts,) = await path_facts(store)
    assert (facts.bars, facts.complete) == (5, True)
    await store.upsert_candles(bars_from([147.0], after + 2 * MIN, prev=147.5))
    assert await ledger(store).refresh() == 0  # a fresh process does not run it again either


async def fail_ledger_inserts(db: Path | str, trade_id: int) -> None:
    """A real database refusal of one trade's ledger rows (a trigger), on either engine."""
    if isinstance(db, Path):

        def create() -> None:
            with sqlite3.connect(db) as conn:
                conn.execute(
                    "CREATE TRIGGER fault BEFORE INSERT ON counterfactuals "
                    f"WHEN NEW.trade_id = {trade_id} "
                    "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"
                )

        await asyncio.to_thread(create)
        return
    await asyncio.to_thread(
        raw_one,
        db,
        "CREATE FUNCTION fault() RETURNS trigger AS $f$ BEGIN "
        "RAISE EXCEPTION 'disk I/O error (injected)'; END $f$ LANGUAGE plpgsql",
    )
    await asyncio.to_thread(
        raw_one,
        db,
        "CREATE TRIGGER fault BEFORE INSERT ON counterfactuals FOR EACH ROW "
        f"WHEN (NEW.trade_id = {trade_id}) EXECUTE FUNCTION fault()",
    )


async def heal(db: Path | str) -> None:
    if isinstance(db, Path):

        def drop() -> None:
            with sqlite3.connect(db) as conn:
                conn.execute("DROP TRIGGER fault")

        await asyncio.to_thread(drop)
        return
    await asyncio.to_thread(raw_one, db, "DROP TRIGGER fault ON counterfactuals")


def count(db: Path | str, table: str) -> int:
    row = raw_one(db, f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def test_a_failed_write_leaves_nothing_half_written_and_is_done_later(
    store: Store, journal_db: Path | str
) -> None:
    first = await closed_trade(store, "ck-1", exit_price=153.0)
    second = await closed_trade(store, "ck-2", exit_price=153.0, ts_ms=T0 + 2 * HOUR)
    await store.upsert_candles(bars_from(RALLY))
    assert second.trade_id is not None and first.trade_id is not None
    await fail_ledger_inserts(journal_db, second.trade_id)
    events: list[tuple[str, str]] = []
    lab = Ledger(
        Settings(),
        lambda: store,
        lambda lvl, t: events.append((lvl, t)),
        lambda: T0,
        interval_s=3600.0,
        retry_initial_s=3600.0,
    )
    task = asyncio.create_task(lab.run())
    try:
        await until(lambda: lab.failing is not None, what="the failing pass")
        assert lab.failing is not None and "injected" in lab.failing
        # the first trade's rows were in the same transaction: none of the batch is there
        assert count(journal_db, "counterfactuals") == 0
        assert count(journal_db, "ledger_paths") == 0
        assert [lvl for lvl, _ in events] == ["warning"]
        assert events[0][1].startswith("counterfactual ledger not written")

        await heal(journal_db)
        lab.kick()  # the retry (its backoff is an hour here) is not waited for
        await until(lambda: lab.failing is None, what="the pass after the database healed")
        assert count(journal_db, "counterfactuals") == 8  # 2 trades x 4 sets
        assert count(journal_db, "ledger_paths") == 2
        assert events[-1] == ("info", "counterfactual ledger written again")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_trader_overrides_are_measured_against_the_own_plan(store: Store) -> None:
    position = await closed_trade(store, "ck-1", exit_price=151.0, reason="manual_close")
    assert position.trade_id is not None
    await store.record_audit(
        "manual_action", "user", "close #1", "took it early", T0 + 1, trade_id=position.trade_id
    )
    untouched = await closed_trade(store, "ck-2", exit_price=154.5, ts_ms=T0 + 2 * HOUR)
    await store.upsert_candles(bars_from(RALLY))
    await store.upsert_candles(bars_from(RALLY, FIRST_BAR + 2 * HOUR))
    lab = ledger(store)
    await lab.refresh()
    assert lab.totals is not None and untouched.trade_id is not None
    own = by_policy(await rows_for(store, position.trade_id))["own"]
    assert own.pnl_pct is not None
    # only the trade with a manual action counts: actual 1/150 = +0.667 % vs the plan's own run
    assert lab.totals.discretion_trades == 1
    assert lab.totals.discretion_pct == pytest.approx(100.0 / 150.0 - own.pnl_pct)
    plan = ExitPlan.from_json(position.plan.to_json())
    assert plan.stop_loss == position.plan.stop_loss
