"""Candle files played as ticks: the intrabar order, and candles() that never see the future."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

import pytest

from adapters.csv_candles import load_candles_csv
from adapters.replay import ReplayFeed, candle_replay, candle_ticks
from cockpit.domain import Candle, FeedState, Tick
from tests.waiting import CEILING_S

SYM = "SOL-PERP"
T0 = 1_700_000_100_000
WAIT = CEILING_S  # a ceiling: a bug fails instead of hanging, a loaded machine still passes
MARKET_DATA = Path(__file__).parents[2].parent / "shared/data/market"


def bar(ts: int, o: float, h: float, lo: float, c: float, v: float = 1.0, tf: str = "1m") -> Candle:
    return Candle(SYM, tf, ts, o, h, lo, c, v)


def test_up_bar_goes_open_low_high_close() -> None:
    ticks = list(candle_ticks([bar(T0, 10, 12, 9, 11)]))
    assert [t.price for t in ticks] == [10, 9, 12, 11]


def test_down_bar_goes_open_high_low_close() -> None:
    ticks = list(candle_ticks([bar(T0, 11, 12, 9, 10)]))
    assert [t.price for t in ticks] == [11, 12, 9, 10]


def test_doji_counts_as_up() -> None:
    assert [t.price for t in candle_ticks([bar(T0, 10, 12, 9, 10)])] == [10, 9, 12, 10]


@pytest.mark.parametrize(("tf", "ms"), [("1m", 60_000), ("5m", 300_000), ("1h", 3_600_000)])
def test_timestamps_spread_inside_the_bar(tf: str, ms: int) -> None:
    ticks = list(candle_ticks([bar(T0, 10, 12, 9, 11, tf=tf), bar(T0 + ms, 11, 11, 10, 10, tf=tf)]))
    assert len(ticks) == 8
    first, second = ticks[:4], ticks[4:]
    assert first[0].ts_ms == T0  # open at the bar's start
    assert first[-1].ts_ms == T0 + ms - 1  # close just before the next bar
    assert second[0].ts_ms == T0 + ms
    stamps = [t.ts_ms for t in ticks]
    assert stamps == sorted(set(stamps))
    gaps = [b - a for a, b in pairwise(stamps[:4])]
    assert max(gaps) - min(gaps) <= 1  # evenly spread
    for t in ticks:
        assert t.source == "replay" and t.bid is None and t.ask is None and t.symbol == SYM


FILE_BARS = [
    (T0, 100.0, 101.0, 99.0, 100.5, 10.0),
    (T0 + 60_000, 100.5, 102.0, 100.0, 101.5, 20.0),
    (T0 + 120_000, 101.5, 101.6, 98.0, 98.5, 30.0),
    (T0 + 180_000, 98.5, 99.0, 97.0, 98.0, 40.0),
    (T0 + 240_000, 98.0, 100.0, 97.5, 99.5, 50.0),
    (T0 + 300_000, 99.5, 99.9, 99.4, 99.6, 60.0),
]


def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        + "".join(",".join(str(x) for x in row) + "\n" for row in FILE_BARS)
    )
    return path


async def collect(feed: ReplayFeed, out: list[Tick]) -> None:
    async for tick in feed.ticks(SYM):
        out.append(tick)


async def test_candle_replay_reveals_bars_only_as_the_replay_reaches_them(tmp_path: Path) -> None:
    feed = candle_replay(csv_file(tmp_path), SYM, speed=None, paused=True)
    file_bars = load_candles_csv(csv_file(tmp_path), SYM)
    assert await feed.candles(SYM, "1m") == []  # nothing of the future before the replay starts
    out: list[Tick] = []
    task = asyncio.create_task(collect(feed, out))

    await asyncio.wait_for(feed.step(4), WAIT)  # all of bar 0
    assert await feed.candles(SYM, "1m") == file_bars[:1]  # the file's bar, with its volume

    await asyncio.wait_for(feed.step(2), WAIT)  # open and low of bar 1 (an up bar)
    bars = await feed.candles(SYM, "1m")
    assert bars[0] == file_bars[0]
    assert bars[1] == Candle(SYM, "1m", T0 + 60_000, 100.5, 100.5, 100.0, 100.0, 0.0)  # forming

    feed.resume()
    await asyncio.wait_for(task, WAIT)
    assert len(out) == 4 * len(FILE_BARS)
    assert await feed.candles(SYM, "1m") == file_bars
    five = await feed.candles(SYM, "5m")
    first_five = file_bars[:5]
    assert five[0] == Candle(
        SYM,
        "5m",
        T0,
        first_five[0].open,
        max(b.high for b in first_five),
        min(b.low for b in first_five),
        first_five[-1].close,
        sum(b.volume for b in first_five),
    )
    assert five[1] == Candle(SYM, "5m", T0 + 300_000, 99.5, 99.9, 99.4, 99.6, 60.0)
    assert feed.status.state is FeedState.DOWN and feed.status.detail == "replay finished"
    assert feed.status.simulated  # replayed prices are not the live market


async def test_candle_replay_status_and_speeds(tmp_path: Path) -> None:
    for speed, text in [(1.0, "replay 1x"), (10.0, "replay 10x"), (100.0, "replay 100x")]:
        feed = candle_replay(csv_file(tmp_path), SYM, speed=speed)
        assert feed.status.detail == f"{text} · 0 %"  # the speed, then how far it has played
        await feed.close()
    feed = candle_replay(csv_file(tmp_path), SYM, speed=None)
    assert feed.status.detail == "replay max · 0 %"


async def test_5m_file_cannot_serve_1m(tmp_path: Path) -> None:
    path = tmp_path / "five.csv"
    path.write_text("".join(f"{T0 + i * 300_000},10,11,9,10,1\n" for i in range(3)))
    feed = candle_replay(path, SYM, speed=None)
    await asyncio.wait_for(collect(feed, []), WAIT)
    assert len(await feed.candles(SYM, "5m")) == 3
    assert len(await feed.candles(SYM, "15m")) == 1
    with pytest.raises(ValueError, match="not a multiple"):
        await feed.candles(SYM, "1m")


def real_file(name: str) -> Path:
    path = MARKET_DATA / name
    if not path.exists():
        pytest.skip(f"real market data not present: {path}")
    return path


def test_real_data_smoke() -> None:
    path = real_file("SOLUSDT_binance-usdm-perp_1m_2025-05-04_2025-06-24.csv.gz")
    bars = load_candles_csv(path, "SOL/USDT:USDT")
    assert len(bars) == 73141  # SOURCES.md
    assert bars[0].timeframe == "1m"
    assert bars[0].open == pytest.approx(146.78)
    assert bars[-1].close == pytest.approx(143.43)
    ticks = list(candle_ticks(bars))
    assert len(ticks) == 4 * len(bars)
    assert all(ticks[4 * i].price == b.open and ticks[4 * i + 3].price == b.close
               for i, b in enumerate(bars))  # fmt: skip


def test_real_5m_data_with_a_gap_infers_5m() -> None:
    bars = load_candles_csv(real_file("SOLUSDT_binance-spot_5m_2023-01-01_2023-03-28.csv.gz"), "S")
    assert len(bars) == 25000 and bars[0].timeframe == "5m"
