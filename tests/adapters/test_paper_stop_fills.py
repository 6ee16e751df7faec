"""Paper stops fill at the first price through the stop, on its executable side, never at the
stop level; and no order fills on a price older than the live cockpit allows."""

from __future__ import annotations

import itertools

import pytest

from adapters.base import BrokerError
from adapters.paper import PaperBroker
from cockpit.config import PaperConfig
from cockpit.domain import OrderRequest, OrderSide, Tick

SYM = "SOL/USDT:USDT"
CFG = PaperConfig(taker_fee_bps=5.0, slippage_bps=2.0, half_spread_bps=1.0)
_ids = itertools.count()


def order(side: OrderSide, size: float, *, reduce_only: bool) -> OrderRequest:
    return OrderRequest(f"s{next(_ids)}", SYM, side, size, reduce_only, reason="stop_loss")


@pytest.mark.parametrize(
    ("held", "exit_side", "gap_tick", "expected"),
    [
        # a long's stop at 147.75: the market gaps to 145 (bid 144.98); it fills at the bid
        (1.0, OrderSide.SELL, Tick(SYM, 2, 145.0, bid=144.98, ask=145.02, source="mark"), 144.98),
        # a short's stop at 152.25: the market gaps to 155 (ask 155.03); it fills at the ask
        (-1.0, OrderSide.BUY, Tick(SYM, 2, 155.0, bid=154.97, ask=155.03, source="mark"), 155.03),
        # no book on the tick: the price less (plus) half the assumed spread
        (1.0, OrderSide.SELL, Tick(SYM, 2, 145.0, source="last"), 145.0 * (1 - 1e-4)),
    ],
    ids=["long-gap", "short-gap", "no-book"],
)
async def test_a_gap_through_the_stop_fills_where_the_market_is(
    held: float, exit_side: OrderSide, gap_tick: Tick, expected: float
) -> None:
    broker = PaperBroker(CFG)
    broker.on_tick(Tick(SYM, 1, 150.0, bid=149.99, ask=150.01))
    broker.adopt_position(SYM, held)
    broker.on_tick(gap_tick)
    fill = await broker.close(order(exit_side, 1.0, reduce_only=True))
    slip = -2e-4 if exit_side is OrderSide.SELL else 2e-4
    assert fill.price == pytest.approx(expected * (1 + slip))
    assert fill.fee == pytest.approx(fill.price * 5e-4)
    assert fill.ts_ms == 2 and fill.price_source == gap_tick.source
    assert broker.positions() == {}


async def test_no_fill_on_a_stale_price_when_the_cockpit_is_live() -> None:
    now = [10_000]
    broker = PaperBroker(CFG, max_price_age_ms=5_000, clock=lambda: now[0])
    broker.on_tick(Tick(SYM, 9_000, 150.0, bid=149.99, ask=150.01))
    fill = await broker.open(order(OrderSide.BUY, 1.0, reduce_only=False))
    assert fill.price == pytest.approx(150.01 * 1.0002)
    now[0] = 20_000
    with pytest.raises(BrokerError, match="11s old; no fill on a stale price"):
        await broker.close(order(OrderSide.SELL, 1.0, reduce_only=True))
    broker.on_tick(Tick(SYM, 19_900, 149.0, bid=148.99, ask=149.01))
    assert (await broker.close(order(OrderSide.SELL, 1.0, reduce_only=True))).price < 149.0
    with pytest.raises(ValueError, match="go together"):
        PaperBroker(CFG, max_price_age_ms=1)
