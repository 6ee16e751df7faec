"""The same ticks give the same position whether the engine is driven directly (as the engine
tests and a backtest do) or through the whole cockpit runtime: replay feed, session, paper
broker and SQLite."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import PaperConfig, Settings
from cockpit.domain import PositionState, Side, Tick
from cockpit.engine.policy import open_position, plan_for
from cockpit.session import Session
from tests.engine.engine_sim import run

SYMBOL = "SOL-PERP"
T0 = 1_750_000_000_000
NO_COSTS = PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0)


async def through_the_session(side: Side, prices: list[float]) -> PositionState:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Settings(db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'eq.db'}", paper=NO_COSTS)
        ticks = (Tick(SYMBOL, T0 + 1000 * i, p) for i, p in enumerate([100.0, *prices]))
        feed = ReplayFeed({SYMBOL: ticks}, speed=None, simulated=True, label="eq", paused=True)
        session = Session(cfg, feed, PaperBroker(cfg.paper), [SYMBOL], clock=lambda: T0)
        await session.start()
        try:
            await feed.step(1)
            pos = await session.open_position(SYMBOL, side, 100.0, 1.0)
            await feed.step(len(prices))
            return pos
        finally:
            await session.stop()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    moves=st.lists(st.floats(-2.0, 4.0).map(lambda m: round(m, 2)), min_size=1, max_size=25),
)
def test_session_replay_equals_the_bare_engine(side: Side, moves: list[float]) -> None:
    prices = [100.0 + side.sign * m for m in moves]
    live = asyncio.run(through_the_session(side, prices))
    plan = plan_for(Settings(), policy="fixed", symbol=SYMBOL, side=side, entry=100.0, size=1.0)
    bare = open_position(plan, symbol=SYMBOL, leverage=1.0, opened_ms=T0)
    run(bare, prices)
    for name in (
        "size",
        "stop",
        "stop_role",
        "tp1_filled",
        "tp2_filled",
        "mfe_pct",
        "mae_pct",
        "closed",
        "breakeven_done",
        "profit_lock_done",
    ):
        assert getattr(live, name) == getattr(bare, name), name
    assert abs(live.realized_pnl - bare.realized_pnl) < 1e-9
