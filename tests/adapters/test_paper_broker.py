"""The paper broker: fills across the spread plus slippage, fees, clipping and every refusal."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import Broker, BrokerError
from adapters.paper import PaperBroker
from cockpit.config import PaperConfig
from cockpit.domain import OrderRequest, OrderSide, Tick

SYM = "SOL-PERP"
CFG = PaperConfig(taker_fee_bps=5.0, slippage_bps=2.0, half_spread_bps=1.0)
REL = 1e-12
_ids = itertools.count()


def order(
    side: OrderSide, size: float, *, reduce_only: bool = False, symbol: str = SYM
) -> OrderRequest:
    return OrderRequest(f"c{next(_ids)}", symbol, side, size, reduce_only, reason="test")


def broker_with(tick: Tick | None = None) -> PaperBroker:
    broker = PaperBroker(CFG)
    if tick is not None:
        broker.on_tick(tick)
    return broker


BOOK = Tick(SYM, 1_000, 100.0, bid=99.9, ask=100.1, source="mark")
NO_BOOK = Tick(SYM, 2_000, 100.0, source="last")


def test_is_a_broker() -> None:
    assert isinstance(PaperBroker(CFG), Broker)
    assert PaperBroker(CFG).venue == "paper"
    assert PaperBroker(CFG, venue="paper-2").venue == "paper-2"


async def test_buy_fills_at_ask_plus_slippage_with_fee() -> None:
    broker = broker_with(BOOK)
    req = order(OrderSide.BUY, 2.0)
    fill = await broker.open(req)
    assert fill.price == pytest.approx(100.1 * 1.0002, rel=REL)
    assert fill.size == 2.0
    assert fill.fee == pytest.approx(2.0 * 100.1 * 1.0002 * 5e-4, rel=REL)
    assert fill.ts_ms == 1_000 and fill.price_source == "mark"
    assert fill.client_order_id == req.client_order_id and fill.side is OrderSide.BUY
    assert not fill.reduce_only and fill.reason == "test" and fill.symbol == SYM
    assert broker.positions() == {SYM: 2.0}


async def test_sell_fills_at_bid_minus_slippage() -> None:
    broker = broker_with(BOOK)
    fill = await broker.open(order(OrderSide.SELL, 0.5))
    assert fill.price == pytest.approx(99.9 * 0.9998, rel=REL)
    assert fill.fee == pytest.approx(0.5 * 99.9 * 0.9998 * 5e-4, rel=REL)
    assert broker.positions() == {SYM: -0.5}


async def test_without_bid_ask_the_half_spread_is_applied() -> None:
    broker = broker_with(NO_BOOK)
    buy = await broker.open(order(OrderSide.BUY, 1.0))
    assert buy.price == pytest.approx(100.0 * 1.0001 * 1.0002, rel=REL)
    sell = await broker.close(order(OrderSide.SELL, 1.0, reduce_only=True))
    assert sell.price == pytest.approx(100.0 * 0.9999 * 0.9998, rel=REL)
    assert sell.reduce_only and sell.price_source == "last" and sell.ts_ms == 2_000
    assert broker.positions() == {}


async def test_zero_cost_config_fills_at_the_quote() -> None:
    broker = PaperBroker(PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0))
    broker.on_tick(NO_BOOK)
    fill = await broker.open(order(OrderSide.BUY, 1.0))
    assert fill.price == 100.0 and fill.fee == 0.0


async def test_the_latest_tick_is_used_per_symbol() -> None:
    broker = broker_with(BOOK)
    broker.on_tick(Tick("BTC-PERP", 5, 50_000.0))
    broker.on_tick(Tick(SYM, 3_000, 110.0, bid=109.0, ask=111.0))
    fill = await broker.open(order(OrderSide.BUY, 1.0))
    assert fill.price == pytest.approx(111.0 * 1.0002, rel=REL) and fill.ts_ms == 3_000
    assert broker.last_tick("BTC-PERP") == Tick("BTC-PERP", 5, 50_000.0)


async def test_reduce_only_larger_than_the_position_is_clipped() -> None:
    broker = broker_with(BOOK)
    await broker.open(order(OrderSide.BUY, 2.0))
    partial = await broker.close(order(OrderSide.SELL, 0.5, reduce_only=True))
    assert partial.size == 0.5 and broker.positions() == {SYM: 1.5}
    fill = await broker.close(order(OrderSide.SELL, 5.0, reduce_only=True))
    assert fill.size == 1.5
    assert fill.fee == pytest.approx(1.5 * fill.price * 5e-4, rel=REL)
    assert broker.positions() == {}


async def test_short_is_reduced_by_a_buy() -> None:
    broker = broker_with(BOOK)
    await broker.open(order(OrderSide.SELL, 3.0))
    fill = await broker.close(order(OrderSide.BUY, 4.0, reduce_only=True))
    assert fill.size == 3.0 and fill.price == pytest.approx(100.1 * 1.0002, rel=REL)
    assert broker.positions() == {}


async def test_float_dust_does_not_leave_a_crumb() -> None:
    broker = broker_with(BOOK)
    for _ in range(3):
        await broker.open(order(OrderSide.BUY, 0.1))  # 0.30000000000000004
    fill = await broker.close(order(OrderSide.SELL, 0.3, reduce_only=True))
    assert broker.positions() == {}
    assert fill.size == pytest.approx(0.3, rel=1e-12)


async def test_a_retried_client_order_id_fills_once() -> None:
    broker = broker_with(BOOK)
    req = order(OrderSide.BUY, 1.0)
    first = await broker.open(req)
    broker.on_tick(Tick(SYM, 9_000, 120.0))
    assert await broker.open(req) == first
    assert broker.positions() == {SYM: 1.0}
    other = OrderRequest(req.client_order_id, SYM, OrderSide.BUY, 2.0, False, "test")
    with pytest.raises(BrokerError, match="already used"):
        await broker.open(other)


async def test_weeks_of_orders_keep_only_the_recent_ones_for_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cockpit runs for weeks: the retry memory is bounded, the newest orders stay in it."""
    import adapters.paper as paper

    monkeypatch.setattr(paper, "REMEMBERED_ORDERS", 4)
    broker = broker_with(BOOK)
    sent = []
    for _ in range(10):
        buy, sell = order(OrderSide.BUY, 1.0), order(OrderSide.SELL, 1.0, reduce_only=True)
        sent.append((buy, await broker.open(buy)))
        sent.append((sell, await broker.close(sell)))
    assert len(broker._done) == 4
    for req, fill in sent[-4:]:  # a late retry of a recent order still gets its own fill
        again = await (broker.close(req) if req.reduce_only else broker.open(req))
        assert again == fill
    assert broker.positions() == {}


