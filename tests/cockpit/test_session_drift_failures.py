"""LIVE-SMALL failures through the whole cockpit against the offline Drift: lost and
unconfirmed transactions are retried with the same user_order_id (never a second order), a stop
that cannot go on chain leaves the software stop in charge (marked, retried), and the database
and the venue agree afterwards."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair

from adapters.backoff import Backoff
from adapters.drift.wallet import load_wallet
from cockpit.domain import Side
from cockpit.live_venue.keeper import LiveVenue
from cockpit.risk import EntryRequest
from cockpit.session import EntryPending, OrderRejected
from tests.cockpit.drift_rig import SYMBOL, Rig, drift_config, open_rig
from tests.fakes.drift_harness import RpcDown
from tests.waiting import until


@pytest.fixture
async def rig(tmp_path: Path) -> Any:
    r = await open_rig(tmp_path / "live.db")
    await r.session.enter_live("LIVE")
    yield r
    await r.session.stop()


def market_sends(r: Rig) -> list[tuple[int, bool, bool]]:
    """(user_order_id, reduce_only, landed) of every market order transaction."""
    return [
        (ix.args["params"].user_order_id, ix.args["params"].reduce_only, tx.landed)
        for tx in r.h.sender.sent
        for ix in tx.instructions
        if ix.name == "place_perp_order" and type(ix.args["params"].order_type).__name__ == "Market"
    ]


async def test_a_lost_entry_is_resent_with_the_same_user_order_id(rig: Rig) -> None:
    rig.h.sender.failures = ["lost"]
    pos = await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    sends = market_sends(rig)
    assert [landed for _, _, landed in sends] == [False, True]
    assert len({uoid for uoid, _, _ in sends}) == 1
    assert rig.chain_size() == pytest.approx(pos.size) == pytest.approx(0.26)
    assert rig.rows("SELECT reason, status FROM orders WHERE order_type = 'market'") == [
        ("entry", "filled")
    ]


async def test_an_entry_that_landed_but_errored_is_not_sent_again(rig: Rig) -> None:
    rig.h.sender.failures = ["landed"]
    await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    assert [landed for _, _, landed in market_sends(rig)] == [True]
    assert rig.chain_size() == pytest.approx(0.26), "one order, one position"


async def test_an_unconfirmed_entry_stays_placed_and_is_listed_when_it_lands(rig: Rig) -> None:
    rig.h.sender.failures = ["late"]  # taken by the RPC, lands after the send's deadline
    with pytest.raises(EntryPending, match="placed on drift but not confirmed"):
        await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    assert rig.session.latest.positions == []
    assert rig.rows("SELECT reason, status FROM orders") == [("entry", "submitted")]
    await rig.price(150.0, advance_ms=0)  # a fresh price (the send took its 20 s deadline)
    with pytest.raises(OrderRejected, match="placed on drift and not confirmed yet"):
        await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)  # it may still land
    assert rig.session.risk.check_entry(  # and the cooldown runs from its send
        EntryRequest(SYMBOL, Side.LONG, 40, 2, "test"), open_positions=0, now_ms=rig.clock.now
    ).reason.startswith("cooldown")

    rig.clock.now += 60_000
    await rig.settle()  # still within unconfirmed_expiry_s: watched, never sent again
    assert len(market_sends(rig)) == 1
    assert rig.h.sender.land_late() == 1
    await rig.settle()
    [pos] = rig.session.latest.positions
    assert pos.size == pytest.approx(0.26) == pytest.approx(rig.chain_size())
    assert len(market_sends(rig)) == 1, "one transaction, one order"
    assert rig.rows("SELECT reason, order_type, status FROM orders ORDER BY id") == [
        ("entry", "market", "filled"),
        ("stop", "stop", "open"),
    ]
    assert [u for u, _ in rig.chain_stops()] != []


async def test_an_entry_resting_on_the_book_is_listed_once_a_keeper_fills_it(rig: Rig) -> None:
    rig.h.chain.fill_market_orders = False
    with pytest.raises(EntryPending):
        await rig.session.open_position(SYMBOL, Side.SHORT, 40, 2)
    assert rig.rows("SELECT status, tx_sig IS NOT NULL FROM orders") == [("submitted", 1)]
    rig.h.chain.fill_resting_market_orders()
    await rig.settle()
    [pos] = rig.session.latest.positions
    assert pos.side is Side.SHORT and rig.chain_size() == pytest.approx(-0.26)
    assert len(market_sends(rig)) == 1, "a resting order is waited for, never re-sent"


async def test_an_entry_resting_unfilled_too_long_is_cancelled_then_failed(rig: Rig) -> None:
    rig.h.chain.fill_market_orders = False
    with pytest.raises(EntryPending):
        await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    for _ in range(4):
        rig.clock.now += 30_000
        await rig.settle()
    assert rig.h.chain.open_orders() == [] and rig.chain_size() == 0
    assert rig.ixs() == ["place_perp_order", "cancel_order_by_user_id"], "never re-sent"
    [(status, error)] = rig.rows("SELECT status, error FROM orders")
    assert status == "cancelled" and "rested unfilled and was cancelled" in error
    assert rig.session.latest.positions == []


async def test_an_entry_that_never_lands_expires_once_its_blockhash_has(rig: Rig) -> None:
    rig.h.sender.failures = ["dropped"]  # taken by the RPC, never lands
    with pytest.raises(EntryPending):
        await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    [(uoid, _, landed)] = market_sends(rig)
    assert not landed
    assert sum(rig.h.sleeps) == pytest.approx(rig.h.config.send_deadline_s)
    rig.clock.now += 120_000  # past unconfirmed_expiry_s, but the blockhash is still valid
    await rig.settle()
    assert rig.rows("SELECT status FROM orders") == [("submitted",)], "it may still land"
    rig.h.chain.slot += 200  # the chain passes the transaction's last valid block height
    await rig.settle()
    assert rig.session.latest.positions == []
    assert rig.chain_size() == 0
    assert market_sends(rig) == [(uoid, False, False)], "never sent again"
    [(status, error)] = rig.rows("SELECT status, error FROM orders")
    assert status == "expired" and "never showed" in error
    assert any("entry failed" in e for e in rig.events())


async def test_an_exit_that_lands_with_an_error_is_refused_with_the_reason_and_retried(
    rig: Rig,
) -> None:
    pos = await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    rig.h.sender.failures = ["error:ReduceOnlyOrderIncreasedRisk"]
    with pytest.raises(OrderRejected, match=r"ReduceOnlyOrderIncreasedRisk \(6064\)"):
        await rig.session.close_position(pos.trade_id or 0)
    assert not pos.closed and rig.chain_size() == pytest.approx(0.26)
    rows = rig.rows("SELECT reason, status, error FROM orders WHERE order_type = 'market'")
    assert rows[-1][:2] == ("manual_close", "rejected") and "Reduce only" in rows[-1][2]
    await rig.session.close_position(pos.trade_id or 0)  # the trader tries again: a new order
    await rig.venue.idle()
    assert pos.closed and rig.chain_size() == 0


async def test_a_stop_that_cannot_go_on_chain_leaves_the_software_stop_in_charge(
    rig: Rig,
) -> None:
    session = rig.session
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    rig.h.sender.down = True  # the RPC takes nothing until the send's deadline
    await rig.settle()
    rig.h.sender.down = False
    assert rig.chain_stops() == []
    assert session.venue_alerts() == {pos.trade_id: "no chain SL"}
    assert "stop not on chain" in (session.venue_note(pos.trade_id) or "")
    # Nothing went on chain: the row stays at intent with the error, and is retried from there.
    assert rig.rows("SELECT status, error IS NOT NULL FROM orders WHERE order_type = 'stop'") == [
        ("intent", 1)
    ]
    assert any("stop not on chain" in e for e in rig.events())

    await rig.price(147.7)  # through the stop: the software stop closes at once, reduce-only
    assert pos.closed
    assert rig.chain_size() == 0
    [close] = [s for s in market_sends(rig) if s[1]]
    assert close[1] is True
    assert rig.rows("SELECT exit_reason FROM trades") == [("stop_loss",)]


async def test_a_failed_stop_is_retried_and_the_mark_clears(rig: Rig) -> None:
    session = rig.session
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    rig.h.sender.down = True
    await rig.settle()
    rig.h.sender.down = False
    uoid = rig.rows("SELECT user_order_id FROM orders WHERE order_type = 'stop'")[0][0]
    await rig.settle()  # before stop_retry_s: not yet
    assert rig.chain_stops() == []
    rig.clock.now += 5_000
    await rig.settle()
    assert rig.chain_stops() == [(uoid, 147.75)], "the same user_order_id, the same row"
    assert session.venue_alerts() == {}
    assert rig.rows("SELECT status FROM orders WHERE order_type = 'stop'") == [("open",)]
    assert pos.trade_id is not None


async def test_a_stop_that_cannot_be_moved_stays_where_it_was_and_is_retried(rig: Rig) -> None:
    session = rig.session
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    [(uoid, _)] = rig.chain_stops()
    rig.h.sender.down = True
    await rig.price(151.0)  # breakeven: the engine's stop is 150
    await rig.settle()
    rig.h.sender.down = False
    assert pos.stop == pytest.approx(150.0)
    assert rig.chain_stops() == [(uoid, 147.75)], "the old stop still protects"
    assert "still at 147.75" in (session.venue_note(pos.trade_id) or "")
    assert rig.rows("SELECT status, trigger_price FROM orders WHERE order_type = 'stop'") == [
        ("open", 147.75)
    ]
    rig.clock.now += 5_000
    await rig.settle()
    assert rig.chain_stops() == [(uoid, 150.0)]
    assert session.venue_alerts() == {}


async def test_an_unconfirmed_exit_is_never_doubled(rig: Rig) -> None:
    session = rig.session
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    rig.h.chain.fill_market_orders = False  # the TP1 order rests: sent, not filled
    await rig.price(152.3)  # TP1 (+1.5 %) at 152.25
    assert pos.size == pytest.approx(0.26), "decided, not filled"
    assert session.venue_alerts() == {pos.trade_id: "exit placed"}
    for p in (152.4, 152.5, 152.6):
        await rig.price(p)
    assert len([s for s in market_sends(rig) if s[1]]) == 1, "one TP1 order, however many ticks"
    with pytest.raises(OrderRejected, match="placed on drift and not confirmed"):
        await session.close_position(pos.trade_id or 0)
    rig.h.chain.fill_resting_market_orders()
    await rig.settle()
    assert pos.size == pytest.approx(rig.chain_size()) == pytest.approx(0.07)
    assert session.venue_alerts() == {}


async def test_the_software_stop_backs_up_an_on_chain_stop_that_does_not_fill(rig: Rig) -> None:
    session = rig.session
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    rig.h.chain.fire_triggers = lambda: 0  # type: ignore[method-assign]  # no keeper fires it
    await rig.price(147.5)
    assert not pos.closed, "left to the on-chain stop first"
    await rig.price(147.5, advance_ms=3_000)
    assert not pos.closed
    await rig.price(147.4, advance_ms=3_000)  # 6 s through: past stop_grace_s
    assert pos.closed
    assert rig.chain_size() == 0
    assert rig.chain_stops() == [], "the stop is cancelled once the position is closed"
    assert rig.rows("SELECT reason, order_type, status FROM orders ORDER BY id") == [
        ("entry", "market", "filled"),
        ("stop", "stop", "cancelled"),
        ("stop_loss", "market", "filled"),
    ]


async def test_rpc_errors_in_the_poll_show_and_never_stop_it(rig: Rig) -> None:
    session = rig.session
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    rig.h.user.fail_fetches = [RpcDown("HTTP 429 Too Many Requests")] * 2
    await rig.settle()
    await rig.settle()
    errors = [e for e in rig.events() if "reading the account failed" in e]
    assert len(errors) == 1 and "429" in errors[0], "said once, not every poll"
    await rig.settle()
    assert any("account readable again" in e for e in rig.events())
    assert rig.chain_stops() != [] and pos.trade_id is not None


async def test_the_poll_loop_runs_by_itself_and_records_a_stop_fill_once(
    tmp_path: Path,
) -> None:
    r = await open_rig(
        tmp_path / "l.db",
        config=drift_config(poll_interval_s=0.01, stop_grace_s=60),
        poll_loop=True,
    )
    try:
        await r.session.enter_live("LIVE")
        pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
        await until(r.chain_stops, what="the stop placed by the loop")
        assert r.chain_stops() == [(r.chain_stops()[0][0], 147.75)], "placed by the loop"
        await r.price(147.0)
        await until(lambda: pos.closed, what="the stop fill recorded by the loop")
        await r.price(146.9)
        # the loop reads the account twice more after the close: a second record of the same
        # fill would be there now
        reads = r.h.user.fetches
        await until(lambda: r.h.user.fetches >= reads + 2, what="two more polls")
        assert pos.closed
        # the fill is booked in memory first, then written
        await until(lambda: len(r.rows("SELECT reason FROM fills")) == 2, what="the fill row")
        assert r.rows("SELECT reason FROM fills ORDER BY id") == [("entry",), ("stop_loss",)]
        assert r.rows("SELECT reason, status FROM orders ORDER BY id") == [
            ("entry", "filled"),
            ("stop", "filled"),
        ]
    finally:
        await r.session.stop()


async def test_the_wallet_key_never_reaches_the_log_the_screen_or_sqlite(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keypair = Keypair()
    key_file = tmp_path / "id.json"
    key_file.write_text(json.dumps(list(bytes(keypair))))
    key_file.chmod(0o600)
    wallet = load_wallet(path=key_file)
    secrets = {
        str(keypair),  # base58 of the 64 bytes, what solders prints
        str(Keypair.from_seed(bytes(keypair)[:32])),
        json.dumps(list(bytes(keypair))),
        bytes(keypair).hex(),
        bytes(keypair)[:32].hex(),
    }
    caplog.set_level(logging.DEBUG)
    r = await open_rig(tmp_path / "k.db", wallet=wallet)
    try:
        await r.session.enter_live("LIVE")
        r.h.sender.failures = ["lost", "landed"]
        pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
        r.h.sender.down = True
        await r.settle()  # a failed stop: error paths log too
        r.h.sender.down = False
        r.clock.now += 5_000
        await r.settle()
        await r.price(154.0)
        await r.settle()
        await r.session.close_position(pos.trade_id or 0)
    finally:
        await r.session.stop()
    with sqlite3.connect(r.db) as conn:
        dump = "\n".join(conn.iterdump())
    shown = "\n".join(r.events()) + repr(r.session.wallet) + str(wallet) + repr(wallet)
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in dump
        assert secret not in shown
    assert str(keypair.pubkey())[:4] in (r.session.wallet or "")


async def test_the_poll_loop_backs_off_while_the_rpc_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays: list[float] = []  # what the loop chose to wait after each failed read

    class Recorded(Backoff):
        def next_delay(self) -> float:
            delay = super().next_delay()
            delays.append(delay)
            return delay

    def backoff(venue: LiveVenue) -> Backoff:
        made = real_backoff(venue)
        return Recorded(made.initial_s, made.max_s, factor=made.factor, jitter=made.jitter)

    real_backoff = LiveVenue.backoff
    monkeypatch.setattr(LiveVenue, "backoff", backoff)
    cfg = drift_config(poll_interval_s=0.001, backoff_initial_s=0.05, backoff_max_s=0.4)
    r = await open_rig(tmp_path / "b.db", config=cfg, poll_loop=True)
    try:
        r.h.user.fail_fetches = [RpcDown("HTTP 429 Too Many Requests")] * 10_000
        started = time.monotonic()
        before = r.h.user.fetches
        await until(lambda: r.h.user.fetches - before >= 6, what="six failed reads")
        waited = time.monotonic() - started
        # 1 ms polling would retry at once; the loop backs off 50, 100, 200, 400, 400 ms
        assert delays[:5] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.4])
        # and really waits them: five waits lie between six reads (load only adds to this)
        assert waited >= 0.05 + 0.1 + 0.2 + 0.4 + 0.4
        assert len([e for e in r.events() if "reading the account failed" in e]) == 1
        r.h.user.fail_fetches = []
        await until(
            lambda: any("account readable again" in e for e in r.events()),
            what="the account readable again",
        )
    finally:
        await r.session.stop()
