"""The journal: imports are all-or-nothing and idempotent, reads see candles after each exit,
and the SQL views agree with the Python analytics on the sample journal."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.trades_csv import TradesFile, load_trades_csv
from cockpit.analytics.attribution import Tier, attribution_tables
from cockpit.analytics.gates import directional_edge
from cockpit.analytics.metrics import runner_stats
from cockpit.domain import Candle, Side
from state.db import create_engine_for
from state.journal import ANALYSIS_VIEWS, closed_trade_records, import_trades, view_rows
from state.migrate import downgrade_to, upgrade_to_head
from state.store import Store
from tests.state.factories import T0, exit_order, fill_for, open_trade, raw_one

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"
HEADER = "symbol,side,entry_time,entry_price,exit_time,exit_price,size,fees,mfe_pct,tp2_price"
HOUR = 3_600_000


def journal_file(tmp_path: Path, *rows: str) -> TradesFile:
    path = tmp_path / "journal.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return load_trades_csv(path)


def count(journal_db: Path | str, sql: str) -> int:
    row = raw_one(journal_db, sql)
    assert row is not None
    return int(row[0])


async def test_import_stores_closed_trades_marked_as_imported(
    store: Store, journal_db: Path | str
) -> None:
    journal = load_trades_csv(SAMPLE)
    result = await import_trades(store, journal, now_ms=T0)
    assert (result.imported, result.skipped) == (len(journal.trades), 0)
    assert count(journal_db, "SELECT COUNT(DISTINCT mode || venue || status) FROM trades") == 1
    modes = raw_one(journal_db, "SELECT mode, venue, status FROM trades")
    audit = raw_one(
        journal_db, "SELECT kind, action, (SELECT COUNT(*) FROM audit_events) FROM audit_events"
    )
    assert tuple(modes) == ("shadow", "import", "closed")
    assert tuple(audit) == ("import", f"import {result.imported} trades from sample_trades.csv", 1)
    records = await closed_trade_records(store)
    assert len(records) == result.imported
    assert all(r.imported for r in records)
    # the journal's numbers arrive unchanged: net = pnl column - fees column
    first = min(journal.trades, key=lambda t: (t.exit_ts_ms, t.entry_ts_ms))
    assert records[0].net_pnl == pytest.approx(first.pnl - first.fees)


async def test_importing_the_same_file_twice_adds_nothing(
    store: Store, journal_db: Path | str
) -> None:
    journal = load_trades_csv(SAMPLE)
    first_ten = replace(journal, trades=journal.trades[:10])
    assert (await import_trades(store, first_ten, now_ms=T0)).imported == 10
    again = await import_trades(store, journal, now_ms=T0 + 1)
    # the longer file brings only its new rows
    assert (again.imported, again.skipped) == (len(journal.trades) - 10, 10)
    third = await import_trades(store, journal, now_ms=T0 + 2)
    assert (third.imported, third.skipped) == (0, len(journal.trades))
    assert count(journal_db, "SELECT COUNT(*) FROM trades") == len(journal.trades)
    assert count(journal_db, "SELECT COUNT(*) FROM audit_events") == 2  # nothing new, no row


async def test_a_failing_row_rolls_the_whole_import_back(
    store: Store, journal_db: Path | str, tmp_path: Path
) -> None:
    journal = journal_file(
        tmp_path,
        "SOL-PERP,long,2025-10-01T10:00:00Z,100,2025-10-01T11:00:00Z,101,1,0.1,1.2,103",
        "SOL-PERP,short,2025-10-02T10:00:00Z,100,2025-10-02T11:00:00Z,99,1,0.1,1.5,97",
    )
    # a value both databases refuse (NOT NULL) on row 2
    broken = replace(journal, trades=(journal.trades[0], replace(journal.trades[1], side=None)))
    with pytest.raises(IntegrityError):
        await import_trades(store, broken, now_ms=T0)
    assert count(journal_db, "SELECT COUNT(*) FROM trades") == 0
    assert count(journal_db, "SELECT COUNT(*) FROM audit_events") == 0


async def test_an_imported_row_matching_a_cockpit_trade_is_skipped(
    store: Store, tmp_path: Path
) -> None:
    position = await open_trade(store, "ck-1", entry=150.0, ts_ms=1_759_312_800_000)
    assert position.trade_id is not None
    journal = journal_file(
        tmp_path,
        # 1_759_312_800_000 is 2025-10-01T10:00:00Z: the same trade the cockpit recorded
        "SOL-PERP,long,2025-10-01T10:00:00Z,150,2025-10-01T11:00:00Z,151,2,0.1,1.2,",
        "SOL-PERP,long,2025-10-01T12:00:00Z,150,2025-10-01T13:00:00Z,151,2,0.1,1.2,",
    )
    result = await import_trades(store, journal, now_ms=T0)
    assert (result.imported, result.skipped) == (1, 1)


async def test_unrecorded_mfe_stays_unknown(store: Store, tmp_path: Path) -> None:
    journal = journal_file(
        tmp_path,
        "SOL-PERP,long,2025-10-01T10:00:00Z,100,2025-10-01T11:00:00Z,101,1,0.1,,",
        "SOL-PERP,long,2025-10-02T10:00:00Z,100,2025-10-02T11:00:00Z,101,1,0.1,2.5,103",
    )
    await import_trades(store, journal, now_ms=T0)
    without, with_mfe = await closed_trade_records(store)
    assert (without.mfe_pct, without.tp2_price) == (None, None)
    assert (with_mfe.mfe_pct, with_mfe.tp2_price, with_mfe.tp2_distance_pct) == (
        2.5,
        103.0,
        pytest.approx(3.0),
    )
    [row_without, row_with] = sorted(
        await view_rows(store, "vw_closed_trades"), key=lambda r: r["entry_ts_ms"]
    )
    assert row_without["mfe_pct"] is None and row_with["mfe_pct"] == 2.5


async def test_a_cockpit_trade_brings_its_own_tp2_and_mfe(store: Store) -> None:
    position = await open_trade(store, "ck-1", side=Side.LONG, entry=150.0, size=2.0, ts_ms=T0)
    order = exit_order("ck-x", position, 2.0, "tp2")
    order_id = await store.record_order_intent(order, mode=position.mode, venue="paper")
    position.size, position.closed, position.mfe_pct = 0.0, True, 3.4
    position.realized_pnl = (154.5 - 150.0) * 2.0
    await store.record_exit_fill(order_id, fill_for(order, 154.5, T0 + HOUR), position)
    (record,) = await closed_trade_records(store)
    assert not record.imported
    assert record.tp2_price == pytest.approx(154.5)  # 150 x 1.03
    assert record.mfe_pct == 3.4
    # realized (154.5 - 150) x 2 = 9.0; fees 0.05 entry + 0.05 exit
    assert record.net_pnl == pytest.approx(9.0 - position.fees)


async def test_candles_after_the_exit_within_the_window(store: Store, tmp_path: Path) -> None:
    journal = journal_file(
        tmp_path, "SOL-PERP,long,2025-10-01T10:00:00Z,100,2025-10-01T11:00:00Z,101,1,0.1,1.2,"
    )
    await import_trades(store, journal, now_ms=T0)
    exit_ms = journal.trades[0].exit_ts_ms

    def bar(ts: int, high: float, low: float) -> Candle:
        return Candle("SOL-PERP", "1h", ts, 101, high, low, 101, 1)

    (before,) = await closed_trade_records(store)
    assert (before.after_exit_high, before.after_exit_low) == (None, None)
    await store.upsert_candles(
        [
            bar(exit_ms - HOUR, 200, 10),  # before the exit: not after it
            bar(exit_ms, 103, 100.5),  # opens at the exit
            bar(exit_ms + 23 * HOUR, 105, 99),  # last bar inside 24 h
            bar(exit_ms + 24 * HOUR, 300, 1),  # opens when the window closes: outside
        ]
    )
    (after,) = await closed_trade_records(store, missed_window_h=24)
    assert (after.after_exit_high, after.after_exit_low) == (105, 99)
    (short_window,) = await closed_trade_records(store, missed_window_h=1)
    assert (short_window.after_exit_high, short_window.after_exit_low) == (103, 100.5)


async def test_views_agree_with_the_python_analytics_on_the_sample(store: Store) -> None:
    await import_trades(store, load_trades_csv(SAMPLE), now_ms=T0)
    records = await closed_trade_records(store)

    edge_rows = {r["direction"]: r for r in await view_rows(store, "vw_directional_edge")}
    edge = directional_edge(records)
    assert edge_rows["long"]["trades"] == edge.long_trades
    assert edge_rows["short"]["trades"] == edge.short_trades
    assert edge_rows["long"]["avg_pnl"] == pytest.approx(edge.long_avg, abs=0.005)
    assert edge_rows["short"]["avg_pnl"] == pytest.approx(edge.short_avg, abs=0.005)
    direction = attribution_tables(records, [Tier("high", 80)])[1]
    for row in direction.rows:
        assert edge_rows[row.key]["win_rate"] == pytest.approx(100 * (row.win_rate or 0), abs=0.05)
        assert edge_rows[row.key]["total_pnl"] == pytest.approx(row.net_pnl, abs=0.005)

    runner_rows = {r["exit_reason"]: r for r in await view_rows(store, "vw_runner_potential")}
    for reason, row in runner_rows.items():
        group = [t for t in records if t.exit_reason == reason]
        stats = runner_stats(group, fallback_tp2_pct=3.0, runner_share=0.25)
        assert (row["count"], row["trades_with_mfe"]) == (len(group), stats.with_mfe)
        assert row["runner_potential_count"] == stats.beyond_tp2
    assert sum(r["count"] for r in runner_rows.values()) == len(records)

    # the roadmap's tiers: >= 80 High, >= 70 Medium, everything else scored is Low
    quality = {r["quality_tier"]: r for r in await view_rows(store, "vw_quality_performance")}
    scored = [t for t in records if t.quality_score is not None]
    for name, members in (
        ("High (80-100)", [t for t in scored if (t.quality_score or 0) >= 80]),
        ("Medium (70-79)", [t for t in scored if 70 <= (t.quality_score or 0) < 80]),
        ("Low (60-69)", [t for t in scored if (t.quality_score or 0) < 70]),
    ):
        assert quality[name]["trades"] == len(members)
        avg = sum(t.net_pnl for t in members) / len(members)
        assert quality[name]["avg_pnl"] == pytest.approx(avg, abs=0.005)


def _sample_with_external(tmp_path: Path, external: int) -> Path:
    """The sample journal with a policy column: the first `external` trades were positions
    adopted from the venue (policy "external"), the rest have none."""
    header, *rows = SAMPLE.read_text().splitlines()
    lines = [f"{header},policy"]
    lines += [f"{row},{'external' if i < external else ''}" for i, row in enumerate(rows)]
    path = tmp_path / "with_external.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_views_leave_out_adopted_external_positions_as_the_analytics_do(
    store: Store, journal_db: Path | str, tmp_path: Path
) -> None:
    # issue 18: vw_closed_trades counted 60 trades where the analytics count 57
    await import_trades(store, load_trades_csv(_sample_with_external(tmp_path, 3)), now_ms=T0)
    assert count(journal_db, "SELECT COUNT(*) FROM trades WHERE status = 'closed'") == 60
    records = await closed_trade_records(store)
    assert len(records) == 57
    closed = await view_rows(store, "vw_closed_trades")
    assert sorted(r["id"] for r in closed) == sorted(t.id for t in records)
    assert all(r["policy"] != "external" for r in closed)
    edge_rows = await view_rows(store, "vw_directional_edge")
    assert sum(r["trades"] for r in edge_rows) == 57
    assert sum(r["count"] for r in await view_rows(store, "vw_runner_potential")) == 57
    scored = [t for t in records if t.quality_score is not None]
    quality = await view_rows(store, "vw_quality_performance")
    assert sum(r["trades"] for r in quality) == len(scored)
    edge = directional_edge(records)
    by_side = {r["direction"]: r for r in edge_rows}
    assert by_side["long"]["avg_pnl"] == pytest.approx(edge.long_avg, abs=0.005)
    assert by_side["short"]["avg_pnl"] == pytest.approx(edge.short_avg, abs=0.005)


async def test_no_view_row_mixes_trades_with_and_without_atr(store: Store) -> None:
    # the sample has 8 trades without ATR: vw_directional_edge averaged ATR over the others
    # and the price move over all of them in one row
    await import_trades(store, load_trades_csv(SAMPLE), now_ms=T0)
    records = await closed_trade_records(store)
    assert 0 < sum(1 for t in records if t.atr is None) < len(records)
    edge_rows = await view_rows(store, "vw_directional_edge")
    assert all("avg_atr" not in r and "avg_move_pct" not in r for r in edge_rows)
    # the roadmap's "ATR correlation with movement": WHERE atr IS NOT NULL, per direction
    atr_rows = {r["direction"]: r for r in await view_rows(store, "vw_atr_movement")}
    for side in ("long", "short"):
        with_atr = [t for t in records if t.side == side and t.atr is not None]
        row = atr_rows[side]
        assert row["trades"] == len(with_atr)
        assert row["avg_atr"] == pytest.approx(
            sum(t.atr or 0 for t in with_atr) / len(with_atr), abs=0.005
        )
        moves = [abs(t.exit_price - t.entry_price) / t.entry_price * 100 for t in with_atr]
        assert row["avg_move_pct"] == pytest.approx(sum(moves) / len(moves), abs=0.005)
        mfes = [t.mfe_pct for t in with_atr if t.mfe_pct is not None]
        assert row["avg_mfe"] == pytest.approx(sum(mfes) / len(mfes), abs=0.005)


async def test_views_exist_at_head_and_go_with_a_downgrade(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        await upgrade_to_head(engine)
        names = await _views(engine)
        assert names == set(ANALYSIS_VIEWS)
        await downgrade_to(engine, "0007")  # the views of 0005 as they were
        assert await _views(engine) == set(ANALYSIS_VIEWS) - {"vw_atr_movement"}
        await downgrade_to(engine, "0004")
        assert await _views(engine) == set()
        await upgrade_to_head(engine)
        assert await _views(engine) == set(ANALYSIS_VIEWS)
    finally:
        await engine.dispose()


async def _views(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_view_names()))


async def test_unknown_view_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown view"):
        await view_rows(store, "trades; DROP TABLE trades")


@pytest.mark.sqlite_only  # it opens both engines itself
async def test_the_same_journal_gives_the_same_view_rows_on_both_engines(
    tmp_path: Path, pg_url: str
) -> None:
    """The sample journal plus cockpit trades with an ATR, a TP2 and adopted positions, imported
    into a SQLite file and into a PostgreSQL database: every view, row for row, equal (floats
    to the last rounding digit: the engines may round a half differently)."""
    rows_by_engine = []
    for url in (f"sqlite+aiosqlite:///{tmp_path / 'parity.db'}", pg_url):
        store = await Store.open(url, flush_interval_s=60.0)
        try:
            await import_trades(
                store, load_trades_csv(_sample_with_external(tmp_path, 3)), now_ms=T0
            )
            for i, side in enumerate((Side.LONG, Side.SHORT, Side.LONG)):
                features = {"atr": 1.5 + i, "quality_score": 65.0 + 10 * i, "regime": "trend"}
                position = await open_trade(
                    store,
                    f"p{i}",
                    side=side,
                    entry=100.0,
                    size=2.0,
                    ts_ms=T0 + i,
                    features=features,
                )
                exit_price = 103.0 - 2 * i
                order = exit_order(f"x{i}", position, 2.0, "tp2")
                oid = await store.record_order_intent(order, mode=position.mode, venue="paper")
                position.size, position.closed, position.mfe_pct = 0.0, True, 2.5 + i
                sign = 1 if side is Side.LONG else -1
                position.realized_pnl = sign * (exit_price - 100.0) * 2.0
                await store.record_exit_fill(oid, fill_for(order, exit_price, T0 + 9 + i), position)
            rows_by_engine.append({view: await view_rows(store, view) for view in ANALYSIS_VIEWS})
        finally:
            await store.close()
    sqlite_rows, pg_rows = rows_by_engine
    for view in ANALYSIS_VIEWS:
        assert len(sqlite_rows[view]) == len(pg_rows[view]) > 0, view
        for lite, pg in zip(sqlite_rows[view], pg_rows[view], strict=True):
            assert lite.keys() == pg.keys(), view
            for column, value in lite.items():
                other = pg[column]
                if isinstance(value, float) or isinstance(other, float):
                    assert other == pytest.approx(value, abs=0.011), (view, column)
                else:
                    assert other == value, (view, column)
