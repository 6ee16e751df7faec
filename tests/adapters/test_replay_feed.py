"""ReplayFeed: pacing, controls, status and candles over hand-built ticks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from adapters.base import MarketFeed
from adapters.replay import ReplayFeed
from cockpit.domain import Candle, FeedState, Tick
from tests.waiting import CEILING_S

SYM = "SOL-PERP"
T0 = 1_700_000_100_000  # on a 5-minute boundary
WAIT = CEILING_S  # the ceiling on anything a test awaits, so a bug fails instead of hanging


def ticks(n: int, *, interval_ms: int = 1000, start: int = T0) -> Iterator[Tick]:
    for i in range(n):
        yield Tick(SYM, start + i * interval_ms, 100.0 + i)


def feed_of(source: Iterator[Tick], **kwargs: object) -> ReplayFeed:
    return ReplayFeed({SYM: source}, simulated=False, label="replay", **kwargs)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for something another task does, instead of guessing a sleep."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.001)


async def collect(feed: ReplayFeed, out: list[Tick], symbol: str = SYM) -> None:
    async for tick in feed.ticks(symbol):
        out.append(tick)


def test_is_a_market_feed() -> None:
    assert isinstance(feed_of(ticks(1)), MarketFeed)


def test_unknown_symbol_names_the_known_ones() -> None:
    feed = ReplayFeed({"SOL-PERP": ticks(1), "BTC-PERP": iter(())}, simulated=False, label="replay")
    with pytest.raises(ValueError, match=r"'ETH-PERP'.*SOL-PERP, BTC-PERP"):
        feed.ticks("ETH-PERP")


async def test_unknown_symbol_for_candles() -> None:
    with pytest.raises(ValueError, match="unknown symbol"):
        await feed_of(ticks(1)).candles("ETH-PERP", "1m")


async def test_max_speed_plays_10k_ticks_fast_and_finishes() -> None:
    feed = feed_of(ticks(10_000), speed=None)
    out: list[Tick] = []
    started = time.perf_counter()
    await asyncio.wait_for(collect(feed, out), WAIT)
    assert time.perf_counter() - started < 5.0
    assert [t.ts_ms for t in out] == [T0 + 1000 * i for i in range(10_000)]
    assert feed.status.state is FeedState.DOWN
    assert feed.status.detail == "replay finished"
    assert feed.market_ms == T0 + 9_999_000


async def test_max_speed_keeps_the_event_loop_responsive() -> None:
    feed = feed_of(ticks(5000), speed=None)
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            beats += 1
            await asyncio.sleep(0)

    hb = asyncio.create_task(heartbeat())
    await collect(feed, [])
    hb.cancel()
    assert beats > 1000  # the other task ran between ticks, not once at the end


async def test_speed_1000_takes_about_a_millisecond_per_one_second_tick() -> None:
    feed = feed_of(ticks(201), speed=1000.0)
    started = time.perf_counter()
    await asyncio.wait_for(collect(feed, []), WAIT)  # at 1x it would take 200 s
    elapsed = time.perf_counter() - started
    # 200 gaps of 1 s at 1000x = 0.2 s: paced, not played at once (a lower bound only: a
    # loaded machine can only add to it; how fast is for bench/, not a test)
    assert elapsed > 0.15


async def test_pause_and_step_release_exactly_n_ticks() -> None:
    feed = feed_of(ticks(100), speed=None, paused=True)
    out: list[Tick] = []
    task = asyncio.create_task(collect(feed, out))
    await asyncio.sleep(0.05)
    assert out == [] and feed.paused and feed.status.detail == "paused"
    await asyncio.wait_for(feed.step(3), WAIT)
    assert len(out) == 3
    await asyncio.sleep(0.05)
    assert len(out) == 3  # nothing leaks through while paused
    await asyncio.wait_for(feed.step(), WAIT)
    assert [t.ts_ms for t in out] == [T0 + 1000 * i for i in range(4)]
    await asyncio.wait_for(feed.step(10), WAIT)
    assert len(out) == 14
    feed.resume()
    await asyncio.wait_for(task, WAIT)
    assert len(out) == 100


async def test_step_returns_after_the_consumer_handled_the_ticks() -> None:
    feed = feed_of(ticks(10), speed=None, paused=True)
    handled: list[int] = []

    async def slow_consumer() -> None:
        async for tick in feed.ticks(SYM):
            await asyncio.sleep(0.01)  # e.g. sending an order
            handled.append(tick.ts_ms)

    task = asyncio.create_task(slow_consumer())
    await asyncio.wait_for(feed.step(2), WAIT)
    assert len(handled) == 2
    await feed.close()
    await asyncio.wait_for(task, WAIT)


async def test_step_before_the_consumer_starts_waits_for_it() -> None:
    feed = feed_of(ticks(10), speed=None, paused=True)
    out: list[Tick] = []
    stepping = asyncio.create_task(feed.step(2))
    await asyncio.sleep(0.01)
    assert not stepping.done()
    task = asyncio.create_task(collect(feed, out))
    await asyncio.wait_for(stepping, WAIT)
    assert len(out) == 2
    await feed.close()
    await asyncio.wait_for(task, WAIT)


async def test_step_past_the_end_returns_and_reports_finished() -> None:
    feed = feed_of(ticks(3), speed=None, paused=True)
    out: list[Tick] = []
    task = asyncio.create_task(collect(feed, out))
    await asyncio.wait_for(feed.step(5), WAIT)
    await asyncio.wait_for(task, WAIT)
    assert len(out) == 3
    assert feed.status.detail == "replay finished"
    await asyncio.wait_for(feed.step(1), WAIT)  # a finished stream: nothing to wait for


async def test_step_needs_a_paused_feed_and_a_positive_count() -> None:
    feed = feed_of(ticks(3))
    with pytest.raises(RuntimeError, match="paused"):
        await feed.step()
    feed.pause()
    with pytest.raises(ValueError):
        await feed.step(0)


async def test_pause_from_the_consumer_holds_then_resume_plays_on() -> None:
    feed = feed_of(ticks(50), speed=None)
    out: list[Tick] = []

    async def consumer() -> None:
        async for tick in feed.ticks(SYM):
            out.append(tick)
            if len(out) == 10:
                feed.pause()

    task = asyncio.create_task(consumer())
    await until(lambda: len(out) >= 10)
    await asyncio.sleep(0.05)
    assert len(out) == 10 and feed.status.state is FeedState.CONNECTED
    feed.resume()
    await asyncio.wait_for(task, WAIT)
    assert len(out) == 50


async def test_set_speed_wakes_a_slow_stream() -> None:
    feed = feed_of(ticks(20), speed=0.001)  # one tick per 1000 s: stuck after the first
    out: list[Tick] = []
    task = asyncio.create_task(collect(feed, out))
    await until(lambda: len(out) >= 1)
    await asyncio.sleep(0.05)
    assert len(out) == 1
    feed.set_speed(None)
    await asyncio.wait_for(task, WAIT)
    assert len(out) == 20


async def test_pause_holds_a_paced_stream_and_resume_plays_on() -> None:
    feed = feed_of(ticks(4, interval_ms=200), speed=1.0)  # 0.2 s between ticks
    out: list[Tick] = []

    async def consumer() -> None:
        async for tick in feed.ticks(SYM):
            out.append(tick)
            if len(out) == 1:
                feed.pause()  # at once: a starved test task could not pause before tick 2

    task = asyncio.create_task(consumer())
    await until(lambda: len(out) >= 1)
    await asyncio.sleep(0.3)  # longer than a gap: only the pause can hold tick 2 back
    assert len(out) == 1
    feed.resume()
    await asyncio.wait_for(task, WAIT)
    assert len(out) == 4


def test_status_details() -> None:
    feed = ReplayFeed({SYM: ticks(1)}, speed=10, simulated=False, label="replay")
    assert feed.status.detail == "replay 10x"
    assert not feed.status.simulated
    feed.set_speed(None)
    assert feed.status.detail == "replay max"
    feed.set_speed(2.5)
    assert feed.status.detail == "replay 2.5x"
    feed.pause()
    assert feed.status.detail == "paused"
    sim = ReplayFeed({SYM: ticks(1)}, simulated=True, label="simulated")
    assert sim.status.detail == "simulated 1x" and sim.status.simulated


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_speeds_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        feed_of(ticks(1), speed=bad)
    with pytest.raises(ValueError, match="speed"):
        feed_of(ticks(1)).set_speed(bad)


async def test_close_ends_a_waiting_consumer_cleanly() -> None:
    feed = feed_of(ticks(10), speed=None, paused=True)
    out: list[Tick] = []
    task = asyncio.create_task(collect(feed, out))
    await asyncio.sleep(0.01)
    await feed.close()
    await asyncio.wait_for(task, WAIT)  # no exception: iteration simply ended
    assert out == []
    assert feed.status.state is FeedState.DOWN and "closed" in feed.status.detail


async def test_one_consumer_per_symbol() -> None:
    feed = feed_of(ticks(10), speed=None, paused=True)
    task = asyncio.create_task(collect(feed, []))
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match="consumer"):
        await anext(aiter(feed.ticks(SYM)))
    await feed.close()
    await asyncio.wait_for(task, WAIT)


async def test_a_source_error_reaches_the_consumer_and_the_status() -> None:
    def broken() -> Iterator[Tick]:
        yield Tick(SYM, T0, 1.0)
        raise OSError("disk gone")

    feed = feed_of(broken(), speed=None)
    with pytest.raises(OSError, match="disk gone"):
        await collect(feed, [])
    assert feed.status.state is FeedState.DOWN and "disk gone" in feed.status.detail


# ------------------------------------------------------------------------- candles


def hand_ticks() -> list[Tick]:
    """Minute 0: 10, 12, 9, 11. Minute 1: 11.5, 13. Minute 3 (minute 2 empty): 8, 8.5."""
    m = 60_000
    spec = [
        (0, 10.0),
        (15_000, 12.0),
        (30_000, 9.0),
        (59_999, 11.0),
        (m, 11.5),
        (m + 30_000, 13.0),
        (3 * m + 1, 8.0),
        (3 * m + 50_000, 8.5),
    ]
    return [Tick(SYM, T0 + dt, price) for dt, price in spec]


async def play_all(feed: ReplayFeed) -> None:
    await asyncio.wait_for(collect(feed, []), WAIT)


async def test_candles_aggregate_ticks_per_minute() -> None:
    feed = feed_of(iter(hand_ticks()), speed=None)
    assert await feed.candles(SYM, "1m") == []
    await play_all(feed)
    bars = await feed.candles(SYM, "1m")
    m = 60_000
    assert bars == [
        Candle(SYM, "1m", T0, 10.0, 12.0, 9.0, 11.0, 0.0),
        Candle(SYM, "1m", T0 + m, 11.5, 13.0, 11.5, 13.0, 0.0),
        Candle(SYM, "1m", T0 + 3 * m, 8.0, 8.5, 8.0, 8.5, 0.0),
    ]
    assert await feed.candles(SYM, "1m", limit=1) == bars[-1:]
    assert await feed.candles(SYM, "1m", since_ms=T0 + 1) == bars[1:]
    assert await feed.candles(SYM, "1m", since_ms=T0, limit=2) == bars[:2]
    assert await feed.candles(SYM, "1m", limit=0) == []


async def test_candles_5m_buckets_on_the_epoch_grid() -> None:
    late = [Tick(SYM, T0 + 5 * 60_000 + 10, 20.0), Tick(SYM, T0 + 9 * 60_000, 19.0)]
    feed = feed_of(iter(hand_ticks() + late), speed=None)
    await play_all(feed)
    assert await feed.candles(SYM, "5m") == [
        Candle(SYM, "5m", T0, 10.0, 13.0, 8.0, 8.5, 0.0),
        Candle(SYM, "5m", T0 + 300_000, 20.0, 20.0, 19.0, 19.0, 0.0),
    ]
    assert await feed.candles(SYM, "5m", since_ms=T0 + 1) == [
        Candle(SYM, "5m", T0 + 300_000, 20.0, 20.0, 19.0, 19.0, 0.0),
    ]


async def test_candles_include_the_forming_bar_while_playing() -> None:
    feed = feed_of(iter(hand_ticks()), speed=None, paused=True)
    task = asyncio.create_task(collect(feed, []))
    await asyncio.wait_for(feed.step(2), WAIT)
    assert await feed.candles(SYM, "1m") == [Candle(SYM, "1m", T0, 10.0, 12.0, 10.0, 12.0, 0.0)]
    await feed.close()
    await asyncio.wait_for(task, WAIT)


async def test_candle_timeframe_errors() -> None:
    feed = feed_of(iter(hand_ticks()), speed=None)
    with pytest.raises(ValueError, match="timeframe"):
        await feed.candles(SYM, "1M")
    with pytest.raises(ValueError, match="whole minutes"):
        await feed.candles(SYM, "30s")


async def test_history_is_served_with_ticks_after_it() -> None:
    m = 60_000
    history = [Candle(SYM, "1m", T0 - 2 * m + i * m, 5.0, 6.0, 4.0, 5.5, 7.0) for i in range(2)]
    feed = ReplayFeed(
        {SYM: iter(hand_ticks()[:4])},
        speed=None,
        simulated=True,
        label="simulated",
        candle_history={SYM: history},
    )
    assert await feed.candles(SYM, "1m") == history
    await play_all(feed)
    bars = await feed.candles(SYM, "1m")
    assert bars[:2] == history
    assert bars[2] == Candle(SYM, "1m", T0, 10.0, 12.0, 9.0, 11.0, 0.0)


async def test_history_for_unknown_symbol_is_refused() -> None:
    with pytest.raises(ValueError, match="without ticks"):
        ReplayFeed({SYM: ticks(1)}, simulated=False, label="x", candle_history={"BTC": []})
