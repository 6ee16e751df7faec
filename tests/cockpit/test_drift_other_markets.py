"""A sub-account that holds more than the cockpit trades (issue 13, item 1).

driftpy puts the accounts of every market the user touches into each instruction, and the
program refuses an instruction without them. With another collateral (a SOL deposit, spot
market 1) or a position in another market (BTC-PERP, perp market 1) the client must hold those
markets too, or no stop and no close can even be built. The cockpit reads the user account first,
subscribes to every market it touches, and subscribes anew when that set changes. A position in a
market the cockpit does not manage is listed as external and never acted on.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.drift.wallet import Wallet
from cockpit.domain import OrderRequest, OrderSide, Side
from tests.cockpit.drift_rig import SYMBOL, Rig, new_wallet, open_rig
from tests.fakes.drift_harness import DecodedIx, Harness, make_harness

BTC = 1  # BTC-PERP's perp market index, SOL's spot market index
SOL_SPOT = 1


def other_holdings(h: Harness) -> None:
    """A SOL deposit (spot market 1) and a long 0.01 BTC-PERP (perp market 1) opened on Drift."""
    h.chain.deposit(SOL_SPOT, 2_000_000_000)
    h.chain.set_position(10_000_000, 60_000.0, market_index=BTC)


def accounts_of(ix: DecodedIx, h: Harness) -> set[str]:
    names = {h.chain.perp_markets[i].pubkey: f"perp{i}" for i in h.chain.perp_markets}
    names |= {h.chain.spot_markets[i].pubkey: f"spot{i}" for i in h.chain.spot_markets}
    return {names[k] for k in ix.accounts if k in names}


@pytest.fixture
def wallet() -> Wallet:
    return new_wallet()


async def test_the_broker_subscribes_to_every_market_the_account_touches(wallet: Wallet) -> None:
    h = make_harness(wallet, connected=False)
    other_holdings(h)
    h.chain.set_position(330_000_000, 150.0)
    await h.broker.connect()
    assert h.subscribed_markets == ([0, BTC], [0, SOL_SPOT])

    placed = await h.broker.place_stop("s1", SYMBOL, Side.LONG, 147.0)
    [stop_ix] = h.sender.drift_ixs()
    assert {"perp0", "perp1", "spot0", "spot1"} <= accounts_of(stop_ix, h)
    assert h.broker.stop_on_chain(placed.user_order_id)

    fill = await h.broker.close(OrderRequest("c1", SYMBOL, OrderSide.SELL, 0.33, True, "stop_loss"))
    assert fill.size == pytest.approx(0.33)
    assert h.chain.base() == 0
    assert h.chain.base(BTC) == 10_000_000, "the BTC-PERP position is never touched"


async def test_a_market_touched_later_is_subscribed_on_the_next_refresh(wallet: Wallet) -> None:
    h = make_harness(wallet)
    h.chain.set_position(330_000_000, 150.0)
    await h.broker.refresh()
    placed = await h.broker.place_stop("s1", SYMBOL, Side.LONG, 147.0)
    assert h.subscribed_markets == ([0], [0])

    other_holdings(h)  # the trader deposits SOL and opens BTC-PERP in Drift's own UI
    await h.broker.refresh()  # subscribes anew beside the caller; a send waits for it
    await h.broker.modify_stop(placed.user_order_id, 148.0)
    assert h.subscribed_markets == ([0, BTC], [0, SOL_SPOT])
    ix = h.sender.drift_ixs()[-1]
    assert ix.name == "modify_order_by_user_id"
    assert {"perp1", "spot1"} <= accounts_of(ix, h)
    assert [o.trigger_price for o in h.broker.open_orders()] == [148.0]


async def test_positions_in_other_markets_are_named_by_drift(wallet: Wallet) -> None:
    h = make_harness(wallet)
    other_holdings(h)
    await h.broker.refresh()
    [btc] = h.broker.positions()
    assert (btc.symbol, btc.side, btc.size) == ("BTC-PERP", Side.LONG, pytest.approx(0.01))
    assert btc.entry == pytest.approx(60_000.0)
    assert not h.broker.manages("BTC-PERP") and h.broker.manages(SYMBOL)


async def test_with_a_sol_deposit_and_a_btc_position_the_stop_goes_on_chain_and_a_close_fills(
    tmp_path: Path,
) -> None:
    r: Rig = await open_rig(tmp_path / "o.db", prepare=other_holdings, connected=False)
    try:
        session = r.session
        assert r.h.subscribed_markets == ([0, BTC], [0, SOL_SPOT])
        external = [e for e in r.events() if "BTC-PERP" in e]
        assert external and "not manage" in external[0] and "never acted on" in external[0]
        assert r.session.latest.positions == [], "BTC-PERP is listed, not adopted into the book"
        assert [p.symbol for p in r.venue.external_positions] == ["BTC-PERP"]
        assert r.rows("SELECT action FROM audit_events WHERE kind = 'reconcile'") == [
            ("unmanaged_position",)
        ]

        await session.enter_live("LIVE")
        pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
        await r.settle()
        [(_, trigger)] = r.chain_stops()
        assert trigger == 147.75
        assert session.venue_alerts() == {}

        await session.close_position(pos.trade_id or 0)
        await r.venue.idle()  # the stop is cancelled beside the close
        assert pos.closed
        assert r.chain_size() == 0
        assert r.chain_stops() == []
        assert r.h.chain.base(BTC) == 10_000_000
        markets = {
            int(ix.args["params"].market_index)
            for ix in r.h.sender.drift_ixs()
            if ix.name == "place_perp_order"
        }
        assert markets == {0}, "nothing is ever sent for BTC-PERP"
        assert r.rows("SELECT reason, status FROM orders ORDER BY id") == [
            ("entry", "filled"),
            ("stop", "cancelled"),
            ("manual_close", "filled"),
        ]
    finally:
        await r.session.stop()


async def test_an_external_position_opened_while_running_is_listed_once(tmp_path: Path) -> None:
    r = await open_rig(tmp_path / "l.db")
    try:
        await r.settle()
        assert r.venue.external_positions == []
        other_holdings(r.h)
        await r.settle()
        await r.settle()
        said = [e for e in r.events() if "BTC-PERP" in e]
        assert len(said) == 1 and "long 0.01" in said[0]
        for _ in range(1000):  # subscribing anew runs beside the poll loop
            if r.h.subscribed_markets == ([0, BTC], [0, SOL_SPOT]):
                break
            await asyncio.sleep(0.01)
        assert r.h.subscribed_markets == ([0, BTC], [0, SOL_SPOT])
        r.h.chain.set_position(0, 60_000.0, market_index=BTC)
        await r.settle()
        assert r.venue.external_positions == []
        assert any("BTC-PERP" in e and "closed" in e for e in r.events())
    finally:
        await r.session.stop()
