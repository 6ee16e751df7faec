"""Reconcile on start against the offline Drift: the database's open positions and stop rows
set against the venue's positions and trigger orders. Every difference is shown (event log and
audit table), unknown venue positions are adopted as external, and nothing is silently fixed."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from driftpy.types import OrderStatus

from cockpit.domain import Mode, Side, StopRole
from cockpit.session import EntryPending, OrderRejected
from tests.cockpit.drift_rig import SYMBOL, Rig, drift_config, open_rig, restart
from tests.fakes.drift_harness import Harness, RpcDown


def audit(r: Rig, kind: str = "reconcile") -> list[tuple[str, str]]:
    return r.rows(f"SELECT action, reason FROM audit_events WHERE kind = '{kind}' ORDER BY id")


def cancel_on_chain(h: Harness) -> None:
    """The trader cancels the stop in Drift's own UI while the cockpit is off."""
    for i, order in enumerate(h.chain.user.orders):
        if type(order.status).__name__ == "Open":
            h.chain.user.orders[i] = dataclasses.replace(order, status=OrderStatus.Canceled())


def sent_names(r: Rig) -> list[str]:
    return [ix.name for ix in r.h.sender.drift_ixs()]


async def live_position(tmp_path: Path) -> tuple[Rig, int, int]:
    """A live long of 0.26 SOL @ 150 with its stop on chain; returns (rig, trade id, uoid)."""
    r = await open_rig(
        tmp_path / "r.db", config=drift_config(backoff_initial_s=0.01, backoff_max_s=0.02)
    )
    await r.session.enter_live("LIVE")
    pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    await r.settle()
    [(uoid, _)] = r.chain_stops()
    assert pos.trade_id is not None
    return r, pos.trade_id, uoid


async def test_a_restart_finds_its_stop_and_moves_it_in_place(tmp_path: Path) -> None:
    r, trade_id, uoid = await live_position(tmp_path)
    r = await restart(r)
    try:
        assert any("agree with the database" in e for e in r.events())
        assert audit(r) == []
        assert r.session.venue_alerts() == {}
        [pos] = r.session.latest.positions
        assert pos.trade_id == trade_id and pos.venue == "drift"
        before = len(r.h.sender.sent)
        await r.price(151.0)  # breakeven
        await r.settle()
        [ix] = [ix for tx in r.h.sender.sent[before:] for ix in tx.instructions]
        assert ix.name == "modify_order_by_user_id" and ix.args["user_order_id"] == uoid
        assert r.chain_stops() == [(uoid, 150.0)]
    finally:
        await r.session.stop()


async def test_a_stop_missing_at_start_is_shown_and_placed_only_when_asked(
    tmp_path: Path,
) -> None:
    r, trade_id, uoid = await live_position(tmp_path)
    cancel_on_chain(r.h)
    r = await restart(r)
    try:
        assert any("no stop on the venue" in e for e in r.events())
        assert [a for a, _ in audit(r)] == ["stop_missing"]
        assert r.session.venue_alerts() == {trade_id: "no chain SL"}
        before = len(r.h.sender.sent)
        await r.settle()
        await r.price(150.5)
        await r.settle()
        assert len(r.h.sender.sent) == before, "never fixed behind the trader's back"

        await r.session.put_stop_on_chain(trade_id)
        assert r.chain_stops() == [(uoid, 147.75)], "the same row and user_order_id"
        assert r.session.venue_alerts() == {}
        assert audit(r, "manual_action")[-1][0].startswith(f"put the on-chain stop of #{trade_id}")
    finally:
        await r.session.stop()


async def test_a_stop_at_another_price_is_shown_and_moved_only_when_asked(
    tmp_path: Path,
) -> None:
    r, trade_id, uoid = await live_position(tmp_path)
    for i, order in enumerate(r.h.chain.user.orders):  # moved by hand on Drift meanwhile
        if type(order.status).__name__ == "Open":
            r.h.chain.user.orders[i] = dataclasses.replace(order, trigger_price=140_000_000)
    r = await restart(r)
    try:
        assert [a for a, _ in audit(r)] == ["stop_price_mismatch"]
        assert "on chain at 140" in (r.session.venue_note(trade_id) or "")
        await r.settle()
        assert r.chain_stops() == [(uoid, 140.0)]
        await r.session.put_stop_on_chain(trade_id)
        assert r.chain_stops() == [(uoid, 147.75)]
        assert sent_names(r)[-1] == "modify_order_by_user_id", "moved in place, not doubled"
    finally:
        await r.session.stop()


def external_long(h: Harness) -> None:
    """0.5 SOL long @ 140 opened elsewhere, with a reduce-only stop at 135 (user_order_id 7)."""
    h.chain.set_position(500_000_000, 140.0)
    h.chain.add_trigger_order(7, long_position=True, trigger=135.0, base=500_000_000)


