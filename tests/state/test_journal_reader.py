"""The incremental journal reader: it reads what the ORM path reads, fetches only what changed
since the last refresh, keeps a closed after-exit window and recomputes an open one."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.trades_csv import load_trades_csv
from cockpit.analytics.trades import TradeRecord
from cockpit.domain import Candle
from state.after_exit import range_reduce
from state.journal import closed_trade_records, import_trades
from state.journal_reader import JournalReader
from state.store import Store
from tests.state.factories import T0

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"
HEADER = "symbol,side,entry_time,entry_price,exit_time,exit_price,size,fees,mfe_pct,tp2_price"
HOUR = 3_600_000


def bars(symbol: str, timeframe: str, start: int, count: int, step: int, seed: int) -> list[Candle]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        mid = 100 + rng.uniform(-20, 20)
        out.append(
            Candle(
                symbol,
                timeframe,
                start + i * step,
                mid,
                mid + rng.random() * 3,
                mid - rng.random() * 3,
                mid,
                1.0,
            )
        )
    return out


async def test_the_reader_reads_what_the_orm_path_reads(store: Store, db_path: Path) -> None:
    journal = load_trades_csv(SAMPLE)
    await import_trades(store, journal, now_ms=T0)
    first = min(t.exit_ts_ms for t in journal.trades) - 2 * HOUR
    last = max(t.exit_ts_ms for t in journal.trades) + 30 * HOUR
    symbols = sorted({t.symbol for t in journal.trades})
    for n, symbol in enumerate(symbols):
        # two timeframes with different steps, so bars of both fall in each window
        await store.upsert_candles(bars(symbol, "1h", first, (last - first) // HOUR, HOUR, n))
        await store.upsert_candles(
            bars(symbol, "15m", first + 7 * 60_000, (last - first) // (15 * 60_000), 15 * 60_000, n)
        )
    for window_h in (24.0, 1.5):
        expected = await closed_trade_records(store, missed_window_h=window_h)
        got = JournalReader(db_path, missed_window_h=window_h).refresh()
        assert got == expected
        assert sum(r.after_exit_high is not None for r in got) == len(got)


async def test_only_trades_closed_since_the_last_refresh_are_fetched(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    await import_trades(store, load_trades_csv(SAMPLE), now_ms=T0)
    reader = JournalReader(db_path)
    assert len(reader.refresh()) == 60 and reader.fetched_last == 60
    assert len(reader.refresh()) == 60 and reader.fetched_last == 0

    extra = tmp_path / "extra.csv"
    extra.write_text(
        HEADER + "\nSOL-PERP,long,2026-01-01T10:00:00Z,100,2026-01-01T11:00:00Z,101,1,0.1,1.2,\n"
    )
    await import_trades(store, load_trades_csv(extra), now_ms=T0 + 1)
    records = reader.refresh()
    assert len(records) == 61 and reader.fetched_last == 1
    assert records[-1].exit_price == 101  # newest exit last

    # a corrected trade (its updated_at_ms changes) is fetched again; a deleted one goes
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE trades SET fees = 0.5, updated_at_ms = updated_at_ms + 1 "
            "WHERE id = (SELECT MAX(id) FROM trades)"
        )
        conn.execute("DELETE FROM trades WHERE id = (SELECT MIN(id) FROM trades)")
    records = reader.refresh()
    assert len(records) == 60 and reader.fetched_last == 1
    assert records[-1].fees == 0.5
    assert records == await closed_trade_records(store)


async def test_an_open_window_is_recomputed_and_a_closed_one_kept(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "one.csv"
    path.write_text(
        HEADER + "\nSOL-PERP,long,2025-10-01T10:00:00Z,100,2025-10-01T11:00:00Z,101,1,0.1,1.2,\n"
    )
    journal = load_trades_csv(path)
    await import_trades(store, journal, now_ms=T0)
    exit_ms = journal.trades[0].exit_ts_ms
    reader = JournalReader(db_path, missed_window_h=24)

    def bar(ts: int, high: float, low: float) -> Candle:
        return Candle("SOL-PERP", "1h", ts, 101, high, low, 101, 1)

    (trade,) = reader.refresh()
    assert (trade.after_exit_high, trade.after_exit_low) == (None, None)
    # the recorder moves on: bars inside the window arrive after the close
    await store.upsert_candles([bar(exit_ms, 103, 100.5)])
    (trade,) = reader.refresh()
    assert (trade.after_exit_high, trade.after_exit_low) == (103, 100.5)
    assert reader.windows_last == 1
    await store.upsert_candles(
        [bar(exit_ms + 23 * HOUR, 105, 99), bar(exit_ms + 24 * HOUR, 300, 1)]
    )
    (trade,) = reader.refresh()
    assert (trade.after_exit_high, trade.after_exit_low) == (105, 99)
    # a bar at the window's end is recorded: the window is closed, never read again
    reader.refresh()
    assert reader.windows_last == 0
    (trade,) = reader.refresh()
    assert (trade.after_exit_high, trade.after_exit_low) == (105, 99)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no database"):
        JournalReader(tmp_path / "nope.db").refresh()


@given(
    values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300),
    ranges=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), min_size=1, max_size=40),
)
def test_range_reduce_equals_a_plain_slice(
    values: list[float], ranges: list[tuple[int, int]]
) -> None:
    data = np.array(values)
    lo = np.array([min(a, b, len(values)) for a, b in ranges], dtype=np.int64)
    hi = np.array([min(max(a, b), len(values)) for a, b in ranges], dtype=np.int64)
    highs = range_reduce(data, lo, hi, np.maximum)
    lows = range_reduce(data, lo, hi, np.minimum)
    for i in range(len(ranges)):
        if hi[i] > lo[i]:
            assert highs[i] == data[lo[i] : hi[i]].max()
            assert lows[i] == data[lo[i] : hi[i]].min()
        else:
            assert np.isnan(highs[i]) and np.isnan(lows[i])


def test_each_column_lands_in_its_own_field() -> None:
    """The reader builds records by position (no mapping per row): every column of a row with
    a different value in each must come out in the field of that name."""
    from state.journal_reader import READ_COLUMNS, record_from_values

    row = {name: f"v{i}" for i, name in enumerate(READ_COLUMNS)}
    row.update(plan_simple=1, plan_tp2="2.5", plan_stop="1.5", plan_json=None)
    record = record_from_values(tuple(row[c] for c in READ_COLUMNS), 7.0, 3.0)
    renamed = {"size": "initial_size"}
    skip = {"tp2_price", "initial_stop", "after_exit_high", "after_exit_low"}
    for field in TradeRecord.__dataclass_fields__:
        if field not in skip:
            assert getattr(record, field) == row[renamed.get(field, field)], field
    assert (record.tp2_price, record.initial_stop) == (2.5, 1.5)
    assert (record.after_exit_high, record.after_exit_low) == (7.0, 3.0)