def test_adopt_position_after_restart() -> None:
    broker = broker_with(BOOK)
    broker.adopt_position(SYM, -1.25)
    assert broker.positions() == {SYM: -1.25}
    broker.adopt_position(SYM, 0.0)
    assert broker.positions() == {}


def test_positions_is_a_copy() -> None:
    broker = broker_with(BOOK)
    broker.adopt_position(SYM, 1.0)
    broker.positions()[SYM] = 99.0
    assert broker.positions() == {SYM: 1.0}


# ------------------------------------------------------------------------- refusals


async def test_refuses_without_a_price() -> None:
    broker = broker_with(Tick("BTC-PERP", 1, 50_000.0))
    with pytest.raises(BrokerError, match="no price yet for SOL-PERP"):
        await broker.open(order(OrderSide.BUY, 1.0))


@pytest.mark.parametrize("size", [0.0, -1.0, float("nan"), float("inf")])
async def test_refuses_a_non_positive_size(size: float) -> None:
    broker = broker_with(BOOK)
    with pytest.raises(BrokerError, match="size must be positive"):
        await broker.open(order(OrderSide.BUY, size))
    broker.adopt_position(SYM, 1.0)
    with pytest.raises(BrokerError, match="size must be positive"):
        await broker.close(order(OrderSide.SELL, size, reduce_only=True))


async def test_close_refuses_a_non_reduce_only_order() -> None:
    broker = broker_with(BOOK)
    broker.adopt_position(SYM, 1.0)
    with pytest.raises(BrokerError, match="reduce_only=True"):
        await broker.close(order(OrderSide.SELL, 1.0))
    assert broker.positions() == {SYM: 1.0}


async def test_open_refuses_a_reduce_only_order() -> None:
    broker = broker_with(BOOK)
    broker.adopt_position(SYM, 1.0)
    with pytest.raises(BrokerError, match="reduce-only"):
        await broker.open(order(OrderSide.SELL, 1.0, reduce_only=True))
    assert broker.positions() == {SYM: 1.0}


async def test_reduce_only_without_a_position_is_refused() -> None:
    broker = broker_with(BOOK)
    with pytest.raises(BrokerError, match="no position to reduce"):
        await broker.close(order(OrderSide.SELL, 1.0, reduce_only=True))


async def test_reduce_only_on_the_wrong_side_is_refused() -> None:
    broker = broker_with(BOOK)
    await broker.open(order(OrderSide.BUY, 1.0))
    with pytest.raises(BrokerError, match="would add to the long"):
        await broker.close(order(OrderSide.BUY, 1.0, reduce_only=True))
    assert broker.positions() == {SYM: 1.0}


# ------------------------------------------------------------------------- property

sizes = st.floats(min_value=1e-6, max_value=1e4, allow_nan=False, allow_infinity=False)
ops = st.lists(
    st.tuples(st.sampled_from(["open", "reduce"]), st.sampled_from(list(OrderSide)), sizes),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops)
async def test_reduce_only_never_flips_or_grows_the_position(
    steps: list[tuple[str, OrderSide, float]],
) -> None:
    broker = broker_with(BOOK)
    for kind, side, size in steps:
        before = broker.positions().get(SYM, 0.0)
        if kind == "open":
            await broker.open(order(side, size))
            continue
        try:
            fill = await broker.close(order(side, size, reduce_only=True))
        except BrokerError:
            assert broker.positions().get(SYM, 0.0) == before  # a refusal changes nothing
            continue
        after = broker.positions().get(SYM, 0.0)
        assert before != 0
        assert after == 0 or (after > 0) == (before > 0), "a reduce-only order flipped"
        assert abs(after) < abs(before)
        assert 0 < fill.size <= size or fill.size == pytest.approx(abs(before), rel=1e-9)
        assert fill.size <= abs(before)
