"""The dashboard's P&L strip, chart and events panel, under Pilot on a real session."""

from __future__ import annotations

import re

import pytest

from tests.ui.harness import AppFactory, rally, screen_text
from tests.ui.scenes import closed_then_open
from tests.ui.test_dashboard import redraw
from widgets.braille_chart import BrailleChart
from widgets.pnl_strip import PnlStrip


def money(value: float) -> str:
    return f"{round(value, 2) + 0.0:+,.2f}"  # the strip never shows "-0.00"


async def test_strip_shows_the_sessions_numbers(make_app: AppFactory) -> None:
    app, feed = make_app(rally(steps=80))
    async with app.run_test(size=(160, 45)) as pilot:
        await closed_then_open(app, feed, pilot)
        pos = app.session.latest.positions[0]
        mark = app.session.latest.last_tick[pos.symbol].price
        closed = app.session.latest.closed_trades[0]
        strip = str(app.screen.query_one(PnlStrip).render())
        realized = closed.realized_pnl - closed.fees + pos.realized_pnl - pos.fees
        assert f"realized today {money(realized)}" in strip
        assert f"unrealized {money(pos.unrealized_pnl(mark))}" in strip
        assert f"risk to stops {money(min(0.0, (pos.stop - mark) * pos.size))}" in strip
        assert f"exposure L {pos.size * mark:,.2f} S 0.00 USDT" in strip


async def test_chart_has_a_time_axis_and_the_selected_positions_levels(
    make_app: AppFactory,
) -> None:
    app, feed = make_app(rally(steps=80))
    async with app.run_test(size=(160, 45)) as pilot:
        await closed_then_open(app, feed, pilot)
        pos = app.session.latest.positions[0]
        text = screen_text(app)
        assert re.search(r"└\d\d:\d\d:\d\d", text)  # the time axis
        assert f"{pos.plan.tp1_price:.3f} TP1" in text
        assert f"{pos.entry:.3f} entry" in text
        assert f"{pos.stop:.3f} SL be" in text  # the stop moved to breakeven


async def test_an_unchanged_chart_is_not_drawn_again(make_app: AppFactory) -> None:
    app, feed = make_app(rally(steps=80))
    async with app.run_test(size=(160, 45)) as pilot:
        await closed_then_open(app, feed, pilot)
        chart = app.screen.query_one("#chart-plot", BrailleChart)
        drawn = chart.draws
        for _ in range(5):
            await redraw(app, pilot)  # no new price: nothing to draw
        assert chart.draws == drawn
        await feed.step(1)
        await redraw(app, pilot)
        assert chart.draws == drawn + 1


@pytest.mark.parametrize("sizes", [((100, 30), (160, 45), (220, 60))])
async def test_events_panel_grows_with_the_terminal(
    make_app: AppFactory, sizes: tuple[tuple[int, int], ...]
) -> None:
    heights = []
    app, feed = make_app(rally())
    async with app.run_test(size=sizes[0]) as pilot:
        await feed.step(1)
        for width, height in sizes:
            await pilot.resize_terminal(width, height)
            for _ in range(200):
                await pilot.pause()
                if app.screen.size == (width, height):
                    break
            await pilot.pause()
            heights.append(app.screen.query_one("#events").size.height)
    assert heights == sorted(heights) and heights[0] < heights[1] < heights[2], heights
