"""A broker refusing an exit: the order row says failed, the log says so, the target retries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import Settings
from cockpit.domain import Side, Tick
from cockpit.session import Session

SYMBOL = "SOL-PERP"
T0 = 1_750_000_000_000


def price_time(session: Session) -> int:
    return max((t.ts_ms for t in session.latest.last_tick.values()), default=T0)


def path(prices: list[float]) -> Iterator[Tick]:
    for i, p in enumerate(prices):
        yield Tick(SYMBOL, T0 + 1000 * i, p, bid=p - 0.005, ask=p + 0.005)


async def test_refused_take_profit_is_recorded_and_retried(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}")
    feed = ReplayFeed(
        {SYMBOL: path([100.0, 101.6, 101.7, 101.8])},
        speed=None,
        simulated=True,
        label="t",
        paused=True,
    )
    broker = PaperBroker(settings.paper)
    # Price time is the clock: the retry's backoff (1 s) has passed one tick later.
    session = Session(settings, feed, broker, [SYMBOL], clock=lambda: price_time(session))
    await session.start()
    try:
        await feed.step(1)
        pos = await session.open_position(SYMBOL, Side.LONG, 30, 2)
        broker.adopt_position(SYMBOL, 0.0)  # the venue no longer knows the position
        await feed.step(1)  # +1.6 %: TP1 is decided, the reduce-only order is refused
        assert not pos.tp1_filled, "a refused take-profit is armed again"
        assert pos.size == pos.initial_size
        assert any("exit (tp1) failed" in e.text for e in session.latest.events)

        broker.adopt_position(SYMBOL, pos.size)  # the venue is back in step
        await feed.step(1)
        assert pos.tp1_filled
        assert pos.size < pos.initial_size
    finally:
        await session.stop()
    with sqlite3.connect(db) as conn:
        statuses = [
            (reason, status)
            for reason, status in conn.execute("SELECT reason, status FROM orders ORDER BY id")
        ]
    assert statuses == [
        ("entry", "filled"),
        ("tp1", "rejected"),
        ("tp1", "filled"),
    ]
