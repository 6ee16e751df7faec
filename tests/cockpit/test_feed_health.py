"""Stale prices never drive automatic exits and say so once per episode; the feed monitor puts
every change of the feed's state into the event log."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import Settings
from cockpit.domain import FeedState, FeedStatus, Side, Tick
from cockpit.feed_health import FeedMonitor, StaleGuard
from cockpit.session import OrderRejected, Session

SYM = "SOL/USDT:USDT"
NOW = 1_750_000_000_000


@dataclass
class StatusFeed:
    """Only what the guard and the monitor read: a status and, for a live feed, stale_after_s."""

    state: FeedState = FeedState.CONNECTED
    detail: str = ""
    stale_after_s: float = 5.0

    @property
    def status(self) -> FeedStatus:
        return FeedStatus(self.state, self.detail, 1.0)


@dataclass
class ReplayLike:
    status: FeedStatus = field(default_factory=lambda: FeedStatus(FeedState.CONNECTED))


def tick(age_s: float) -> Tick:
    return Tick(SYM, NOW - int(age_s * 1000), 100.0)


def test_stale_prices_are_refused_and_logged_once_per_episode() -> None:
    events: list[tuple[str, str]] = []
    feed = StatusFeed()
    guard = StaleGuard(feed, lambda: NOW, lambda level, text: events.append((level, text)))  # type: ignore[arg-type]
    assert guard.active
    assert guard.fresh(tick(0.5))
    assert not guard.fresh(tick(6.0))
    assert not guard.fresh(tick(7.0))
    assert [e[0] for e in events] == ["warning"]
    assert "no automatic stop or take-profit" in events[0][1]
    feed.state = FeedState.STALE  # the feed itself says stale: even a recent stamp waits
    assert not guard.fresh(tick(0.1))
    feed.state = FeedState.CONNECTED
    assert guard.fresh(tick(0.1))
    assert events[-1] == ("info", f"{SYM}: fresh prices again; automatic exits resume")
    assert len(events) == 2


def test_a_replay_is_never_judged_by_the_wall_clock() -> None:
    guard = StaleGuard(ReplayLike(), lambda: NOW, lambda level, text: None)  # type: ignore[arg-type]
    assert not guard.active
    assert guard.fresh(tick(3600.0))


def test_monitor_logs_each_state_change() -> None:
    events: list[tuple[str, str]] = []
    feed = StatusFeed(FeedState.RECONNECTING, "connecting to binanceusdm")
    monitor = FeedMonitor(feed, lambda level, text: events.append((level, text)))  # type: ignore[arg-type]
    monitor.check()
    feed.state, feed.detail = FeedState.CONNECTED, "binanceusdm mark price"
    monitor.check()
    monitor.check()  # no change, no line
    feed.state, feed.detail = FeedState.STALE, "no price for 6s"
    monitor.check()
    feed.state, feed.detail = FeedState.RECONNECTING, "NetworkError: closed"
    monitor.check()
    feed.state, feed.detail = FeedState.DOWN, "NetworkError: refused (attempt 3)"
    monitor.check()
    feed.state, feed.detail = FeedState.CONNECTED, "binanceusdm mark price"
    monitor.check()
    assert events == [
        ("info", "feed: connecting to binanceusdm"),
        ("info", "feed connected: binanceusdm mark price"),
        ("warning", "feed stale 1s: no automatic exits on stale prices"),
        ("warning", "feed reconnecting: NetworkError: closed"),
        ("error", "feed down: NetworkError: refused (attempt 3) (still retrying)"),
        ("info", "feed connected again: binanceusdm mark price; automatic exits resume"),
    ]


class LiveReplay(ReplayFeed):
    """A real replay feed that declares itself live (stale after 5 s), like the ccxt feed."""

    @property
    def stale_after_s(self) -> float:
        return 5.0


async def test_no_entry_on_a_stale_price(tmp_path: Path) -> None:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    # a third tick never released: the feed is not finished (a finished feed takes no entry)
    ticks = iter(
        [Tick(SYM, NOW - 60_000, 100.0), Tick(SYM, NOW - 1_000, 100.0), Tick(SYM, NOW, 100.0)]
    )
    feed = LiveReplay({SYM: ticks}, speed=None, simulated=False, label="t", paused=True)
    session = Session(settings, feed, PaperBroker(settings.paper), [SYM], clock=lambda: NOW)
    await session.start()
    try:
        await feed.step(1)  # a minute old
        with pytest.raises(OrderRejected, match=r"price 60\.0s old; no entry on a stale price"):
            await session.open_position(SYM, Side.LONG, 25, 2)
        await feed.step(1)  # a second old: fine
        pos = await session.open_position(SYM, Side.LONG, 25, 2)
        assert pos.trade_id == 1
    finally:
        await session.stop()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert [r[0] for r in conn.execute("SELECT reason FROM orders")] == ["entry"]
        refusal = conn.execute("SELECT reason FROM audit_events WHERE kind = 'refusal'").fetchone()
    assert "stale price" in refusal[0]


@dataclass
class TwoSymbolFeed(StatusFeed):
    """A live feed that knows each symbol's state (as CcxtFeed.symbol_status)."""

    states: dict[str, FeedState] = field(default_factory=dict)

    def symbol_status(self, symbol: str) -> FeedStatus:
        return FeedStatus(self.states.get(symbol, FeedState.CONNECTED), "", 12.0)


def test_with_several_symbols_each_ones_state_is_logged_and_guarded_on_its_own() -> None:
    events: list[tuple[str, str]] = []
    feed = TwoSymbolFeed(state=FeedState.STALE)  # the whole feed: the worst symbol's state
    sink = lambda level, text: events.append((level, text))  # noqa: E731
    monitor = FeedMonitor(feed, sink, symbols=["SOL", "BTC"])  # type: ignore[arg-type]
    monitor.check()
    feed.states["BTC"] = FeedState.STALE
    monitor.check()
    assert events[-1] == ("warning", "BTC: feed stale 12s: no automatic exits on stale prices")
    assert not any(text.startswith("SOL: feed stale") for _, text in events)

    guard = StaleGuard(feed, lambda: NOW, sink)  # type: ignore[arg-type]
    assert guard.fresh(Tick("SOL", NOW, 100.0))  # SOL is fresh though the feed reads stale
    assert not guard.fresh(Tick("BTC", NOW, 100.0))
