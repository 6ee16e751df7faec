"""A feed's ticks before its session runs (cockpit/execution/early_ticks.py): shown at once,
then handed to the session in order, none lost and none twice, whether the session takes over
mid-stream, after the kept ticks reached their cap, after the feed ended or after it failed; a
start that fails stops asking and closes the feed. On a real `ReplayFeed`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from adapters.replay import ReplayFeed
from cockpit.domain import FeedState, Tick
from cockpit.execution import early_ticks
from cockpit.execution.early_ticks import EarlyTicks
from cockpit.execution.events import LatestState
from tests.waiting import until

SYMBOL = "SOL-PERP"


def ticks(n: int) -> list[Tick]:
    return [Tick(SYMBOL, 60_000 + 1000 * i, 100.0 + i / 100) for i in range(n)]


def feed_of(source: list[Tick] | Iterator[Tick]) -> ReplayFeed:
    return ReplayFeed({SYMBOL: source}, speed=None, simulated=True, label="test")


async def taken(early: EarlyTicks) -> list[Tick]:
    return [tick async for tick in early.ticks(SYMBOL)]


async def test_ticks_shown_before_the_session_are_handed_over_first_then_the_rest() -> None:
    played = ticks(50)
    latest = LatestState()
    early = EarlyTicks(feed_of(played), [SYMBOL], latest)
    early.start()
    await until(lambda: SYMBOL in latest.last_tick, what="a first price shown")
    shown = list(latest.price_history[SYMBOL])
    assert shown[0] == (played[0].ts_ms, played[0].price)
    assert await taken(early) == played  # the shown ones first, in order; none lost, none twice


async def test_a_session_taking_over_while_the_next_tick_is_awaited_gets_it() -> None:
    """Mid-stream: the early reader is waiting for the next tick when the session takes over;
    that tick is the session's, after the kept ones."""
    played = ticks(30)
    feed = ReplayFeed({SYMBOL: played}, speed=None, simulated=True, label="t", paused=True)
    latest = LatestState()
    early = EarlyTicks(feed, [SYMBOL], latest)
    early.start()
    await feed.step(3)  # three ticks shown and kept; the fourth is being waited for
    assert latest.last_tick[SYMBOL] == played[2]
    session = asyncio.create_task(taken(early))
    await until(lambda: True)
    feed.resume()
    assert await session == played


async def test_at_the_cap_the_feed_waits_for_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(early_ticks, "KEEP", 20)
    played = ticks(100)
    latest = LatestState()
    early = EarlyTicks(feed_of(played), [SYMBOL], latest)
    early.start()
    await until(lambda: len(latest.price_history.get(SYMBOL, ())) == 20, what="the cap")
    for _ in range(20):  # turns of the loop in which a feed that did not wait would go on
        await until(lambda: True)
    assert latest.last_tick[SYMBOL] == played[19]
    assert await taken(early) == played


async def test_a_feed_that_ended_before_the_session_hands_over_all_then_ends() -> None:
    played = ticks(5)
    feed = feed_of(played)
    latest = LatestState()
    early = EarlyTicks(feed, [SYMBOL], latest)
    early.start()
    await until(lambda: feed.status.state is FeedState.DOWN, what="the feed's end")
    assert await taken(early) == played


def failing() -> Iterator[Tick]:
    yield from ticks(2)
    raise OSError("the file went away")


async def test_a_feed_that_failed_before_the_session_hands_over_its_ticks_then_the_error() -> None:
    latest = LatestState()
    early = EarlyTicks(feed_of(failing()), [SYMBOL], latest)
    early.start()
    await until(lambda: len(latest.price_history.get(SYMBOL, ())) == 2, what="two prices")
    got: list[Tick] = []
    with pytest.raises(OSError, match="the file went away"):
        async for tick in early.ticks(SYMBOL):
            got.append(tick)
    assert got == ticks(2)


async def test_a_start_that_failed_stops_asking_and_closes_the_feed() -> None:
    feed = ReplayFeed({SYMBOL: ticks(10)}, speed=None, simulated=True, label="t", paused=True)
    early = EarlyTicks(feed, [SYMBOL], LatestState())
    early.start()
    await until(lambda: True)
    await early.stop()
    assert feed.status.state is FeedState.DOWN
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("early-feed")]
