"""On-chain stops are read back, not believed (issue 13, item 3).

On the real program `modify_order_by_user_id` of an unknown id succeeds and changes nothing
unless the MustModify policy is set, `cancel_order_by_user_id` of one succeeds too, and driftpy's
sender never reads a landed transaction's error. So after every change and on every poll the
cockpit reads the stop back from the account: a stop missing or at another price is shown
(`no chain SL`, `chain SL differs`), audited and put back at the engine's level at once, with the
software stop in charge until it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.drift import StopNotPlaced
from adapters.drift.errors import OrderGone
from cockpit.domain import Side
from tests.cockpit.drift_rig import SYMBOL, Rig, new_wallet, open_rig
from tests.fakes.drift_harness import make_harness


@pytest.fixture
async def rig(tmp_path: Path) -> Any:
    r = await open_rig(tmp_path / "v.db")
    await r.session.enter_live("LIVE")
    yield r
    await r.session.stop()


async def live_long(r: Rig) -> tuple[int, int]:
    """A long 0.26 SOL @ 150 with its stop on chain at 147.75: (trade id, user order id)."""
    pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    await r.settle()
    [(uoid, trigger)] = r.chain_stops()
    assert trigger == 147.75 and pos.trade_id is not None
    return pos.trade_id, uoid


def audit(r: Rig) -> list[str]:
    return [
        a
        for (a,) in r.rows(
            "SELECT action FROM audit_events WHERE kind = 'venue_difference' ORDER BY id"
        )
    ]


def stop_rows(r: Rig) -> list[tuple[Any, ...]]:
    return r.rows(
        "SELECT user_order_id, status, trigger_price FROM orders WHERE order_type = 'stop' "
        "ORDER BY id"
    )


async def test_a_stop_cancelled_behind_the_cockpits_back_is_placed_again_in_one_poll(
    rig: Rig,
) -> None:
    trade_id, uoid = await live_long(rig)
    assert rig.h.chain.cancel_by_hand(uoid) == 1  # the trader cancels it in Drift's own UI
    await rig.settle()
    [(new_uoid, trigger)] = rig.chain_stops()
    assert trigger == 147.75 and new_uoid != uoid
    assert rig.session.venue_alerts() == {}
    assert any("is not on drift any more" in e for e in rig.events())
    assert audit(rig) == ["stop missing on chain", "stop placed on chain again"]
    assert stop_rows(rig) == [(uoid, "cancelled", 147.75), (new_uoid, "open", 147.75)]
    assert trade_id in {p.trade_id for p in rig.session.latest.positions}


async def test_while_a_vanished_stop_cannot_be_put_back_the_software_stop_is_in_charge(
    rig: Rig,
) -> None:
    trade_id, uoid = await live_long(rig)
    rig.h.chain.cancel_by_hand(uoid)
    rig.h.sender.down = True  # the RPC takes no transaction until the send's deadline
    await rig.settle()
    assert rig.chain_stops() == []
    assert rig.session.venue_alerts() == {trade_id: "no chain SL"}
    assert "no chain SL" in (rig.session.venue_note(trade_id) or "")
    assert audit(rig) == ["stop missing on chain"]
    rig.h.sender.down = False

    await rig.price(147.7)  # through the stop: nothing on chain, the software stop closes
    assert rig.session.book.find(trade_id) is None, "closed"
    assert rig.chain_size() == 0
    assert rig.rows("SELECT exit_reason FROM trades") == [("stop_loss",)]


async def test_a_stop_moved_behind_the_cockpits_back_is_moved_back_with_must_modify(
    rig: Rig,
) -> None:
    trade_id, uoid = await live_long(rig)
    rig.h.chain.modify_by_hand(uoid, 140.0)  # looser, in Drift's own UI
    rig.h.sender.down = True
    await rig.settle()
    assert rig.chain_stops() == [(uoid, 140.0)]
    assert rig.session.venue_alerts() == {trade_id: "chain SL differs"}
    assert "chain SL differs" in (rig.session.venue_note(trade_id) or "")
    assert not rig.venue.defers_stop(rig.session.book.find(trade_id), rig.clock.now)  # type: ignore[arg-type]

    rig.h.sender.down = False
    rig.clock.now += 5_000
    await rig.settle()
    assert rig.chain_stops() == [(uoid, 147.75)]
    ix = rig.h.sender.drift_ixs(landed_only=True)[-1]
    assert ix.name == "modify_order_by_user_id"
    assert ix.args["modify_order_params"].policy == 1, "MustModify"
    assert rig.session.venue_alerts() == {}
    assert audit(rig) == ["stop differs on chain", "stop moved on chain again"]


async def test_a_modify_of_a_vanished_id_places_a_new_stop(rig: Rig) -> None:
    trade_id, uoid = await live_long(rig)
    rig.h.chain.cancel_by_hand(uoid)  # gone on chain; the cockpit has not read the account yet
    await rig.price(151.0)  # breakeven: the engine's stop is 150
    await rig.venue.sync_stops()  # the stop sync runs on the account as last read
    failed = [tx for tx in rig.h.sender.sent if tx.error is not None]
    assert [ix.name for tx in failed for ix in tx.instructions] == ["modify_order_by_user_id"]
    assert "OrderDoesNotExist" in (failed[0].error or "")
    assert failed[0].instructions[0].args["modify_order_params"].policy == 1
    [(new_uoid, trigger)] = rig.chain_stops()
    assert (trigger, new_uoid != uoid) == (150.0, True)
    assert rig.session.venue_alerts() == {}
    assert audit(rig) == ["stop missing on chain", "stop placed on chain again"]
    assert [status for _, status, _ in stop_rows(rig)] == ["cancelled", "open"]
    assert trade_id is not None


async def test_a_stop_transaction_that_lands_with_an_error_is_refused_with_its_reason(
    rig: Rig,
) -> None:
    pos = await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    rig.h.sender.failures = ["error:InsufficientCollateral"]
    await rig.settle()
    assert rig.chain_stops() == []
    [failed] = [tx for tx in rig.h.sender.sent if tx.error is not None]
    assert failed.landed, "it landed, with the program's error"
    assert rig.session.venue_alerts() == {pos.trade_id: "no chain SL"}
    note = rig.session.venue_note(pos.trade_id) or ""
    assert "InsufficientCollateral (6003): Insufficient collateral" in note
    assert [s for _, s, _ in stop_rows(rig)] == ["intent"], "nothing on chain"
    assert len(rig.h.sender.sent) == 2, "the entry and the one stop: never re-sent as is"
    rig.clock.now += 5_000
    await rig.settle()
    assert [t for _, t in rig.chain_stops()] == [147.75]


async def test_a_stop_transaction_that_lands_without_effect_is_not_believed(rig: Rig) -> None:
    pos = await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)
    rig.h.sender.failures = ["ignored"]
    await rig.settle()
    assert rig.chain_stops() == []
    assert rig.session.venue_alerts() == {pos.trade_id: "no chain SL"}
    assert "had no effect" in (rig.session.venue_note(pos.trade_id) or "")
    assert [s for _, s, _ in stop_rows(rig)] == ["intent"]
    rig.clock.now += 5_000
    await rig.settle()
    assert [t for _, t in rig.chain_stops()] == [147.75]
    assert rig.session.venue_alerts() == {}


async def test_the_broker_modifies_with_must_modify_and_says_when_the_order_is_gone() -> None:
    h = make_harness(new_wallet())
    h.chain.set_position(330_000_000, 150.0)
    await h.broker.refresh()
    placed = await h.broker.place_stop("s1", SYMBOL, Side.LONG, 147.0)
    h.chain.cancel_by_hand(placed.user_order_id)
    with pytest.raises(OrderGone):  # the account as last read still shows it: one send
        await h.broker.modify_stop(placed.user_order_id, 148.0)
    modifies = [ix for ix in h.sender.drift_ixs() if ix.name == "modify_order_by_user_id"]
    assert len(modifies) == 1 and modifies[0].args["modify_order_params"].policy == 1
    await h.broker.refresh()
    with pytest.raises(StopNotPlaced, match="not on Drift any more"):  # now known: none sent
        await h.broker.modify_stop(placed.user_order_id, 148.0)
    assert len([ix for ix in h.sender.drift_ixs() if ix.name == "modify_order_by_user_id"]) == 1
