"""The Drift keeper (cockpit/live_venue/) on its own: no Session, no feed, no app.

A real `Router` and `PositionBook` on a real SQLite `Store`, the real `DriftBroker` on the offline
chain of tests/fakes/drift_harness.py, and a `LiveVenue` built from them as the session builds
it. The test drives each pass of the poll loop itself (`poll`), so start-up reconcile, stop
keeping and venue-side exits are checked one step at a time, deterministically.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from adapters.drift import BASE_PRECISION, PRICE_PRECISION, DriftBroker
from cockpit.config import FixedPolicyConfig, Settings
from cockpit.domain import Fill, Mode, OrderRequest, OrderSide, PositionState, Side
from cockpit.engine.policy import fixed_plan, open_position
from cockpit.execution.book import PositionBook
from cockpit.execution.router import Router
from cockpit.live_venue import LiveVenue
from cockpit.risk import RiskGate
from state.store import Store
from tests.cockpit.drift_rig import SYMBOL, T0, Clock, drift_config, new_wallet
from tests.fakes.drift_harness import Harness, make_harness


@dataclass
class Alone:
    db: Path
    h: Harness
    store: Store
    router: Router
    book: PositionBook
    venue: LiveVenue
    clock: Clock
    events: list[tuple[str, str]] = field(default_factory=list)
    audits: list[tuple[str, str]] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [text for _, text in self.events]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute(sql))

    def stop_ixs(self) -> list[Any]:
        """Every decoded instruction that places, modifies or cancels a trigger order."""
        return [
            ix
            for ix in self.h.sender.drift_ixs()
            if ix.name in ("modify_order_by_user_id", "cancel_order_by_user_id")
            or (
                ix.name == "place_perp_order"
                and type(ix.args["params"].order_type).__name__ == "TriggerMarket"
            )
        ]

    async def poll(self) -> bool:
        """One pass of the poll loop, then the stop sync it started beside it."""
        read = await self.venue.poll_once()
        await self.venue.idle()
        return read

    async def live_long(self, size: float, entry: float) -> PositionState:
        """A long whose entry filled: on the account, its trade and fill in the database, listed
        in the book (what the router does on an entry fill), then handed to the keeper."""
        self.h.chain.set_position(round(size * BASE_PRECISION), entry)
        await self.h.broker.refresh()
        plan = fixed_plan(Side.LONG, entry, size, FixedPolicyConfig())
        pos = open_position(
            plan,
            symbol=SYMBOL,
            leverage=2.0,
            opened_ms=self.clock(),
            mode=Mode.LIVE_SMALL,
            venue=self.venue.venue,
        )
        order = OrderRequest(
            client_order_id="ck-entry-1",
            symbol=SYMBOL,
            side=OrderSide.BUY,
            size=size,
            reduce_only=False,
            reason="entry",
            leverage=2.0,
        )
        order_id = await self.store.record_order_intent(
            order, mode=Mode.LIVE_SMALL, venue=self.venue.venue
        )
        fill = Fill(
            client_order_id=order.client_order_id,
            symbol=SYMBOL,
            side=OrderSide.BUY,
            size=size,
            price=entry,
            fee=0.0,
            ts_ms=self.clock(),
            price_source="test",
            reduce_only=False,
            reason="entry",
        )
        pos.trade_id = await self.store.record_open(order_id, fill, pos)
        self.book.add(pos)
        self.venue.track(pos)
        return pos


@pytest.fixture
async def alone(tmp_path: Path) -> AsyncIterator[Alone]:
    db = tmp_path / "alone.db"
    clock = Clock(T0)
    cfg = drift_config()
    h = make_harness(new_wallet(), config=cfg)

    async def sleep(seconds: float) -> None:  # the broker's back-off: recorded, not slept
        h.sleeps.append(seconds)
        clock.now += int(seconds * 1000)

    h.broker = DriftBroker(h.client, cfg, lookup_tables=[], clock=clock, sleep=sleep)
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", drift=cfg)
    store = await Store.open(settings.db_url, clock=clock)
    book = PositionBook([])
    events: list[tuple[str, str]] = []
    audits: list[tuple[str, str]] = []

    async def on_closed() -> None:
        return None

    router = Router(
        settings,
        book,
        RiskGate(settings.risk),
        store=lambda: store,
        event=lambda level, text: events.append((level, text)),
        clock=clock,
        on_db_failing=lambda _why: None,
        on_closed=on_closed,
    )

    async def audit(
        kind: str,
        who: str,
        action: str,
        reason: str,
        detail_json: str | None = None,
        *,
        trade_id: int | None = None,
    ) -> None:
        audits.append((kind, action))

    venue = LiveVenue(router, book, audit, h.broker)
    router.keeper = venue
    yield Alone(db, h, store, router, book, venue, clock, events, audits)
    await venue.close()
    await store.close()


async def test_start_reconciles_an_empty_account_and_says_so(alone: Alone) -> None:
    await alone.venue.start([])

    assert alone.venue.differences == []
    assert alone.audits == []
    assert ("info", "drift: positions and stops agree with the database") in alone.events
    assert alone.venue.venue_alerts == {}
    assert alone.venue.pending_entries == 0
    assert alone.h.sender.sent == [], "reconcile sends nothing"


async def test_a_tracked_position_gets_its_stop_placed_then_moved_in_place(alone: Alone) -> None:
    await alone.venue.start([])
    pos = await alone.live_long(0.5, 150.0)
    assert pos.stop == pytest.approx(147.75)  # 150 x (1 - 1.5 %)

    assert await alone.poll()
    (placed,) = alone.stop_ixs()
    params = placed.args["params"]
    assert type(params.order_type).__name__ == "TriggerMarket"
    assert params.reduce_only is True
    assert type(params.trigger_condition).__name__ == "Below"
    assert type(params.direction).__name__ == "Short"
    assert params.trigger_price == 147_750_000
    uoid = params.user_order_id
    assert alone.rows(
        "SELECT order_type, status, user_order_id, trigger_price, trade_id FROM orders "
        "WHERE order_type = 'stop'"
    ) == [("stop", "open", uoid, 147.75, pos.trade_id)]
    assert alone.venue.stop_note(pos.trade_id or 0) == "stop on chain @ 147.75"

    assert await alone.poll()
    assert len(alone.stop_ixs()) == 1, "a stop in step is left alone"

    pos.stop = 149.0
    alone.venue.stop_changed(pos)
    assert await alone.poll()
    ixs = alone.stop_ixs()
    assert [ix.name for ix in ixs] == ["place_perp_order", "modify_order_by_user_id"]
    modify = ixs[1].args
    assert modify["user_order_id"] == uoid
    assert modify["modify_order_params"].trigger_price == 149 * PRICE_PRECISION
    resting = [o for o in alone.h.chain.open_orders() if int(o.user_order_id) == uoid]
    assert [int(o.trigger_price) for o in resting] == [149 * PRICE_PRECISION]
    assert alone.rows("SELECT status, trigger_price FROM orders WHERE order_type = 'stop'") == [
        ("open", 149.0)
    ]
    assert alone.venue.venue_alerts == {}


async def test_a_stop_fired_on_chain_is_the_exit_fill(alone: Alone) -> None:
    await alone.venue.start([])
    pos = await alone.live_long(0.5, 150.0)
    assert await alone.poll()  # the stop goes on chain at 147.75
    stop_row = alone.rows("SELECT id FROM orders WHERE order_type = 'stop'")[0][0]

    alone.clock.now += 1000
    assert alone.h.set_oracle(147.5) == 1  # through the trigger: a keeper fills it
    assert alone.h.chain.base() == 0
    assert pos in alone.book.positions, "nothing is known before the account is read"

    assert await alone.poll()
    assert pos.closed
    assert pos not in alone.book.positions
    assert any("the on-chain stop fired" in t for t in alone.texts())
    fills = await alone.store.fills_for(pos.trade_id or 0)
    exits = [f for f in fills if f.reduce_only]
    assert len(exits) == 1
    assert exits[0].order_id == stop_row
    assert exits[0].size == pytest.approx(0.5)
    assert exits[0].price == pytest.approx(147.5, abs=0.01)
    assert alone.rows(f"SELECT status FROM orders WHERE id = {stop_row}") == [("filled",)]
    assert alone.rows(f"SELECT status FROM trades WHERE id = {pos.trade_id}") == [("closed",)]
    assert alone.venue.venue_alerts == {}
    assert [ix.name for ix in alone.stop_ixs()] == ["place_perp_order"], (
        "a stop that fired is not cancelled"
    )
