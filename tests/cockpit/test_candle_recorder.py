"""The candle recorder on a real store and the live feed against the fake Binance: backfill on
an empty table, catch-up after a restart (the half-formed last bar overwritten), REST errors
retried until the range is complete, and never a forming bar stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.ccxt_feed import CcxtFeed
from cockpit.candle_recorder import CandleRecorder
from cockpit.domain import Candle
from state.store import Store
from tests.adapters.live_feed_harness import (
    SYMBOL,
    fast_config,
    running,
    until,
)
from tests.fakes._server import FakeClock, wall_ms
from tests.fakes.binance_usdm import MINUTE_MS, FakeBinanceUSDM

pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture
def clock() -> FakeClock:
    """The market's clock, frozen in the middle of the current minute and moved only by the
    test. On wall time a minute could end during a test: one more bar is then closed (the
    retried backfill fetched 21 bars, not 20, and the test waited for 20 until its timeout)."""
    return FakeClock(frozen_ms=wall_ms() // MINUTE_MS * MINUTE_MS + MINUTE_MS // 2)


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeBinanceUSDM]:
    async with running(FakeBinanceUSDM(clock=clock, history_minutes=90)) as server:
        yield server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'candles.db'}")
    try:
        yield opened
    finally:
        await opened.close()


class Recording:
    """A recorder task on its own feed, with the events it logged."""

    def __init__(self, store: Store, fake: FakeBinanceUSDM, clock: FakeClock, minutes: int) -> None:
        self.feed = CcxtFeed(fast_config(fake.origin))
        self.events: list[tuple[str, str]] = []
        self.recorder = CandleRecorder(
            store,
            self.feed,
            SYMBOL,
            clock=clock,
            event=lambda level, text: self.events.append((level, text)),
            backfill_minutes=minutes,
            retry_initial_s=0.05,
            retry_max_s=0.2,
            source="binanceusdm",
        )
        self.task = asyncio.create_task(self.recorder.run())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.feed.close()


def current_minute(clock: FakeClock) -> int:
    now = clock()
    return now - now % MINUTE_MS


def ohlcv(bar: Candle) -> tuple[float, ...]:
    return (bar.open, bar.high, bar.low, bar.close, bar.volume)


async def test_empty_table_gets_the_backfill_and_no_forming_bar(
    store: Store, fake: FakeBinanceUSDM, clock: FakeClock
) -> None:
    rec = Recording(store, fake, clock, minutes=45)
    try:
        await until(lambda: rec.recorder.fetched > 0, what="the backfill")
        stored = await store.candles(SYMBOL, "1m", None, 1000)
        minute = current_minute(clock)
        assert [c.ts_ms for c in stored] == [minute - i * MINUTE_MS for i in range(45, 0, -1)]
        for bar in stored:
            assert ohlcv(bar) == pytest.approx(tuple(fake.bar(bar.ts_ms) or ()))
        assert rec.recorder.dirty_since is None
        assert any("recorded 45 bars" in text for _, text in rec.events)
    finally:
        await rec.stop()


async def test_a_restart_catches_up_from_the_last_bar_without_duplicates(
    store: Store, fake: FakeBinanceUSDM, clock: FakeClock
) -> None:
    minute = current_minute(clock)
    # a previous session stored bars up to `minute - 20`, the last one half-formed
    half = fake.bar(minute - 20 * MINUTE_MS) or []
    old = [
        Candle(SYMBOL, "1m", ts, *(fake.bar(ts) or []))
        for ts in range(minute - 30 * MINUTE_MS, minute - 20 * MINUTE_MS, MINUTE_MS)
    ]
    partial = Candle(SYMBOL, "1m", minute - 20 * MINUTE_MS, half[0], half[0], half[0], half[0], 1.0)
    await store.upsert_candles([*old, partial], source="earlier")
    rec = Recording(store, fake, clock, minutes=240)
    try:
        await until(lambda: rec.recorder.fetched > 0, what="the catch-up")
        stored = await store.candles(SYMBOL, "1m", None, 1000)
        assert [c.ts_ms for c in stored] == list(
            range(minute - 30 * MINUTE_MS, minute, MINUTE_MS)
        )  # from the old first bar up to the last closed one, once each
        assert ohlcv(stored[10]) == pytest.approx(tuple(half))  # the half-formed bar repaired
        assert rec.recorder.fetched == 20
    finally:
        await rec.stop()


@pytest.mark.parametrize("status", [429, 503])
async def test_rest_errors_are_retried_until_the_range_is_complete(
    store: Store, fake: FakeBinanceUSDM, clock: FakeClock, status: int
) -> None:
    fake.fail_http(status, count=3, path_prefix="/fapi/v1/klines")
    rec = Recording(store, fake, clock, minutes=20)
    try:
        await until(lambda: rec.recorder.fetched == 20, what="the backfill after the errors")
        assert any(level == "warning" and "retrying" in text for level, text in rec.events)
        klines = [r for r in fake.rest_requests if r.startswith("GET /fapi/v1/klines")]
        assert len(klines) == 4
        assert len(await store.candles(SYMBOL, "1m", None, 1000)) == 20
    finally:
        await rec.stop()


async def test_streamed_bars_and_a_gap_are_stored_once_each(
    store: Store, fake: FakeBinanceUSDM, clock: FakeClock
) -> None:
    rec = Recording(store, fake, clock, minutes=5)
    try:
        await until(lambda: rec.recorder.fetched == 5)
        await fake.wait_subscribed("solusdt@kline_1m")
        minute = current_minute(clock)
        await fake.trade(150.5, 3.0, ts=minute + 1)
        clock.advance(MINUTE_MS)
        await fake.trade(150.7, 1.0, ts=minute + MINUTE_MS + 1)
        await until(lambda: rec.recorder.streamed == 1, what="a streamed bar")
        # the kline stream misses a whole bar and more (the fake stalls), then resumes: the
        # bar `minute + 2` never reaches the stream and must come from REST
        fake.stalled = True
        clock.advance(MINUTE_MS)
        await fake.trade(151.0, 1.0, ts=minute + 2 * MINUTE_MS + 1)
        clock.advance(MINUTE_MS)
        await fake.trade(151.2, 2.0, ts=minute + 3 * MINUTE_MS + 1)
        fake.stalled = False
        clock.advance(MINUTE_MS)
        await fake.trade(151.5, 1.0, ts=minute + 4 * MINUTE_MS + 1)
        want = list(range(minute - 5 * MINUTE_MS, minute + 4 * MINUTE_MS, MINUTE_MS))

        async def stored() -> list[int]:
            return [c.ts_ms for c in await store.candles(SYMBOL, "1m", None, 1000)]

        async with asyncio.timeout(60):  # a ceiling for a loaded machine
            while await stored() != want:
                await asyncio.sleep(0.05)
        for bar in await store.candles(SYMBOL, "1m", None, 1000):
            assert ohlcv(bar) == pytest.approx(tuple(fake.bar(bar.ts_ms) or ())), bar.ts_ms
        assert rec.recorder.fetched > 5  # the gap was filled over REST
    finally:
        await rec.stop()
