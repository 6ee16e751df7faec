"""DriftBroker on a real DriftClient over the offline chain: the decoded instructions it sends.

Every assertion reads the instruction back from the signed transaction bytes with the IDL's
coder (tests/fakes/drift_harness.py), so what is checked is what Drift would execute.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from solders.keypair import Keypair

from adapters.base import Broker, BrokerError
from adapters.drift import (
    BASE_PRECISION,
    PRICE_PRECISION,
    DriftOracleFeed,
    OrderNotConfirmed,
    StopNotPlaced,
)
from adapters.drift.wallet import Wallet, wallet_from_text
from cockpit.domain import FeedState, OrderRequest, OrderSide, Side
from tests.fakes.drift_harness import Harness, RpcDown, make_harness

SYM = "SOL-PERP"


@pytest.fixture
def keypair() -> Keypair:
    return Keypair()


@pytest.fixture
def wallet(keypair: Keypair) -> Wallet:
    return wallet_from_text(json.dumps(list(bytes(keypair))), where="test")


@pytest.fixture
def h(wallet: Wallet) -> Harness:
    return make_harness(wallet)


def order(cid: str, side: OrderSide, size: float, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(cid, SYM, side, size, reduce_only, "tp1" if reduce_only else "entry")


def params(h: Harness, i: int = -1) -> Any:
    ix = h.sender.drift_ixs()[i]
    assert ix.name == "place_perp_order"
    return ix.args["params"]


def name(v: Any) -> str:
    return type(v).__name__


async def test_it_is_a_broker_for_the_drift_venue(h: Harness) -> None:
    assert isinstance(h.broker, Broker)
    assert h.broker.venue == "drift"
    assert (PRICE_PRECISION, BASE_PRECISION) == (10**6, 10**9)


async def test_market_open_sends_a_perp_market_order_rounded_down_to_the_step(h: Harness) -> None:
    fill = await h.broker.open(order("o1", OrderSide.BUY, 0.337))
    p = params(h)
    assert (name(p.order_type), name(p.market_type), name(p.direction)) == (
        "Market",
        "Perp",
        "Long",
    )
    assert p.market_index == 0
    assert p.base_asset_amount == 330_000_000  # 0.337 -> 0.33 (step 0.01), never up
    assert p.reduce_only is False
    assert 1 <= p.user_order_id <= 255
    assert h.chain.base() == 330_000_000
    assert fill.size == pytest.approx(0.33)
    assert fill.price == pytest.approx(150.0)
    assert fill.fee == pytest.approx(0.33 * 150 * 3.5e-4)


async def test_a_short_open_is_a_short_market_order(h: Harness) -> None:
    await h.broker.open(order("o1", OrderSide.SELL, 0.2))
    assert name(params(h).direction) == "Short"
    assert h.chain.base() == -200_000_000


async def test_an_open_below_the_minimum_is_refused_and_nothing_is_sent(h: Harness) -> None:
    with pytest.raises(BrokerError, match=r"below Drift's minimum order size 0\.01"):
        await h.broker.open(order("o1", OrderSide.BUY, 0.009))
    assert h.sender.sent == []


async def test_open_and_close_refuse_the_wrong_reduce_only_flag(h: Harness) -> None:
    with pytest.raises(BrokerError, match="exits go through close"):
        await h.broker.open(order("o1", OrderSide.BUY, 1, reduce_only=True))
    with pytest.raises(BrokerError, match="needs reduce_only=True"):
        await h.broker.close(order("o2", OrderSide.SELL, 1, reduce_only=False))
    assert h.sender.sent == []


async def test_partial_close_is_reduce_only_and_rounded_down(h: Harness) -> None:
    h.chain.set_position(500_000_000, 150.0)
    await h.user.fetch()
    fill = await h.broker.close(order("c1", OrderSide.SELL, 0.1789, reduce_only=True))
    p = params(h)
    assert name(p.direction) == "Short" and name(p.order_type) == "Market"
    assert p.reduce_only is True
    assert p.base_asset_amount == 170_000_000
    assert h.chain.base() == 330_000_000
    assert fill.size == pytest.approx(0.17) and fill.reduce_only


async def test_full_close_sends_exactly_the_position_even_with_float_residue(h: Harness) -> None:
    h.chain.set_position(-330_000_000, 150.0)
    await h.user.fetch()
    await h.broker.close(order("c1", OrderSide.BUY, 0.33000000000000004, reduce_only=True))
    p = params(h)
    assert (name(p.direction), p.reduce_only, p.base_asset_amount) == ("Long", True, 330_000_000)
    assert h.chain.base() == 0


async def test_a_close_leaving_a_crumb_below_the_minimum_is_refused(wallet: Wallet) -> None:
    h = make_harness(wallet, min_order_size=100_000_000)  # 0.1 SOL minimum, 0.01 step
    h.chain.set_position(330_000_000, 150.0)
    await h.user.fetch()
    with pytest.raises(
        BrokerError, match=r"would leave 0.03, below Drift's minimum order size 0.1"
    ):
        await h.broker.close(order("c1", OrderSide.SELL, 0.3, reduce_only=True))
    assert h.sender.sent == []
    assert h.chain.base() == 330_000_000


async def test_a_close_on_the_wrong_side_or_without_position_is_refused(h: Harness) -> None:
    with pytest.raises(BrokerError, match="no SOL-PERP position"):
        await h.broker.close(order("c1", OrderSide.SELL, 0.1, reduce_only=True))
    h.chain.set_position(100_000_000, 150.0)
    await h.user.fetch()
    with pytest.raises(BrokerError, match="would add to the long"):
        await h.broker.close(order("c2", OrderSide.BUY, 0.1, reduce_only=True))
    assert h.sender.sent == []


async def test_long_stop_is_a_reduce_only_trigger_market_below(h: Harness) -> None:
    h.chain.set_position(330_000_000, 150.0)
    await h.user.fetch()
    placed = await h.broker.place_stop("s1", SYM, Side.LONG, 147.75)
    p = params(h)
    assert (name(p.order_type), name(p.market_type)) == ("TriggerMarket", "Perp")
    assert (name(p.direction), name(p.trigger_condition)) == ("Short", "Below")
    assert p.reduce_only is True
    assert p.trigger_price == 147_750_000
    assert p.base_asset_amount == 330_000_000
    assert p.user_order_id == placed.user_order_id
    assert h.broker.stop_on_chain(placed.user_order_id)
    [venue_stop] = h.broker.open_orders()
    assert (venue_stop.kind, venue_stop.trigger_price, venue_stop.side) == (
        "stop",
        147.75,
        OrderSide.SELL,
    )


async def test_short_stop_triggers_above_and_buys(h: Harness) -> None:
    h.chain.set_position(-200_000_000, 150.0)
    await h.user.fetch()
    await h.broker.place_stop("s1", SYM, Side.SHORT, 152.5)
    p = params(h)
    assert (name(p.direction), name(p.trigger_condition), p.reduce_only) == ("Long", "Above", True)
    assert p.trigger_price == 152_500_000


async def test_stop_rounding_to_the_tick_never_loosens_it(h: Harness) -> None:
    h.chain.set_position(100_000_000, 150.0)
    await h.user.fetch()
    await h.broker.place_stop("s1", SYM, Side.LONG, 147.00001)
    assert params(h).trigger_price == 147_000_100  # up to the 0.0001 tick: tighter for a long


async def test_a_stop_through_the_oracle_is_refused(h: Harness) -> None:
    h.chain.set_position(100_000_000, 150.0)
    await h.user.fetch()
    with pytest.raises(StopNotPlaced, match="would trigger at once"):
        await h.broker.place_stop("s1", SYM, Side.LONG, 150.5)
    assert h.sender.sent == []


async def test_modify_moves_the_stop_in_one_instruction_keeping_the_user_order_id(
    h: Harness,
) -> None:
    h.chain.set_position(330_000_000, 150.0)
    await h.user.fetch()
    placed = await h.broker.place_stop("s1", SYM, Side.LONG, 147.0)
    old_order_id = h.broker.open_orders()[0].order_id
    await h.broker.modify_stop(placed.user_order_id, 149.0)
    ix = h.sender.drift_ixs()[-1]
    assert ix.name == "modify_order_by_user_id"
    assert ix.args["user_order_id"] == placed.user_order_id
    assert ix.args["modify_order_params"].trigger_price == 149_000_000
    assert len(h.sender.sent[-1].instructions) == 1  # no cancel + place: never without a stop
    [stop] = h.broker.open_orders()
    assert (stop.user_order_id, stop.trigger_price) == (placed.user_order_id, 149.0)
    assert stop.order_id != old_order_id  # Drift re-numbers a modified order


async def test_cancel_stop_by_user_order_id(h: Harness) -> None:
    h.chain.set_position(330_000_000, 150.0)
    await h.user.fetch()
    placed = await h.broker.place_stop("s1", SYM, Side.LONG, 147.0)
    await h.broker.cancel_stop(placed.user_order_id)
    ix = h.sender.drift_ixs()[-1]
    assert (ix.name, ix.args["user_order_id"]) == ("cancel_order_by_user_id", placed.user_order_id)
    assert h.broker.open_orders() == []
    sent = len(h.sender.sent)
    await h.broker.cancel_stop(placed.user_order_id)  # already gone: nothing sent
    assert len(h.sender.sent) == sent


async def test_a_lost_send_is_retried_with_the_same_user_order_id_and_fills_once(
    h: Harness,
) -> None:
    h.sender.failures = ["lost", None]
    fill = await h.broker.open(order("o1", OrderSide.BUY, 0.25))
    lost, landed = h.sender.sent
    assert (lost.landed, landed.landed) == (False, True)
    assert lost.signature == landed.signature, "the same signed bytes: it can land only once"
    first, second = (tx.instructions[0].args["params"] for tx in h.sender.sent)
    assert first.user_order_id == second.user_order_id
    assert first.base_asset_amount == second.base_asset_amount == 250_000_000
    assert h.chain.base() == 250_000_000
    assert fill.size == pytest.approx(0.25)
    assert sum(h.sleeps) >= h.config.rebroadcast_s, "rebroadcast after rebroadcast_s"


async def test_a_send_that_landed_but_errored_is_not_sent_again(h: Harness) -> None:
    h.sender.failures = ["landed"]
    fill = await h.broker.open(order("o1", OrderSide.BUY, 0.25))
    assert len(h.sender.sent) == 1
    assert h.chain.base() == 250_000_000
    assert fill.size == pytest.approx(0.25)


async def test_past_the_send_deadline_the_order_stays_placed_and_a_retry_reuses_its_id(
    h: Harness,
) -> None:
    h.sender.failures = ["lost"] * 100  # the RPC refuses every broadcast until the deadline
    request = order("o1", OrderSide.BUY, 0.25)
    with pytest.raises(OrderNotConfirmed, match="may still land") as err:
        await h.broker.open(request)
    uoid = err.value.placed.user_order_id
    assert err.value.placed.tx_sig == h.sender.sent[0].signature
    assert err.value.placed.last_valid_block_height > 0
    assert sum(h.sleeps) == pytest.approx(h.config.send_deadline_s), "the deadline, no more"
    assert h.chain.base() == 0
    assert {tx.signature for tx in h.sender.sent} == {err.value.placed.tx_sig}
    assert {tx.instructions[0].args["params"].user_order_id for tx in h.sender.sent} == {uoid}
    h.sender.failures = []
    await h.broker.open(request)  # the same order row again (its blockhash expired)
    assert h.sender.sent[-1].instructions[0].args["params"].user_order_id == uoid
    assert h.chain.base() == 250_000_000


async def test_a_retry_after_the_order_landed_late_sends_nothing(h: Harness) -> None:
    h.sender.failures = ["landed"] + ["lost"] * h.config.max_retries
    h.chain.fill_market_orders = False  # rests on the book: "placed", not filled
    request = order("o1", OrderSide.BUY, 0.25)
    placed = await h.broker.submit(request)
    assert h.broker.confirm(placed).status == "open"
    sent = len(h.sender.sent)
    again = await h.broker.submit(request)
    assert len(h.sender.sent) == sent and again.user_order_id == placed.user_order_id
    h.chain.fill_resting_market_orders()
    await h.broker.refresh()
    assert h.broker.confirm(placed).status == "filled"


async def test_a_sent_order_is_placed_until_the_account_shows_the_fill(h: Harness) -> None:
    h.chain.fill_market_orders = False
    placed = await h.broker.submit(order("o1", OrderSide.BUY, 0.25))
    assert h.broker.confirm(placed).status == "open"
    with pytest.raises(OrderNotConfirmed, match="stays placed"):
        await h.broker.wait_filled(placed, timeout_s=3)
    h.chain.fill_resting_market_orders()
    await h.broker.refresh()
    [conf] = h.broker.confirmations()
    assert conf.status == "filled" and conf.fill is not None
    assert conf.fill.size == pytest.approx(0.25)
    assert h.broker.confirmations() == []


async def test_a_stop_that_cannot_be_placed_raises_stop_not_placed(h: Harness) -> None:
    h.chain.set_position(330_000_000, 150.0)
    await h.user.fetch()
    h.sender.failures = ["lost"] * 100
    with pytest.raises(StopNotPlaced, match="not on chain") as err:
        await h.broker.place_stop("s1", SYM, Side.LONG, 147.0)
    assert "503" in str(err.value)
    h.sender.failures = []
    assert h.broker.open_orders() == []
    placed = await h.broker.place_stop("s1", SYM, Side.LONG, 147.0)  # the retry succeeds
    assert h.broker.stop_on_chain(placed.user_order_id)
    assert len(h.broker.open_orders()) == 1


async def test_distinct_orders_get_distinct_user_order_ids(h: Harness) -> None:
    h.chain.fill_market_orders = False
    ids = {
        (await h.broker.submit(order(f"o{i}", OrderSide.BUY, 0.01))).user_order_id
        for i in range(20)
    }
    assert len(ids) == 20


async def test_positions_report_the_venue_position(h: Harness) -> None:
    h.chain.set_position(-330_000_000, 151.5)
    await h.user.fetch()
    [pos] = h.broker.positions()
    assert (pos.symbol, pos.side, pos.size) == (SYM, Side.SHORT, 0.33)
    assert pos.entry == pytest.approx(151.5)


async def test_the_oracle_feed_yields_oracle_ticks_and_shows_rpc_trouble(h: Harness) -> None:
    feed = DriftOracleFeed(h.client, h.config, clock=lambda: 1_700_000_000_000, sleep=_no_sleep)
    ticks = feed.ticks(SYM)
    tick = await anext(ticks)
    assert (tick.price, tick.source, tick.symbol) == (150.0, "oracle", SYM)
    assert feed.status.state is FeedState.CONNECTED
    h.markets.fail_fetches = [RpcDown("429 Too Many Requests")] * 3
    h.chain.oracle_price, h.chain.slot = 151.25, h.chain.slot + 5
    tick = await anext(ticks)
    assert tick.price == 151.25
    assert await feed.candles(SYM, "1m") == []
    await feed.close()
    assert feed.status.state is FeedState.DOWN


async def test_the_feed_status_says_rate_limited_while_backing_off(h: Harness) -> None:
    seen: list[str] = []
    feed: DriftOracleFeed

    async def sleep(_: float) -> None:
        seen.append(f"{feed.status.state.value}|{feed.status.detail}")

    feed = DriftOracleFeed(h.client, h.config, clock=lambda: 0, sleep=sleep)
    h.markets.fail_fetches = [RpcDown("429 Too Many Requests")] * 3
    await anext(feed.ticks(SYM))
    assert seen[0].startswith("reconnecting|rate limited")
    assert seen[2].startswith("down|rate limited")


async def test_the_secret_never_reaches_the_logs(
    h: Harness, keypair: Keypair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h.sender.failures = ["lost", "landed"]
    await h.broker.open(order("o1", OrderSide.BUY, 0.25))
    await h.broker.place_stop("s1", SYM, Side.LONG, 147.0)
    raw = bytes(keypair)
    assert "broadcasting" in caplog.text and "failed" in caplog.text
    for form in (json.dumps(list(raw)), raw.hex(), str(list(raw[:32]))[1:-1]):
        assert form not in caplog.text
    assert str(keypair)[:20] not in caplog.text  # solders prints the secret as base58


def test_importing_the_adapter_does_not_import_driftpy() -> None:
    code = (
        "import sys, adapters.drift, adapters.drift.wallet, adapters.drift.reconcile\n"
        "print(any(m == 'driftpy' or m.startswith('driftpy.') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def _no_sleep(_: float) -> None:
    return None


def test_the_production_client_polls_exactly_the_configured_markets(wallet: Wallet) -> None:
    """No getProgramAccounts: explicit market and oracle lists; building makes no RPC call."""
    from adapters.drift import build_drift_client
    from cockpit.config import DriftConfig

    client = build_drift_client(DriftConfig(rpc_url="http://127.0.0.1:9"), wallet)
    sub = client.account_subscriber
    assert type(sub).__name__ == "PollingDriftClientAccountSubscriber"
    assert sub.perp_market_indexes == [0]
    assert sub.should_find_all_markets_and_oracles is False
    assert str(client.wallet.public_key) == wallet.public_key
