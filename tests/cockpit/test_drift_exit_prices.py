"""Exit prices on Drift net of funding and settled P&L (issue 13, item 7).

A fill is read from the change of the position's quote amount. Before every fill the program
settles the position's funding into that amount, and a keeper's settle-PnL moves P&L out of it
into the USDC balance; both are taken out again, so a close or an on-chain stop after a long hold
is priced at its fill. The offline chain settles funding and P&L as the program does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.drift.fills import PositionMark, funding_payment, net_quote_delta
from cockpit.domain import OrderRequest, OrderSide, Side
from tests.cockpit.drift_rig import SYMBOL, new_wallet, open_rig
from tests.fakes.drift_harness import make_harness

LONGS_PAY_HALF_A_DOLLAR = 1_923_076_923
"""A cumulative funding rate move (x1e9 quote per base) that costs a 0.26 SOL long 0.50 USDC."""


def test_funding_payment_follows_the_program() -> None:
    assert funding_payment(LONGS_PAY_HALF_A_DOLLAR, 260_000_000) == -499_999  # longs pay
    assert funding_payment(LONGS_PAY_HALF_A_DOLLAR, -260_000_000) == 499_999  # shorts receive
    assert funding_payment(-LONGS_PAY_HALF_A_DOLLAR, 260_000_000) == 499_999
    assert funding_payment(0, 260_000_000) == 0


def test_the_net_quote_delta_takes_out_funding_and_settled_pnl() -> None:
    before = PositionMark(260_000_000, -39_000_000, 0, 0)
    # sold all at 148: +38.48 quote, less 0.50 funding paid at the fill, 1.00 settled earlier
    after = PositionMark(0, -39_000_000 + 38_480_000 - 500_000 - 1_000_000, 1_000_000, 0)

    class Market:
        class amm:  # the account's field name
            cumulative_funding_rate_long = 1_923_076_923
            cumulative_funding_rate_short = 1_923_076_923

    # the trade's 38.48, less one micro-dollar the program's integer division keeps
    assert net_quote_delta(before, after, Market) == 38_479_999
    assert net_quote_delta(before, after, None) == 38_480_000 - 500_000  # no market: raw


async def test_a_close_after_funding_is_priced_at_its_fill() -> None:
    h = make_harness(new_wallet())
    await h.broker.open(OrderRequest("o1", SYMBOL, OrderSide.BUY, 0.26, False, "entry"))
    h.chain.fund(0, LONGS_PAY_HALF_A_DOLLAR)  # an hour of funding: the long owes 0.50
    h.set_oracle(152.0)  # the market accounts are read again (with their funding rates)
    await h.broker.refresh()
    fill = await h.broker.close(OrderRequest("c1", SYMBOL, OrderSide.SELL, 0.26, True, "tp1"))
    assert fill.price == pytest.approx(152.0, abs=1e-5), "the funding is not the trade's price"
    assert fill.fee == pytest.approx(0.26 * 152.0 * 3.5e-4, abs=1e-5)


async def test_an_on_chain_stop_after_funding_and_a_settle_pnl_is_priced_at_its_fill(
    tmp_path: Path,
) -> None:
    r = await open_rig(tmp_path / "f.db")
    try:
        await r.session.enter_live("LIVE")
        pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
        await r.settle()
        assert [t for _, t in r.chain_stops()] == [147.75]
        await r.price(149.0)
        r.h.chain.fund(0, LONGS_PAY_HALF_A_DOLLAR)  # funding while the position is held
        assert r.h.chain.settle_pnl(0) < 0, "a keeper settles the (losing) P&L meanwhile"
        await r.settle()
        r.h.chain.fund(0, LONGS_PAY_HALF_A_DOLLAR)  # and more funding before the stop
        await r.price(147.7)  # the stop fires on chain and fills at the oracle, 147.70
        await r.settle()
        assert pos.closed and r.chain_size() == 0
        [(price, size)] = r.rows("SELECT price, size FROM fills WHERE reason = 'stop_loss'")
        assert size == pytest.approx(0.26)
        assert price == pytest.approx(147.70, abs=1e-4)
        [(exit_price,)] = r.rows("SELECT exit_price FROM trades")
        assert exit_price == pytest.approx(147.70, abs=1e-4)
    finally:
        await r.session.stop()
