"""The seeded simulated market: reproducible, positive, and actually regime-switching."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from itertools import islice

import numpy as np
import pytest

from adapters.base import MarketFeed
from adapters.candle_ticks import aggregate_ticks
from adapters.market_sim import scale_tick
from adapters.replay import REGIMES, MarketSimulator, simulated_market, simulated_ticks
from cockpit.domain import Candle, FeedState, Tick
from tests.waiting import CEILING_S

START_MS = 1_700_000_100_000  # on a 5-minute boundary


def take(n: int, seed: int, start_ms: int = START_MS) -> list[Tick]:
    return list(
        islice(simulated_ticks("SOL-PERP", start_price=150.0, seed=seed, start_ms=start_ms), n)
    )


def test_same_seed_same_path_and_different_seed_different_path() -> None:
    assert take(2000, seed=7) == take(2000, seed=7)
    a, b = take(2000, seed=7), take(2000, seed=8)
    assert [t.price for t in a] != [t.price for t in b]


def test_first_tick_timestamps_and_shape() -> None:
    ticks = take(100, seed=1)
    assert ticks[0].price == 150.0
    assert ticks[0].ts_ms == START_MS
    assert [t.ts_ms - START_MS for t in ticks] == [1000 * i for i in range(100)]
    for t in ticks:
        assert t.source == "simulated"
        assert t.symbol == "SOL-PERP"
        assert t.bid is not None and t.ask is not None
        assert t.bid < t.price < t.ask
        assert (t.ask - t.bid) / t.price < 10e-4  # a small spread, a few bp at most


def test_prices_stay_positive_over_100k_ticks() -> None:
    prices = np.array([t.price for t in take(100_000, seed=3)])
    assert np.all(np.isfinite(prices))
    assert prices.min() > 0
    # a SOL-like market over ~28 hours: moves, but not absurdly
    assert prices.min() > 0.5 * 150.0
    assert prices.max() < 2.0 * 150.0
    assert np.ptp(prices) > 0.5


def test_regimes_switch_and_change_realised_vol() -> None:
    sim = MarketSimulator(150.0, seed=11)
    n = 3 * 86_400
    log_prices = np.empty(n + 1)
    regime = np.empty(n, dtype=np.int64)
    names = [r.name for r in REGIMES]
    log_prices[0] = math.log(sim.price)
    for i in range(n):
        regime[i] = names.index(sim.regime.name)  # the regime the next step runs in
        log_prices[i + 1] = math.log(sim.step())
    returns = np.diff(log_prices)
    assert set(np.unique(regime)) == {0, 1, 2}, "all three regimes should occur within 3 days"
    switches = int(np.count_nonzero(np.diff(regime)))
    assert switches >= 10
    # median absolute return is robust to the jumps: it measures the diffusion of each regime
    per_regime = [np.median(np.abs(returns[regime == k])) for k in range(3)]
    calm, normal, volatile = per_regime
    assert calm < normal < volatile
    assert volatile / calm > 2.0
    # and overall it looks like SOL: 50-150 % annualised on 1-minute returns
    minute = np.diff(log_prices[::60])
    annual = minute.std(ddof=1) * math.sqrt(365 * 1440)
    assert 0.5 < annual < 1.5


def test_bad_arguments_are_refused_immediately() -> None:
    with pytest.raises(ValueError, match="start_price"):
        simulated_ticks("X", start_price=0.0, seed=1, start_ms=0)
    with pytest.raises(ValueError, match="interval_ms"):
        simulated_ticks("X", start_price=1.0, seed=1, start_ms=0, interval_ms=0)


async def test_simulated_market_has_warmup_candles_at_start() -> None:
    feed = simulated_market(start_ms=START_MS, seed=7, warmup_minutes=240, speed=None)
    assert isinstance(feed, MarketFeed)
    bars = await feed.candles("SOL-PERP", "1m", limit=1000)
    assert len(bars) == 240
    assert bars[0].ts_ms == START_MS - 240 * 60_000
    assert bars[-1].ts_ms == START_MS - 60_000
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    assert [b.ts_ms for b in bars] == list(range(bars[0].ts_ms, START_MS, 60_000))
    five = await feed.candles("SOL-PERP", "5m", limit=1000)
    assert len(five) == 48
    assert five[0].open == bars[0].open and five[-1].close == bars[-1].close
    status = feed.status
    assert status.simulated and status.state is FeedState.CONNECTED
    await feed.close()


async def test_first_live_tick_continues_the_warmup_process() -> None:
    feed = simulated_market(start_ms=START_MS, seed=5, warmup_minutes=30, speed=None)
    warm = await feed.candles("SOL-PERP", "1m", limit=100)
    got: list[Tick] = []
    async for tick in feed.ticks("SOL-PERP"):
        got.append(tick)
        if len(got) == 90:
            break
    # the same seeded process, started 30 minutes earlier, continues without a seam, scaled so
    # that the first live tick is exactly the requested start price (150 by default)
    reference = take(30 * 60 + 90, seed=5, start_ms=START_MS - 30 * 60_000)
    factor = 150.0 / reference[30 * 60].price
    assert got[0].price == pytest.approx(150.0, rel=1e-12)
    assert [t.price for t in got] == pytest.approx(
        [t.price * factor for t in reference[30 * 60 :]], rel=1e-12
    )
    assert [t.ts_ms for t in got] == [t.ts_ms for t in reference[30 * 60 :]]
    assert got[0].ts_ms == START_MS
    assert warm[-1].close == pytest.approx(reference[30 * 60 - 1].price * factor, rel=1e-12)
    bars = await feed.candles("SOL-PERP", "1m", limit=100)
    assert len(bars) == 32  # 30 warm-up minutes + 60 s + 30 s of live ticks
    assert bars[-2].ts_ms == START_MS and bars[-2].open == got[0].price
    assert bars[-1].close == got[-1].price
    await feed.close()


def test_simulated_market_start_must_be_on_a_minute() -> None:
    with pytest.raises(ValueError, match="minute"):
        simulated_market(start_ms=START_MS + 1)


async def test_simulated_market_status_labels_the_demo() -> None:
    feed = simulated_market(start_ms=START_MS, warmup_minutes=1)
    assert feed.status.detail == "simulated 1x"
    feed.set_speed(10)
    assert feed.status.detail == "simulated 10x"
    await feed.close()
    assert feed.status.state is FeedState.DOWN


async def test_default_start_is_now_on_a_minute() -> None:
    feed = simulated_market(warmup_minutes=2, speed=None)
    tick = await asyncio.wait_for(anext(aiter(feed.ticks("SOL-PERP"))), CEILING_S)
    assert tick.ts_ms % 60_000 == 0
    await feed.close()


def test_the_warm_up_bars_are_the_bars_of_the_warm_up_ticks() -> None:
    """The demo's markets build their warm-up history from prices alone (speed: the trader
    waits for them); the bars are exactly those of the scaled ticks, and the live ticks go on
    where the warm-up ticks stop."""
    start_ms, warmup_ticks = START_MS - START_MS % 60_000, 600
    feed = simulated_market(
        "SOL-PERP", 150.0, seed=5, start_ms=start_ms, speed=None, warmup_minutes=10
    )
    ticks = take(warmup_ticks + 50, seed=5, start_ms=start_ms - warmup_ticks * 1000)
    factor = 150.0 / ticks[warmup_ticks].price
    expected = aggregate_ticks([scale_tick(t, factor) for t in ticks[:warmup_ticks]], "1m")

    async def played() -> tuple[list[Candle], list[Tick]]:
        bars = await feed.candles("SOL-PERP", "1m", limit=100)
        live = [t async for t in islice_async(feed.ticks("SOL-PERP"), 50)]
        return bars, live

    bars, live = asyncio.run(played())
    assert bars[: len(expected)] == expected and len(expected) == 10
    assert live == [scale_tick(t, factor) for t in ticks[warmup_ticks:]]


async def islice_async(ticks: AsyncIterator[Tick], n: int) -> AsyncIterator[Tick]:
    count = 0
    async for tick in ticks:
        yield tick
        count += 1
        if count == n:
            return
