"""LIVE-SMALL through the whole cockpit against the offline Drift (tests/cockpit/drift_rig.py):
entries within the limits, the on-chain stop in step with the engine's stop through TP1, TP2
and trailing, and the database and the venue in agreement at the end.

Every assertion about what was sent reads the decoded instruction from the signed transaction
bytes, so it checks what Drift would execute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.domain import Mode, Side, StopRole
from cockpit.session import OrderRejected
from tests.cockpit.drift_rig import SYMBOL, Rig, open_rig


@pytest.fixture
async def rig(tmp_path: Path) -> Any:
    r = await open_rig(tmp_path / "live.db")
    yield r
    await r.session.stop()


def stop_params(r: Rig) -> Any:
    """The params of the last TriggerMarket order placed."""
    return [
        ix.args["params"]
        for ix in r.h.sender.drift_ixs()
        if ix.name == "place_perp_order"
        and type(ix.args["params"].order_type).__name__ == "TriggerMarket"
    ][-1]


async def test_live_entry_within_the_limits_puts_its_stop_on_chain(rig: Rig) -> None:
    session = rig.session
    assert session.live_precondition() is None
    await session.enter_live("LIVE")
    with pytest.raises(OrderRejected, match="notional"):
        await session.open_position(SYMBOL, Side.LONG, 60, 2)
    assert rig.h.sender.sent == [], "a refused entry sends nothing"

    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    assert (pos.venue, pos.mode) == ("drift", Mode.LIVE_SMALL)
    assert pos.size == pytest.approx(0.26)  # 40 / 150 = 0.2667 -> 0.26, rounded down
    assert rig.chain_size() == pytest.approx(0.26)
    sent = rig.h.sender.drift_ixs()
    entry, stop = sent[0].args["params"], sent[1].args["params"]
    assert type(entry.order_type).__name__ == "Market" and entry.reduce_only is False
    assert type(stop.order_type).__name__ == "TriggerMarket"
    assert stop.reduce_only is True
    assert type(stop.trigger_condition).__name__ == "Below"
    assert type(stop.direction).__name__ == "Short"
    assert stop.trigger_price == 147_750_000  # 150 x (1 - 1.5 %), on the tick
    assert rig.chain_stops() == [(stop.user_order_id, 147.75)]

    orders = rig.rows(
        "SELECT reason, order_type, status, user_order_id, trigger_price, tx_sig IS NOT NULL "
        "FROM orders ORDER BY id"
    )
    assert orders == [
        ("entry", "market", "filled", entry.user_order_id, None, 1),
        ("stop", "stop", "open", stop.user_order_id, 147.75, 1),
    ]
    assert session.venue_alerts() == {}
    assert session.venue_note(pos.trade_id) == "stop on chain @ 147.75"


async def test_the_on_chain_stop_follows_the_engine_through_tp1_tp2_and_the_trail(
    rig: Rig,
) -> None:
    session = rig.session
    await session.enter_live("LIVE")
    pos = await session.open_position(
        SYMBOL, Side.LONG, 50, 2, policy="quality_tiers", quality_score=90
    )
    await rig.settle()
    assert pos.size == pytest.approx(0.33)
    assert (pos.plan.tp1_price, pos.plan.tp2_price) == pytest.approx((154.0, 158.0))
    uoid = rig.chain_stops()[0][0]

    def in_step(expected: float) -> None:
        assert pos.stop == pytest.approx(expected)
        assert rig.chain_stops() == [(uoid, pytest.approx(expected))]
        assert session.venue_alerts() == {}

    in_step(147.75)
    await rig.price(151.0)  # +0.67 %: breakeven
    await rig.settle()
    in_step(150.0)
    await rig.price(152.0)  # +1.33 %: profit lock at +0.4 %
    await rig.settle()
    in_step(150.6)
    await rig.price(154.0)  # TP1: half of 0.33, rounded down to the step on Drift
    await rig.settle()
    assert pos.tp1_filled and pos.size == pytest.approx(0.17)
    assert rig.chain_size() == pytest.approx(0.17)
    in_step(150.6)
    await rig.price(158.0)  # TP2 and the runner starts trailing 2.5 x ATR = 5 behind
    await rig.settle()
    assert pos.tp2_filled and pos.trailing_active
    assert pos.size == pytest.approx(0.09) and rig.chain_size() == pytest.approx(0.09)
    in_step(153.0)
    await rig.price(160.0)
    await rig.settle()
    in_step(155.0)
    await rig.price(157.0)
    await rig.settle()
    in_step(155.0)

    await rig.price(154.9)  # through the trail: the on-chain stop fires at the oracle
    assert rig.chain_size() == 0
    assert not pos.closed, "the venue's fill is read from the account, not assumed"
    await rig.settle()
    assert pos.closed
    assert session.latest.positions == []
    assert rig.chain_stops() == []

    names = [
        (ix.name, type(ix.args["params"].order_type).__name__)
        if ix.name == "place_perp_order"
        else (ix.name, ix.args["modify_order_params"].trigger_price)
        for ix in rig.h.sender.drift_ixs()
    ]
    assert names == [
        ("place_perp_order", "Market"),
        ("place_perp_order", "TriggerMarket"),
        ("modify_order_by_user_id", 150_000_000),
        ("modify_order_by_user_id", 150_600_000),
        ("place_perp_order", "Market"),
        ("place_perp_order", "Market"),
        ("modify_order_by_user_id", 153_000_000),
        ("modify_order_by_user_id", 155_000_000),
    ], "no market close after the stop fired on chain, and nothing to cancel"
    exits = [
        ix.args["params"]
        for ix in rig.h.sender.drift_ixs()
        if ix.name == "place_perp_order" and ix.args["params"].reduce_only
    ]
    assert all(p.reduce_only for p in exits[1:])

    trade = rig.rows("SELECT status, exit_reason, size, exit_price FROM trades")
    assert trade[0][:3] == ("closed", "trailing_stop", 0.0)
    orders = rig.rows("SELECT reason, order_type, status FROM orders ORDER BY id")
    assert orders == [
        ("entry", "market", "filled"),
        ("stop", "stop", "filled"),
        ("tp1", "market", "filled"),
        ("tp2", "market", "filled"),
    ]
    fills = rig.rows("SELECT reason, size, price FROM fills ORDER BY id")
    assert [(r, round(s, 2)) for r, s, _ in fills] == [
        ("entry", 0.33),
        ("tp1", 0.16),
        ("tp2", 0.08),
        ("trailing_stop", 0.09),
    ]
    assert fills[-1][2] == pytest.approx(154.9, rel=1e-6)
    roles = rig.rows("SELECT role, new_price FROM stop_moves ORDER BY id")
    assert [(role, round(price, 6)) for role, price in roles] == [
        (StopRole.BREAKEVEN.value, 150.0),
        (StopRole.PROFIT_LOCK.value, 150.6),
        (StopRole.TRAILING_STOP.value, 153.0),
        (StopRole.TRAILING_STOP.value, 155.0),
    ]


async def test_a_short_gets_a_buy_stop_above_and_its_stop_is_cancelled_on_close(rig: Rig) -> None:
    session = rig.session
    await session.enter_live("LIVE")
    pos = await session.open_position(SYMBOL, Side.SHORT, 40, 2)
    await rig.settle()
    stop = stop_params(rig)
    assert type(stop.direction).__name__ == "Long"
    assert type(stop.trigger_condition).__name__ == "Above"
    # 150 x (1 + 1.5 %), on the 0.0001 tick and rounded toward the position: never looser
    assert 152_249_900 <= stop.trigger_price <= 152_250_000
    await rig.price(145.4)  # -3.07 %: TP1 and TP2 of `fixed` on one tick, nothing left
    assert pos.closed and rig.chain_size() == 0
    assert rig.chain_stops() == []
    assert rig.ixs()[-1] == "cancel_order_by_user_id"
    assert rig.h.sender.drift_ixs()[-1].args["user_order_id"] == stop.user_order_id
    assert rig.rows("SELECT reason, status FROM orders ORDER BY id") == [
        ("entry", "filled"),
        ("stop", "cancelled"),
        ("tp1", "filled"),
        ("tp2", "filled"),
    ]


async def test_a_manual_loosening_moves_the_chain_only_after_confirmation(rig: Rig) -> None:
    session = rig.session
    await session.enter_live("LIVE")
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    [(uoid, _)] = rig.chain_stops()
    with pytest.raises(OrderRejected, match="loosen"):
        await session.move_stop(pos.trade_id or 0, 145.0)
    await rig.settle()
    assert rig.chain_stops() == [(uoid, 147.75)]
    await session.move_stop(pos.trade_id or 0, 145.0, confirm_loosen=True, why="news")
    await rig.settle()
    assert rig.chain_stops() == [(uoid, 145.0)]
    await session.move_stop(pos.trade_id or 0, 149.0)
    await rig.settle()
    assert rig.chain_stops() == [(uoid, 149.0)]


async def test_close_now_is_reduce_only_and_takes_the_stop_with_it(rig: Rig) -> None:
    session = rig.session
    await session.enter_live("LIVE")
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    await rig.price(150.8)
    await session.close_position(pos.trade_id or 0)
    assert pos.closed and rig.chain_size() == 0 and rig.chain_stops() == []
    close = [
        ix.args["params"]
        for ix in rig.h.sender.drift_ixs()
        if ix.name == "place_perp_order" and ix.args["params"].reduce_only
    ]
    assert [type(p.order_type).__name__ for p in close] == ["TriggerMarket", "Market"]
    assert rig.rows("SELECT exit_reason FROM trades") == [("manual_close",)]


async def test_a_partial_close_that_would_leave_less_than_the_minimum_closes_all(
    rig: Rig,
) -> None:
    """0.26 SOL, close 97 %: 0.0078 would be left, below Drift's 0.01 minimum: all of it goes."""
    session = rig.session
    await session.enter_live("LIVE")
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    assert pos.trade_id is not None
    assert session.min_order_size(pos) == pytest.approx(0.01)
    await session.close_part(pos.trade_id, 97)
    await rig.settle()
    assert pos.closed and rig.chain_size() == 0
    [(size, reason)] = rig.rows("SELECT size, reason FROM fills WHERE reduce_only = 1")
    assert (size, reason) == (pytest.approx(0.26), "manual_close")