async def test_an_unknown_venue_position_is_adopted_as_external_and_monitored(
    tmp_path: Path,
) -> None:
    r = await open_rig(tmp_path / "x.db", prepare=external_long)
    try:
        [pos] = r.session.latest.positions
        assert (pos.side, pos.size, pos.entry) == (Side.LONG, 0.5, pytest.approx(140.0))
        assert (pos.plan.policy, pos.mode, pos.venue) == ("external", Mode.LIVE_SMALL, "drift")
        assert (pos.stop, pos.stop_role) == (135.0, StopRole.MANUAL_STOP)
        assert [a for a, _ in audit(r)] == ["external_position", f"adopt external {SYMBOL}"]
        assert r.rows("SELECT policy, status, venue FROM trades") == [("external", "open", "drift")]
        assert r.session.venue_alerts() == {}

        await r.price(170.0)  # +21 %: no target of the cockpit's on a trade it did not plan
        await r.settle()
        assert r.h.sender.sent == []
        assert pos.mfe_pct == pytest.approx(100 * 30 / 140)

        await r.session.enter_live("LIVE")
        with pytest.raises(OrderRejected, match="already long SOL-PERP #1"):
            await r.session.open_position(SYMBOL, Side.LONG, 40, 2)  # the limit counts it

        await r.session.move_stop(pos.trade_id or 0, 160.0)
        await r.settle()
        assert r.chain_stops() == [(7, 160.0)], "its own stop, moved in place"
        await r.price(159.0)
        await r.settle()
        assert pos.closed and r.chain_size() == 0
        assert r.rows("SELECT exit_reason FROM trades") == [("manual_stop",)]
        await r.session.analytics_settled()
        analytics = r.session.latest.analytics
        assert analytics is not None and analytics.trades == 0, "not the strategy's trade"
    finally:
        await r.session.stop()


async def test_a_position_closed_outside_the_cockpit_is_listed_and_never_acted_on(
    tmp_path: Path,
) -> None:
    r, trade_id, _ = await live_position(tmp_path)
    r.h.chain.set_position(0, 150.0)
    cancel_on_chain(r.h)
    r = await restart(r)
    try:
        assert [a for a, _ in audit(r)] == ["missing_on_venue"]
        assert r.session.venue_alerts() == {trade_id: "venue differs"}
        before = len(r.h.sender.sent)
        await r.price(160.0)  # through TP1 and TP2 of the database's position
        await r.price(140.0)  # and through its stop
        await r.settle()
        assert len(r.h.sender.sent) == before
        with pytest.raises(OrderRejected, match="venue has no position"):
            await r.session.move_stop(trade_id, 149.0)
        assert r.rows("SELECT status FROM trades") == [("open",)], "shown, not fixed"
    finally:
        await r.session.stop()


async def test_a_size_that_differs_is_listed_and_never_acted_on(tmp_path: Path) -> None:
    r, trade_id, _ = await live_position(tmp_path)
    r.h.chain.set_position(500_000_000, 150.0)  # added to on Drift meanwhile
    r = await restart(r)
    try:
        assert [a for a, _ in audit(r)] == ["size_mismatch"]
        assert r.session.venue_alerts() == {trade_id: "venue differs"}
        before = len(r.h.sender.sent)
        await r.price(153.0)
        await r.settle()
        assert len(r.h.sender.sent) == before
    finally:
        await r.session.stop()


async def test_an_entry_unconfirmed_at_a_crash_is_resumed_from_its_row(
    tmp_path: Path,
) -> None:
    """(More cases in test_session_drift_resume.py.) The fill found at restart opens the
    position the entry's row planned: no external adoption, nothing to reconcile."""
    r = await open_rig(tmp_path / "c.db")
    await r.session.enter_live("LIVE")
    r.h.chain.fill_market_orders = False
    with pytest.raises(EntryPending):
        await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    r.h.chain.fill_resting_market_orders()  # it filled while the cockpit was gone
    r = await restart(r)
    try:
        assert r.rows("SELECT status FROM orders WHERE order_type = 'market'") == [("filled",)]
        [pos] = r.session.latest.positions
        assert pos.plan.policy == "fixed" and pos.size == pytest.approx(0.26)
        assert audit(r) == []
    finally:
        await r.session.stop()


async def test_a_venue_unreadable_at_start_is_retried_and_nothing_is_managed_meanwhile(
    tmp_path: Path,
) -> None:
    r, trade_id, uoid = await live_position(tmp_path)
    r.h.user.fail_fetches = [RpcDown("HTTP 503: node is behind")] * 3
    r = await restart(r)
    try:
        assert "could not be reconciled" in (r.session.live_precondition() or "")
        assert any("could not be reconciled" in e for e in r.events())
        sent = len(r.h.sender.sent)
        await r.price(152.5)  # TP1 of the restored position: not acted on, not known yet
        assert len(r.h.sender.sent) == sent
        for _ in range(3000):
            if r.session.live_precondition() is None:
                break
            await asyncio.sleep(0.01)
        assert r.session.live_precondition() is None
        assert any("reconciled: its positions are managed again" in e for e in r.events())
        assert len(r.h.sender.sent) == sent
        await r.price(152.6)  # now it is managed: TP1
        [pos] = r.session.latest.positions
        assert pos.size == pytest.approx(0.07) == pytest.approx(r.chain_size())
        assert r.chain_stops()[0][0] == uoid and pos.trade_id == trade_id
    finally:
        await r.session.stop()
