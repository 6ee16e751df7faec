"""SHADOW on "mainnet" data: a Session on the real ccxt.pro client against the fake Binance USD-M.

A paper position is filled at the fake's book (ask plus slippage, taker fee), managed from its
mark price stream (take-profit, then a gap through the breakeven stop filled at the bid, not
at the stop), charged funding at the funding time, never acted on with a stale price, and the
candles of the whole episode are in SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.base import FundingInfo
from adapters.ccxt_feed import CcxtFeed
from adapters.paper import PaperBroker
from cockpit.config import Settings
from cockpit.domain import FeedState, Side, Tick
from cockpit.session import Session
from tests.adapters.live_feed_harness import (
    BOOK,
    KLINE,
    MARK,
    SYMBOL,
    book_in_feed,
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
    async with running(FakeBinanceUSDM(clock=clock, history_minutes=60)) as server:
        yield server


def shadow_session(
    tmp_path: Path, fake: FakeBinanceUSDM, clock: FakeClock
) -> tuple[Session, CcxtFeed, PaperBroker, Path]:
    db = tmp_path / "shadow.db"
    # Staleness and book age are wall time in the feed: limits far above what a loaded
    # machine takes between two steps of a test (the stale tick below is older still).
    feed_config = fast_config(
        fake.origin,
        stale_after_s=30.0,
        reconnect_after_s=60.0,
        book_max_age_s=600.0,
        backfill_minutes=30,
    )
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", feed=feed_config, state_flush_ms=50)
    feed = CcxtFeed(settings.feed)
    broker = PaperBroker(settings.paper)
    return Session(settings, feed, broker, [SYMBOL], clock=clock), feed, broker, db


class Handled:
    """The ticks the session has finished handling (engine run, orders done), in order.

    Wraps `session.on_tick`, which the feed loop looks up for every tick: a test waits for
    the tick it sent to be handled instead of sleeping and hoping on_tick is done."""

    def __init__(self, session: Session) -> None:
        self.ticks: list[Tick] = []
        inner = session.on_tick

        async def on_tick(tick: Tick) -> None:
            try:
                await inner(tick)
            finally:
                self.ticks.append(tick)

        session.on_tick = on_tick  # type: ignore[method-assign]

    async def wait(self, price: float, bid: float | None = None, what: str = "") -> Tick:
        """Until a tick at `price` (and `bid`, if given) has been handled; returns it."""

        def match() -> Tick | None:
            for tick in reversed(self.ticks):
                if tick.price == price and (bid is None or tick.bid == bid):
                    return tick
            return None

        await until(lambda: match() is not None, what=what or f"the tick at {price} handled")
        tick = match()
        assert tick is not None
        return tick


async def quote(
    fake: FakeBinanceUSDM,
    feed: CcxtFeed,
    handled: Handled,
    bid: float,
    ask: float,
    mark: float,
    **kw: object,
) -> None:
    """Book first, then the mark; return once the session has handled that mark (its orders
    done). The mark goes out only after the feed holds the new book (the book is on its own
    socket): a mark handled on the old book would fill at the old bid."""
    await fake.book(bid, ask)
    await book_in_feed(feed, bid, ask)
    handled.ticks.clear()
    await fake.mark_price(mark, **kw)  # type: ignore[arg-type]
    await handled.wait(mark, bid, what=f"the mark {mark} on the book {bid}/{ask} handled")


def funding_seen(feed: CcxtFeed) -> list[int]:
    """The next funding times the funding charger has read from the feed, in order.

    The charger polls `feed.funding()` once a second and schedules the time it returns in the
    same step (no await between): once a time is in this list, the charger has it."""
    seen: list[int] = []
    inner = feed.funding

    def funding(symbol: str) -> FundingInfo | None:
        info = inner(symbol)
        if info is not None:
            seen.append(info.next_funding_ms)
        return info

    feed.funding = funding  # type: ignore[method-assign]
    return seen


async def test_a_shadow_position_is_filled_and_managed_from_the_stream(
    tmp_path: Path, fake: FakeBinanceUSDM, clock: FakeClock
) -> None:
    session, feed, _broker, db = shadow_session(tmp_path, fake, clock)
    handled = Handled(session)
    seen = funding_seen(feed)
    await session.start()
    try:
        await fake.wait_subscribed(MARK)
        await fake.wait_subscribed(BOOK)
        funding_at = clock() + 30_000
        await quote(
            fake, feed, handled, 150.00, 150.04, 150.02, rate=0.0001, next_funding_ms=funding_at
        )
        assert feed.status.state is FeedState.CONNECTED
        # the funding job must have the schedule before the funding time passes
        await until(lambda: funding_at in seen, what="the funding job reading the schedule")

        # entry: a market buy fills at the ask plus slippage and pays the taker fee
        pos = await session.open_position(SYMBOL, Side.LONG, 30.0, 2.0)
        entry = 150.04 * (1 + 2e-4)
        assert pos.entry == pytest.approx(entry)
        assert pos.fees == pytest.approx(pos.initial_size * entry * 5e-4)
        assert pos.initial_size == pytest.approx(30.0 / 150.02)
        fee_at_entry = pos.fees

        # a stale price (60 s old) through the stop: the engine must not act on it
        handled.ticks.clear()
        await fake.mark_price(140.0, ts=clock() - 60_000)
        await handled.wait(140.0, what="the stale tick handled")
        assert not pos.closed and pos.size == pos.initial_size
        assert any("no automatic stop" in e.text for e in session.latest.events)

        # +1.6 %: TP1 closes 75 % at the bid (less slippage); the stop is locked at +0.4 %
        await quote(fake, feed, handled, 152.40, 152.44, 152.42)
        assert pos.tp1_filled
        assert pos.size == pytest.approx(pos.initial_size * 0.25)
        assert pos.stop == pytest.approx(pos.entry * 1.004)
        assert any("fresh prices again" in e.text for e in session.latest.events)

        # funding time passes with the position open: a long pays the positive rate
        fees_before = pos.fees
        clock.advance(31_000)
        await quote(
            fake,
            feed,
            handled,
            152.30,
            152.34,
            152.32,
            next_funding_ms=funding_at + 8 * 3_600_000,
        )
        await until(lambda: pos.fees != fees_before, what="the funding charge")
        # notional at the newest price when the funding time passed (152.42 or 152.32)
        assert pos.fees - fees_before == pytest.approx(pos.size * 152.37 * 0.0001, rel=1e-3)
        assert any("funding" in e.text and "paid" in e.text for e in session.latest.events)

        # a gap through the profit-lock stop: filled at the bid of that tick, not at the stop
        stop = pos.stop
        await quote(fake, feed, handled, 149.00, 149.04, 149.02)
        assert pos.closed
        exit_fill = 149.00 * (1 - 2e-4)
        assert stop > 150.6 > 149.0 > exit_fill
    finally:
        await session.stop()
    assert feed.exchange is None  # closed with the session

    with sqlite3.connect(db) as conn:
        fills = conn.execute(
            "SELECT reason, price, fee, price_source FROM fills ORDER BY id"
        ).fetchall()
        trade = conn.execute(
            "SELECT status, exit_reason, fees, realized_pnl FROM trades"
        ).fetchone()
        statuses = {s for (s,) in conn.execute("SELECT status FROM orders")}
        candles = conn.execute(
            "SELECT COUNT(*), MIN(ts_ms), MAX(ts_ms) FROM candles WHERE symbol = ?", (SYMBOL,)
        ).fetchone()
    assert [f[0] for f in fills] == ["entry", "tp1", "profit_lock"]
    assert fills[0][1] == pytest.approx(entry)
    assert fills[1][1] == pytest.approx(152.40 * (1 - 2e-4))
    assert fills[2][1] == pytest.approx(exit_fill)
    assert {f[3] for f in fills} == {"mark"}
    assert statuses == {"filled"}
    assert trade[0] == "closed" and trade[1] == "profit_lock"
    fill_fees = sum(f[2] for f in fills)
    assert trade[2] == pytest.approx(fill_fees + (pos.fees - fill_fees))  # fills + funding
    assert trade[2] > fill_fees > fee_at_entry
    assert candles[0] >= 30  # the recorder's backfill (30 minutes) at least


async def test_candles_of_the_session_are_recorded_without_gaps_through_a_drop(
    tmp_path: Path, fake: FakeBinanceUSDM, clock: FakeClock
) -> None:
    session, _feed, _broker, db = shadow_session(tmp_path, fake, clock)
    await session.start()
    try:
        await fake.wait_subscribed(KLINE)
        now = clock()
        minute = now - now % MINUTE_MS
        first_recorded = minute - 30 * MINUTE_MS
        await fake.trade(150.1, 2.0, ts=minute + 100)
        clock.advance(MINUTE_MS)
        await fake.trade(150.3, 1.0, ts=minute + MINUTE_MS + 100)  # closes `minute`
        await fake.drop_connections()
        # while nobody listens the market goes on for two more minutes
        clock.advance(MINUTE_MS)
        await fake.trade(151.0, 4.0, ts=minute + 2 * MINUTE_MS + 100)
        clock.advance(MINUTE_MS)
        await fake.trade(149.0, 1.5, ts=minute + 3 * MINUTE_MS + 100)
        await fake.wait_subscribed(KLINE, count=2)
        clock.advance(MINUTE_MS)
        await fake.trade(149.5, 1.0, ts=minute + 4 * MINUTE_MS + 100)
        clock.advance(MINUTE_MS)
        await fake.trade(149.6, 1.0, ts=minute + 5 * MINUTE_MS + 100)
        last_closed = minute + 4 * MINUTE_MS

        def stored() -> dict[int, tuple[float, ...]]:
            with sqlite3.connect(db) as conn:
                rows = conn.execute(
                    "SELECT ts_ms, open, high, low, close, volume FROM candles "
                    "WHERE symbol = ? AND timeframe = '1m' ORDER BY ts_ms",
                    (SYMBOL,),
                ).fetchall()
            return {r[0]: tuple(r[1:]) for r in rows}

        await until(lambda: last_closed in stored(), what="the last closed bar in SQLite")
        await until(
            lambda: all(
                stored().get(ts) == tuple(fake.bar(ts) or ())
                for ts in range(minute, last_closed + 1, MINUTE_MS)
            ),
            what="every bar as the exchange has it",
        )
        rows = stored()
        expected = list(range(first_recorded, last_closed + 1, MINUTE_MS))
        assert [ts for ts in rows if first_recorded <= ts <= last_closed] == expected
        for ts in expected:
            assert rows[ts] == pytest.approx(tuple(fake.bar(ts) or ())), ts
        assert minute + 5 * MINUTE_MS not in rows  # still forming: never stored as final
    finally:
        await session.stop()


async def test_no_network_the_session_runs_with_the_feed_down(tmp_path: Path) -> None:
    from tests.adapters.live_feed_harness import closed_port

    db = tmp_path / "offline.db"
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{db}",
        feed=fast_config(f"http://127.0.0.1:{closed_port()}"),
    )
    feed = CcxtFeed(settings.feed)
    session = Session(settings, feed, PaperBroker(settings.paper), [SYMBOL])
    await session.start()
    try:
        await until(lambda: session.feed_status.state is FeedState.DOWN, what="down")
        assert "attempt" in session.feed_status.detail
        await until(lambda: any("feed down" in e.text for e in session.latest.events))
        with pytest.raises(Exception, match="no price"):
            await session.open_position(SYMBOL, Side.LONG, 30.0, 2.0)
    finally:
        await session.stop()
    with sqlite3.connect(db) as conn:
        alerts = [m for (m,) in conn.execute("SELECT message FROM alerts")]
    assert any("feed down" in m for m in alerts)
