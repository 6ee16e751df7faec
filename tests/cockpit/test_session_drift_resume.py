"""A restart while an order is unconfirmed resumes it from its row (issue 12, DESIGN.md 4).

What follows a fill is derived from the order row (its kind, its trade, the entry's stored
intent), not from a closure in the process that sent it; so a cockpit that stops between an
order's send and its fill picks it up again: an entry that filled meanwhile opens its planned
position (not an "external" one), an exit that filled is applied to its trade, an order still
in flight is watched again, and one that never showed expires (an exit's target re-armed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.domain import Side, TargetState
from cockpit.session import EntryPending
from tests.cockpit.drift_rig import SYMBOL, Rig, open_rig, restart


async def pending_entry(tmp_path: Path) -> Rig:
    r = await open_rig(tmp_path / "e.db")
    await r.session.enter_live("LIVE")
    r.h.chain.fill_market_orders = False  # it rests on the book: sent, not filled
    with pytest.raises(EntryPending):
        await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    assert r.rows("SELECT reason, status FROM orders") == [("entry", "submitted")]
    return r


async def test_an_entry_that_filled_while_away_opens_its_planned_position(tmp_path: Path) -> None:
    r = await pending_entry(tmp_path)
    r.h.chain.fill_resting_market_orders()  # it filled while the cockpit was gone
    r = await restart(r)
    try:
        [pos] = r.session.latest.positions
        assert pos.plan.policy == "fixed", "its own plan, not an adopted external position"
        assert pos.size == pytest.approx(0.26) and pos.entry == pytest.approx(150.0)
        assert pos.stop == pytest.approx(150.0 * 0.985)
        assert r.rows("SELECT reason, status FROM orders WHERE order_type='market'") == [
            ("entry", "filled")
        ]
        assert r.rows("SELECT policy, status FROM trades") == [("fixed", "open")]
        assert not [e for e in r.events() if "adopted external" in e]
        await r.settle()  # its stop goes on chain like any live entry's
        assert r.chain_stops() == [(r.chain_stops()[0][0], pytest.approx(147.75))]
    finally:
        await r.session.stop()


async def test_an_entry_still_in_flight_is_watched_again_and_listed_when_it_fills(
    tmp_path: Path,
) -> None:
    r = await pending_entry(tmp_path)
    r = await restart(r)
    try:
        assert r.session.latest.positions == []
        assert any("watching the account for it again" in e for e in r.events())
        r.h.chain.fill_resting_market_orders()
        await r.settle()
        [pos] = r.session.latest.positions
        assert pos.plan.policy == "fixed" and pos.size == pytest.approx(0.26)
        assert r.rows("SELECT status FROM orders WHERE order_type='market'") == [("filled",)]
    finally:
        await r.session.stop()


async def test_an_entry_that_never_showed_expires_at_restart(tmp_path: Path) -> None:
    r = await pending_entry(tmp_path)
    r.h.chain.cancel_resting_market_orders()
    r.clock.now += 120_000  # past unconfirmed_expiry_s: its blockhash is long gone
    r = await restart(r)
    try:
        assert r.session.latest.positions == []
        [(status, error)] = r.rows("SELECT status, error FROM orders")
        assert status == "expired" and "unconfirmed when the cockpit stopped" in error
    finally:
        await r.session.stop()


async def test_an_exit_that_filled_while_away_is_applied_to_its_trade(tmp_path: Path) -> None:
    r = await open_rig(tmp_path / "x.db")
    await r.session.enter_live("LIVE")
    pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    await r.settle()
    r.h.chain.fill_market_orders = False
    await r.price(152.3)  # +1.53 %: TP1 (75 %) is sent, rests unconfirmed
    assert pos.tp1_state is TargetState.SENT and pos.size == pytest.approx(0.26)
    r.h.chain.fill_resting_market_orders()
    r = await restart(r)
    try:
        [pos] = r.session.latest.positions
        assert pos.size == pytest.approx(0.07) == pytest.approx(r.chain_size())
        assert pos.tp1_filled and pos.stop >= pos.entry  # TP1's consequence followed its fill
        fills = r.rows("SELECT reason, round(size, 4) FROM fills ORDER BY id")
        assert fills == [("entry", 0.26), ("tp1", 0.19)]
        # The position agrees with the venue; only the stop move that never reached the chain
        # before the stop is listed (it is put in step when the trader asks: `o`).
        differences = [e for e in r.events() if "reconcile:" in e]
        assert differences == ["reconcile: #1 stop 150.6 in the database, 147.75 on the venue"]
    finally:
        await r.session.stop()
