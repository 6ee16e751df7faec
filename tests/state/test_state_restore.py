"""Open positions survive a restart exactly: plan, stop, flags, extremes and trade id."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.domain import Mode, PositionState, Side, StopRole
from state.store import Store
from tests.state.factories import T0, exit_order, fill_for, open_trade


async def test_open_positions_survive_close_and_reopen(db_url: str) -> None:
    store = await Store.open(db_url, flush_interval_s=3600.0)
    long_pos = await open_trade(store, "ck-long", side=Side.LONG, entry=150.0, size=2.0)
    short_pos = await open_trade(store, "ck-short", side=Side.SHORT, entry=151.0, size=1.0)
    closed = await open_trade(store, "ck-closed", ts_ms=T0 + 5)
    order = exit_order("ck-closed-out", closed, closed.size, "manual_close")
    oid = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
    closed.size, closed.closed = 0.0, True
    await store.record_exit_fill(oid, fill_for(order, 150.5, T0 + 6), closed)

    # The long went through TP1 and trails; the short only moved its extremes.
    long_pos.size, long_pos.tp1_filled, long_pos.tp2_filled = 0.5, True, True
    long_pos.trailing_active, long_pos.peak = True, 156.4
    long_pos.stop, long_pos.stop_role = 153.2, StopRole.TRAILING_STOP
    long_pos.mfe_pct, long_pos.mae_pct, long_pos.mfe_quote, long_pos.mae_quote = (
        4.27,
        -0.3,
        12.8,
        -0.9,
    )
    long_pos.last_price, long_pos.realized_pnl, long_pos.fees = 155.9, 7.1, 0.21
    short_pos.mae_pct, short_pos.last_price = -0.8, 152.2
    store.update_position(long_pos)
    store.update_position(short_pos)
    await store.close()  # flushes the snapshots

    reopened = await Store.open(db_url)
    try:
        restored = await reopened.open_positions()
    finally:
        await reopened.close()
    assert restored == [long_pos, short_pos]
    assert restored[0].plan.params == {
        "stop_loss_pct": 1.5,
        "note": "hand-built",
        "nested": {"k": [1, 2]},
    }


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
positive = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False)


@st.composite
def live_states(draw: st.DrawFn) -> dict[str, object]:
    return {
        "size": draw(positive),
        "stop": draw(positive),
        "stop_role": draw(st.sampled_from(StopRole)),
        "tp1_filled": draw(st.booleans()),
        "tp2_filled": draw(st.booleans()),
        "trailing_active": draw(st.booleans()),
        "peak": draw(st.none() | positive),
        "mfe_pct": draw(finite),
        "mae_pct": draw(finite),
        "mfe_quote": draw(finite),
        "mae_quote": draw(finite),
        "last_price": draw(st.none() | positive),
        "realized_pnl": draw(finite),
        "fees": draw(finite),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    side=st.sampled_from(Side),
    entry=positive,
    states=st.lists(live_states(), min_size=1, max_size=4),
)
def test_any_live_state_round_trips_exactly(
    side: Side, entry: float, states: list[dict[str, object]]
) -> None:
    """Property: whatever floats the engine produced, the restored position is equal."""

    async def scenario(url: str) -> tuple[PositionState, list[PositionState]]:
        store = await Store.open(url, flush_interval_s=3600.0)
        position = await open_trade(store, side=side, entry=entry)
        for state in states:
            for name, value in state.items():
                setattr(position, name, value)
            store.update_position(position)
        await store.close()
        reopened = await Store.open(url)
        try:
            return position, await reopened.open_positions()
        finally:
            await reopened.close()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'prop.db'}"
        position, restored = asyncio.run(scenario(url))
    assert restored == [position]
