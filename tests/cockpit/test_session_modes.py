"""SHADOW and LIVE-SMALL through the real session: risk gate, routing, audit, restart in SHADOW.

A second paper broker stands in as the "live" venue (Drift itself: test_session_drift*.py); the
store is a real SQLite file and the feed a real (non-simulated) replay, stepped by the test.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import Settings
from cockpit.domain import Mode, Side, Tick
from cockpit.risk import ModeRefused
from cockpit.session import OrderRejected, Session

SYMBOL = "SOL-PERP"
T0 = 1_750_000_000_000
WALLET = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def flat(price: float = 100.0, n: int = 500) -> Iterator[Tick]:
    for i in range(n):
        yield Tick(SYMBOL, T0 + 1000 * i, price, bid=price - 0.01, ask=price + 0.01)


def make_session(
    db: Path, clock: Clock, *, live: bool = True, simulated: bool = False
) -> tuple[Session, ReplayFeed]:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}")
    feed = ReplayFeed({SYMBOL: flat()}, speed=None, simulated=simulated, label="test", paused=True)
    live_broker = PaperBroker(settings.paper, venue="live-test") if live else None
    session = Session(
        settings,
        feed,
        PaperBroker(settings.paper),
        [SYMBOL],
        live_broker=live_broker,
        wallet=WALLET if live else None,
        clock=clock,
    )
    return session, feed


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def live_ready(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Session, ReplayFeed]]:
    session, feed = make_session(tmp_path / "m.db", clock)
    await session.start()
    await feed.step(1)
    yield session, feed
    await session.stop()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


async def test_demo_feed_can_never_go_live(tmp_path: Path, clock: Clock) -> None:
    session, feed = make_session(tmp_path / "d.db", clock, simulated=True)
    await session.start()
    try:
        await feed.step(1)
        assert "simulated" in (session.live_precondition() or "")
        with pytest.raises(ModeRefused):
            await session.enter_live("LIVE")
        assert session.latest.mode is Mode.SHADOW
    finally:
        await session.stop()
    assert rows(tmp_path / "d.db", "SELECT kind, action FROM audit_events") == [
        ("refusal", "enter LIVE-SMALL")
    ]


async def test_without_a_live_broker_the_reason_says_so(tmp_path: Path, clock: Clock) -> None:
    session, _ = make_session(tmp_path / "n.db", clock, live=False)
    await session.start()
    try:
        reason = session.live_precondition() or ""
        assert reason.startswith("no live venue") and "cockpit --venue drift" in reason
    finally:
        await session.stop()


async def test_typed_word_must_be_exactly_live(live_ready: tuple[Session, ReplayFeed]) -> None:
    session, _ = live_ready
    assert session.live_precondition() is None
    for typed in ("live", "LIVE ", "Live", ""):
        with pytest.raises(ModeRefused):
            await session.enter_live(typed)
        assert session.latest.mode is Mode.SHADOW
    await session.enter_live("LIVE")
    assert session.latest.mode is Mode.LIVE_SMALL


async def test_live_limits_refuse_before_the_broker_and_exits_pass(
    live_ready: tuple[Session, ReplayFeed], tmp_path: Path, clock: Clock
) -> None:
    session, _ = live_ready
    await session.enter_live("LIVE")
    db = tmp_path / "m.db"

    with pytest.raises(OrderRejected, match="50"):
        await session.open_position(SYMBOL, Side.LONG, 50.01, 2)
    with pytest.raises(OrderRejected, match="leverage"):
        await session.open_position(SYMBOL, Side.LONG, 20, 2.01)
    assert rows(db, "SELECT count(*) FROM orders") == [(0,)], "refused orders never reach a row"

    pos = await session.open_position(SYMBOL, Side.LONG, 49.99, 2)  # entry at T0
    assert pos.venue == "live-test" and pos.mode is Mode.LIVE_SMALL
    assert pos.trade_id is not None
    clock.now = T0 + 1_000
    await session.close_position(pos.trade_id)  # an exit is never blocked, even in cooldown
    assert pos.closed

    clock.now = T0 + 59_000
    with pytest.raises(OrderRejected, match="cooldown"):
        await session.open_position(SYMBOL, Side.SHORT, 10, 1)
    clock.now = T0 + 61_000
    await session.open_position(SYMBOL, Side.SHORT, 10, 1)
    clock.now = T0 + 200_000
    # One position per (venue, symbol): refused before the risk gate's open-positions limit.
    with pytest.raises(OrderRejected, match="already short SOL-PERP #2"):
        await session.open_position(SYMBOL, Side.SHORT, 10, 1)

    statuses = rows(db, "SELECT venue, reduce_only, status FROM orders ORDER BY id")
    assert statuses == [
        ("live-test", 0, "filled"),
        ("live-test", 1, "filled"),
        ("live-test", 0, "filled"),
    ]
    kinds = [k for (k,) in rows(db, "SELECT kind FROM audit_events ORDER BY id")]
    assert kinds.count("refusal") == 4
    assert "mode_change" in kinds and "confirmation" in kinds


async def test_shadow_orders_are_would_submit_and_limits_only_warn(
    live_ready: tuple[Session, ReplayFeed], tmp_path: Path
) -> None:
    session, _ = live_ready
    await session.open_position(SYMBOL, Side.LONG, 80, 3)  # over two LIVE-SMALL limits
    events = [e.text for e in session.latest.events]
    assert any("would be refused in LIVE-SMALL" in t for t in events)
    assert rows(tmp_path / "m.db", "SELECT mode, venue, status FROM orders") == [
        ("shadow", "paper", "filled")
    ]


async def test_leaving_live_is_one_call_and_audited(
    live_ready: tuple[Session, ReplayFeed], tmp_path: Path
) -> None:
    session, _ = live_ready
    await session.enter_live("LIVE")
    await session.leave_live()
    assert session.latest.mode is Mode.SHADOW
    changes = rows(
        tmp_path / "m.db", "SELECT from_mode, to_mode, who FROM mode_changes ORDER BY id"
    )
    assert changes == [("shadow", "live_small", "user"), ("live_small", "shadow", "user")]
    limits = rows(tmp_path / "m.db", "SELECT limits_json FROM mode_changes ORDER BY id")[0][0]
    assert isinstance(limits, str) and "max_notional_usdt" in limits


async def test_restart_after_live_comes_back_in_shadow_with_live_positions(
    tmp_path: Path, clock: Clock
) -> None:
    db = tmp_path / "r.db"
    session, feed = make_session(db, clock)
    await session.start()
    await feed.step(1)
    await session.enter_live("LIVE")
    live_pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await session.stop()  # closed while in LIVE-SMALL

    again, _ = make_session(db, clock)
    await again.start()
    try:
        assert again.latest.mode is Mode.SHADOW
        (restored,) = again.latest.positions
        assert (restored.trade_id, restored.venue) == (live_pos.trade_id, "live-test")
        assert any("starts in SHADOW" in e.text for e in again.latest.events)
    finally:
        await again.stop()
    assert rows(db, "SELECT from_mode, to_mode, who FROM mode_changes ORDER BY id")[-1] == (
        "live_small",
        "shadow",
        "system",
    )

    # Without the live venue connected, the position is still listed, but never acted on.
    offline, _ = make_session(db, clock, live=False)
    await offline.start()
    try:
        assert [p.trade_id for p in offline.latest.positions] == [live_pos.trade_id]
        assert any("no broker for venue live-test" in e.text for e in offline.latest.events)
    finally:
        await offline.stop()


async def trade_live_once(db: Path, clock: Clock) -> None:
    """One LIVE-SMALL trade opened and closed at T0, then the session stopped."""
    session, feed = make_session(db, clock)
    await session.start()
    await feed.step(1)
    await session.enter_live("LIVE")
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    assert pos.trade_id is not None
    await session.close_position(pos.trade_id)
    await session.stop()


async def assert_cooldown_after_restart(db: Path, clock: Clock) -> None:
    """30 s later (cooldown 60 s), a restarted session still refuses a live entry."""
    clock.now = T0 + 30_000
    again, feed = make_session(db, clock)
    await again.start()
    try:
        await feed.step(1)
        await again.enter_live("LIVE")
        with pytest.raises(OrderRejected, match="cooldown"):
            await again.open_position(SYMBOL, Side.LONG, 40, 2)
    finally:
        await again.stop()


async def test_restart_keeps_the_live_cooldown(tmp_path: Path, clock: Clock) -> None:
    """Quitting and starting again must not be a way around the LIVE-SMALL cooldown."""
    db = tmp_path / "c.db"
    await trade_live_once(db, clock)
    await assert_cooldown_after_restart(db, clock)


async def test_the_cooldown_survives_a_thousand_newer_shadow_trades(
    tmp_path: Path, clock: Clock
) -> None:
    """Shadow and imported trades outnumbering live ones must not hide them from the restart."""
    db = tmp_path / "many.db"
    await trade_live_once(db, clock)
    # 1,100 closed shadow trades, all exiting after the live one (copies of its row).
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(trades)") if r[1] != "id"]
        names = ", ".join(columns)
        values = ", ".join(
            "'shadow'" if c == "mode" else "exit_ts_ms + 1" if c == "exit_ts_ms" else c
            for c in columns
        )
        for _ in range(1100):
            conn.execute(f"INSERT INTO trades ({names}) SELECT {values} FROM trades WHERE id = 1")
    await assert_cooldown_after_restart(db, clock)
