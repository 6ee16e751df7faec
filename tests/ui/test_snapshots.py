"""SVG snapshot of the dashboard with an open position (update with `pytest --snapshot-update`)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.ui.harness import AppFactory, rally
from tests.ui.test_dashboard import open_long, redraw


def test_dashboard_with_an_open_long(snap_compare: Any, make_app: AppFactory) -> None:
    app, feed = make_app(rally())

    async def run_before(pilot: Pilot[None]) -> None:
        await feed.step(3)
        await open_long(app, pilot)
        await feed.step(8)  # +0.6 %: past the breakeven trigger, stop moved to entry
        await redraw(app, pilot)

    assert snap_compare(app, terminal_size=(150, 44), run_before=run_before)
