"""The dashboard on Drift under Pilot: a stop missing on chain after a restart is red in the
positions table and explained under the chart; `o` puts it on chain and the red goes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from driftpy.types import OrderStatus
from rich.text import Text
from textual.widgets import Static

from cockpit.app import CockpitApp
from cockpit.domain import Side
from tests.cockpit.drift_rig import SYMBOL, build_session, open_rig
from tests.ui.harness import app_factory
from tests.ui.test_dashboard import SIZE, cell, redraw
from widgets.positions_table import PositionsTable


async def test_a_stop_missing_on_chain_is_red_and_o_puts_it_back(tmp_path: Path) -> None:
    r = await open_rig(tmp_path / "d.db")
    await r.session.enter_live("LIVE")
    pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    await r.settle()
    [(uoid, _)] = r.chain_stops()
    await r.session.stop()
    r.h.markets._load()
    r.h.sender.install(r.h.client.connection)  # stop() closed the RPC connection
    for i, order in enumerate(r.h.chain.user.orders):  # cancelled on Drift while away
        if type(order.status).__name__ == "Open":
            r.h.chain.user.orders[i] = dataclasses.replace(order, status=OrderStatus.Canceled())

    session, _gate = build_session(r.db, r.h, r.wallet, r.h.config, r.clock, 2.0)
    app = CockpitApp(session)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(1500):
            await pilot.pause(0.02)
            if session.latest.positions and session.live_precondition() is None:
                break
        await redraw(app, pilot)
        trade_id = pos.trade_id or 0
        assert cell(app, trade_id, "state") == "no chain SL"
        state = app.screen.query_one(PositionsTable).get_cell(f"trade-{trade_id}", "state")
        assert isinstance(state, Text) and "red" in str(state.style)
        levels = app.screen.query_one("#chart-levels", Static).render()
        assert "stop not on chain" in str(levels)

        await pilot.press("o")
        for _ in range(1500):
            await pilot.pause(0.02)
            if r.chain_stops():
                break
        await redraw(app, pilot)
        assert r.chain_stops() == [(uoid, 147.75)]
        assert cell(app, trade_id, "state") == "open"
        assert "stop on chain @ 147.75" in str(
            app.screen.query_one("#chart-levels", Static).render()
        )


async def test_o_is_not_offered_on_paper(tmp_path: Path) -> None:
    app, _feed = app_factory(f"sqlite+aiosqlite:///{tmp_path / 'paper.db'}")([100.0] * 3)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.check_action("stop_on_chain", ()) is False
        shown = {key for key, active in app.screen.active_bindings.items() if active.enabled}
        assert "o" not in shown and "e" in shown
