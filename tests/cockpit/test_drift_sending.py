"""Sending on Drift (issue 13, item 2): a priority fee and a compute-unit limit on every
transaction, a deadline per send, no lock held while it runs, a poll loop that never waits for
it, and a landed transaction's error read and turned into a rejection with its reason.

Everything goes through the broker's real sender to the fake JSON-RPC at the wire
(tests/fakes/drift_rpc.py); the rig's clock only moves when the code under test sleeps, so a
deadline is reached by the code's own waits, never by a wall-clock race.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adapters.base import BrokerError
from adapters.drift import OrderNotConfirmed
from cockpit.config import DriftConfig
from cockpit.domain import OrderRequest, OrderSide, Side
from tests.cockpit.drift_rig import SYMBOL, drift_config, new_wallet, open_rig
from tests.fakes.drift_harness import CLOSED_RPC, make_harness


def buy(cid: str = "o1", size: float = 0.25) -> OrderRequest:
    return OrderRequest(cid, SYMBOL, OrderSide.BUY, size, False, "entry")


def config(**over: object) -> DriftConfig:
    values: dict[str, object] = {"rpc_url": CLOSED_RPC, "confirm_timeout_s": 5}
    values.update(over)
    return DriftConfig(**values)  # type: ignore[arg-type]


async def test_every_transaction_carries_the_priority_fee_and_compute_unit_limit() -> None:
    h = make_harness(
        new_wallet(),
        config=config(compute_unit_limit=250_000, priority_fee_micro_lamports=12_345),
    )
    await h.broker.open(buy())
    [tx] = h.sender.sent
    assert (tx.compute_unit_limit, tx.compute_unit_price) == (250_000, 12_345)
    assert h.broker.last_priority_fee == 12_345
    assert h.sender.requests["getRecentPrioritizationFees"] == 0, "a fixed fee reads nothing"


@pytest.mark.parametrize(
    ("fees", "expected"),
    [
        ([100, 4_000, 6_000, 90_000], 6_000),  # the 75th percentile
        ([10, 20, 30], 1_000),  # never below the fixed fee
        ([500_000] * 4, 50_000),  # never above the cap
        ([], 1_000),  # no recent fees: the fixed fee
    ],
)
async def test_a_percentile_priority_fee_follows_recent_fees_within_floor_and_cap(
    fees: list[int], expected: int
) -> None:
    h = make_harness(
        new_wallet(),
        config=config(
            priority_fee_micro_lamports=1_000,
            priority_fee_percentile=75,
            priority_fee_max_micro_lamports=50_000,
        ),
    )
    h.sender.fees = fees
    await h.broker.open(buy())
    assert h.sender.sent[-1].compute_unit_price == expected
    [accounts] = h.sender.fee_accounts
    user = str(h.client.get_user_account_public_key(0))
    assert user in accounts, "priced on the account every order writes"


async def test_a_transaction_that_lands_with_an_error_is_a_rejection_with_its_reason() -> None:
    h = make_harness(new_wallet())
    h.sender.failures = ["error:InsufficientCollateral"]
    with pytest.raises(BrokerError, match=r"InsufficientCollateral \(6003\): Insufficient"):
        await h.broker.open(buy())
    [tx] = h.sender.sent
    assert tx.landed and tx.error == "InsufficientCollateral"
    assert h.chain.base() == 0, "nothing happened on chain"
    assert len(h.sender.sent) == 1, "a refusal is not sent again"


async def test_a_failed_simulation_is_a_rejection_with_its_reason() -> None:
    h = make_harness(new_wallet())
    h.chain.set_position(330_000_000, 150.0)
    await h.broker.refresh()
    taken = h.broker.user_order_id("s1")
    # the trader's own order with that id lands after the cockpit's last read of the account
    h.chain.add_trigger_order(taken, long_position=True, trigger=140.0, base=330_000_000)
    with pytest.raises(BrokerError, match=r"UserOrderIdAlreadyInUse \(6071\)"):
        await h.broker.place_stop("s1", SYMBOL, Side.LONG, 147.0)
    [tx] = h.sender.sent
    assert not tx.landed and "UserOrderIdAlreadyInUse" in (tx.error or "")


async def test_a_send_that_never_confirms_ends_at_its_deadline_and_is_never_resent() -> None:
    h = make_harness(new_wallet(), config=config(send_deadline_s=7))
    h.sender.failures = ["dropped"]
    with pytest.raises(OrderNotConfirmed, match="not confirmed within 7 s") as err:
        await h.broker.open(buy())
    assert sum(h.sleeps) == pytest.approx(7), "the deadline, read on the broker's clock"
    placed = err.value.placed
    [tx] = h.sender.sent
    assert placed.tx_sig == tx.signature and not tx.landed
    assert h.sender.broadcasts > 1, "the same bytes rebroadcast while waiting"
    assert await h.broker.attempt_state(placed) == ("pending", "")
    h.chain.slot += 200  # past the blockhash's last valid block height
    assert await h.broker.attempt_state(placed) == ("expired", "")


async def test_a_hung_send_holds_no_lock_and_the_poll_loop_runs_on(tmp_path: Path) -> None:
    cfg = drift_config(send_deadline_s=0.5, rebroadcast_s=0.2, signature_poll_s=0.1)
    r = await open_rig(tmp_path / "h.db", config=cfg)
    try:
        session = r.session
        await session.enter_live("LIVE")
        pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
        await r.settle()
        assert r.chain_stops() != []
        # The RPC never answers the close's broadcast; a rebroadcast is taken, never lands.
        r.h.sender.failures = ["hang", "dropped"]
        closing = asyncio.ensure_future(session.close_position(pos.trade_id or 0))
        for _ in range(3000):
            if r.h.sender.hanging:
                break
            await asyncio.sleep(0.01)
        assert r.h.sender.hanging == 1, "the close is being sent"
        assert not session.router.order_lock.locked(), "no lock held across a send"
        assert not r.h.broker._lock.locked()
        assert session.venue_alerts() == {pos.trade_id: "exit placed"}
        assert await asyncio.wait_for(r.venue.poll_once(), 60), "the poll loop is not held"
        await asyncio.wait_for(closing, 60)  # the deadline passed: placed, watched
        rows = r.rows("SELECT reason, status FROM orders WHERE order_type = 'market'")
        assert rows[-1] == ("manual_close", "submitted")
        assert not pos.closed and r.chain_size() == pytest.approx(0.26)
        assert session.venue_alerts() == {pos.trade_id: "exit placed"}
        r.h.sender.release()
    finally:
        await r.session.stop()


async def test_an_engine_exit_that_never_lands_expires_and_goes_out_again_with_backoff(
    tmp_path: Path,
) -> None:
    r = await open_rig(tmp_path / "e.db")
    try:
        session = r.session
        await session.enter_live("LIVE")
        pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
        await r.settle()
        r.h.chain.fire_triggers = lambda: 0  # type: ignore[method-assign]  # no keeper fires
        r.h.sender.failures = ["dropped"]  # the software stop's close never lands
        await r.price(147.5)
        await r.price(147.4, advance_ms=6_000)  # past stop_grace_s: the software stop closes
        rows = r.rows("SELECT reason, status FROM orders WHERE order_type = 'market'")
        assert rows[-1] == ("stop_loss", "submitted") and not pos.closed
        r.clock.now += 120_000
        r.h.chain.slot += 200  # its blockhash can no longer land
        await r.settle()
        rows = r.rows("SELECT reason, status FROM orders WHERE order_type = 'market'")
        assert rows[-1] == ("stop_loss", "expired")
        assert any("exit (stop_loss) failed" in e for e in r.events())
        assert session.venue_alerts() == {pos.trade_id: "exit failing"}
        await r.price(147.3, advance_ms=0)  # within the backoff: not sent again yet
        assert len(r.rows("SELECT id FROM orders WHERE reason = 'stop_loss'")) == 1
        await r.price(147.3, advance_ms=2_000)  # after it: a new order, which lands
        assert pos.closed and r.chain_size() == 0
        assert r.rows("SELECT status FROM orders WHERE reason = 'stop_loss' ORDER BY id") == [
            ("expired",),
            ("filled",),
        ]
    finally:
        await r.session.stop()
