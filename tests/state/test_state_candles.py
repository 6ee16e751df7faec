"""Candles: idempotent upsert by (symbol, timeframe, open time), ordered reads."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.domain import Candle
from state.store import Store
from tests.state.factories import T0, raw_one

MINUTE = 60_000


def bar(i: int, close: float = 150.0, symbol: str = "SOL-PERP", tf: str = "1m") -> Candle:
    return Candle(
        symbol, tf, T0 + i * MINUTE, close - 0.5, close + 1.0, close - 1.0, close, 10.0 + i
    )


async def test_upsert_is_idempotent(store: Store, journal_db: Path | str) -> None:
    bars = [bar(i) for i in range(5)]
    assert await store.upsert_candles(bars) == 5
    assert await store.upsert_candles(bars) == 5
    count = raw_one(journal_db, "SELECT COUNT(*) FROM candles")
    assert count is not None and count[0] == 5
    assert await store.candles("SOL-PERP", "1m") == bars


async def test_same_key_overwrites_the_bar_and_source(store: Store, journal_db: Path | str) -> None:
    await store.upsert_candles([bar(0, 150.0), bar(1, 151.0)], source="backfill")
    assert await store.upsert_candles([bar(1, 152.5)], source="feed") == 1
    assert [c.close for c in await store.candles("SOL-PERP", "1m")] == [150.0, 152.5]
    row = raw_one(journal_db, "SELECT source FROM candles WHERE ts_ms = ?", (T0 + MINUTE,))
    assert row is not None and row[0] == "feed"


async def test_duplicates_in_one_batch_keep_the_last(store: Store) -> None:
    assert await store.upsert_candles([bar(0, 150.0), bar(0, 151.0), bar(1)]) == 2
    assert [c.close for c in await store.candles("SOL-PERP", "1m")] == [151.0, 150.0]
    assert await store.upsert_candles([]) == 0


async def test_reads_filter_and_order(store: Store) -> None:
    await store.upsert_candles([bar(i) for i in reversed(range(10))])
    await store.upsert_candles([bar(i, symbol="BTC-PERP") for i in range(3)])
    await store.upsert_candles([bar(i, tf="5m") for i in range(3)])
    sol = await store.candles("SOL-PERP", "1m")
    assert [c.ts_ms for c in sol] == [T0 + i * MINUTE for i in range(10)]
    since = await store.candles("SOL-PERP", "1m", since_ms=T0 + 4 * MINUTE, limit=3)
    assert [c.ts_ms for c in since] == [T0 + i * MINUTE for i in (4, 5, 6)]
    latest = await store.candles("SOL-PERP", "1m", limit=3)
    assert [c.ts_ms for c in latest] == [T0 + i * MINUTE for i in (7, 8, 9)]
    assert len(await store.candles("BTC-PERP", "1m")) == 3
    assert await store.candles("ETH-PERP", "1m") == []


@settings(max_examples=20, deadline=None)
@given(
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 6), st.floats(1.0, 1e6)), max_size=8), max_size=5
    )
)
def test_stored_bars_equal_last_write_wins(batches: list[list[tuple[int, float]]]) -> None:
    expected: dict[int, Candle] = {}
    for batch in batches:
        for i, close in batch:
            expected[T0 + i * MINUTE] = bar(i, close)

    async def scenario(url: str) -> list[Candle]:
        store = await Store.open(url)
        try:
            for batch in batches:
                await store.upsert_candles([bar(i, close) for i, close in batch])
            return await store.candles("SOL-PERP", "1m")
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as tmp:
        got = asyncio.run(scenario(f"sqlite+aiosqlite:///{Path(tmp) / 'c.db'}"))
    assert got == [expected[ts] for ts in sorted(expected)]
