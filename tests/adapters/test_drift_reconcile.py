"""Reconcile on start: every difference between database and venue is reported, none fixed."""

from __future__ import annotations

from adapters.drift.reconcile import DifferenceKind, VenueOrder, VenuePosition, reconcile
from cockpit.domain import ExitPlan, OrderSide, PositionState, Side

SYM = "SOL-PERP"


def db_long(size: float = 0.33, stop: float = 147.75, trade_id: int = 7) -> PositionState:
    plan = ExitPlan(
        "fixed", Side.LONG, 150.0, size, stop, 150.75, 151.8, 150.6, 152.25, 0.75, 154.5, 0.25
    )
    return PositionState(
        SYM, Side.LONG, 150.0, size, size, 2.0, plan, stop, trade_id=trade_id, venue="drift"
    )


def stop(
    trigger: float = 147.75,
    uoid: int = 9,
    side: OrderSide = OrderSide.SELL,
    reduce_only: bool = True,
) -> VenueOrder:
    return VenueOrder(SYM, uoid, 100 + uoid, side, "stop", 0.33, reduce_only, trigger)


LONG = VenuePosition(SYM, Side.LONG, 0.33, 150.0)


def kinds(diffs: list) -> list[DifferenceKind]:  # type: ignore[type-arg]
    return [d.kind for d in diffs]


def test_matching_position_and_stop_report_nothing() -> None:
    assert reconcile([db_long()], [LONG], [stop()]) == []


def test_a_venue_position_unknown_to_the_database_is_external() -> None:
    [diff] = reconcile([], [LONG], [])
    assert diff.kind is DifferenceKind.EXTERNAL_POSITION
    assert "external" in diff.detail and diff.venue_value == 0.33


def test_a_position_in_a_market_the_cockpit_does_not_trade_is_unmanaged_not_adopted() -> None:
    btc = VenuePosition("BTC-PERP", Side.SHORT, 0.01, 60_000.0)
    btc_stop = VenueOrder("BTC-PERP", 0, 5, OrderSide.BUY, "stop", 0.01, True, 61_000.0)
    diffs = reconcile([], [LONG, btc], [btc_stop], managed={SYM})
    assert kinds(diffs) == [DifferenceKind.UNMANAGED_POSITION, DifferenceKind.EXTERNAL_POSITION]
    assert diffs[0].symbol == "BTC-PERP" and "never acted on" in diffs[0].detail
    # the trader's own stop in that market is theirs: no orphan reported
    assert reconcile([], [], [btc_stop], managed={SYM}) == []


def test_a_database_position_missing_on_the_venue() -> None:
    [diff] = reconcile([db_long()], [], [])
    assert diff.kind is DifferenceKind.MISSING_ON_VENUE and diff.trade_id == 7


def test_a_size_mismatch_is_reported_with_both_sizes() -> None:
    venue = VenuePosition(SYM, Side.LONG, 0.23, 150.0)
    [diff] = reconcile([db_long()], [venue], [stop()])
    assert diff.kind is DifferenceKind.SIZE_MISMATCH
    assert (diff.db_value, diff.venue_value) == (0.33, 0.23)


def test_a_size_within_the_tolerance_matches() -> None:
    venue = VenuePosition(SYM, Side.LONG, 0.3300000001, 150.0)
    assert reconcile([db_long()], [venue], [stop()], size_tolerance=0.005) == []


def test_a_missing_on_chain_stop() -> None:
    [diff] = reconcile([db_long()], [LONG], [])
    assert diff.kind is DifferenceKind.STOP_MISSING and "software stop" in diff.detail


def test_a_stop_on_the_wrong_side_does_not_protect() -> None:
    assert kinds(reconcile([db_long()], [LONG], [stop(side=OrderSide.BUY)])) == [
        DifferenceKind.STOP_MISSING
    ]


def test_a_stop_price_mismatch() -> None:
    [diff] = reconcile([db_long()], [LONG], [stop(trigger=146.0)])
    assert diff.kind is DifferenceKind.STOP_PRICE_MISMATCH
    assert (diff.db_value, diff.venue_value) == (147.75, 146.0)


def test_side_mismatch_extra_stops_not_reduce_only_and_orphans() -> None:
    short = VenuePosition(SYM, Side.SHORT, 0.33, 150.0)
    assert kinds(reconcile([db_long()], [short], [])) == [DifferenceKind.SIDE_MISMATCH]
    assert kinds(reconcile([db_long()], [LONG], [stop(uoid=1), stop(uoid=2)])) == [
        DifferenceKind.EXTRA_STOPS
    ]
    assert kinds(reconcile([db_long()], [LONG], [stop(reduce_only=False)])) == [
        DifferenceKind.STOP_NOT_REDUCE_ONLY
    ]
    assert kinds(reconcile([], [], [stop()])) == [DifferenceKind.ORPHAN_STOP]


def test_reconcile_reads_the_broker_views_of_the_offline_chain() -> None:
    """The broker's positions()/open_orders() feed reconcile directly (no conversion needed)."""
    import asyncio
    import json

    from solders.keypair import Keypair

    from adapters.drift.wallet import wallet_from_text
    from tests.fakes.drift_harness import make_harness

    wallet = wallet_from_text(json.dumps(list(bytes(Keypair()))), where="test")
    h = make_harness(wallet)
    h.chain.set_position(330_000_000, 150.0)
    h.chain.add_trigger_order(12, long_position=True, trigger=146.5, base=330_000_000)
    asyncio.run(h.user.fetch())
    diffs = reconcile([db_long()], h.broker.positions(), h.broker.open_orders())
    assert kinds(diffs) == [DifferenceKind.STOP_PRICE_MISMATCH]
    assert reconcile([], h.broker.positions(), h.broker.open_orders())[0].kind is (
        DifferenceKind.EXTERNAL_POSITION
    )
