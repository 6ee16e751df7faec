"""Enter on a position or a closed trade: the trade's detail, read from the real database."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from cockpit.app import CockpitApp
from cockpit.screens.dashboard import DashboardScreen
from cockpit.screens.trade_detail import TradeDetailScreen
from tests.ui.harness import AppFactory, rally, screen_text
from tests.ui.test_dashboard import SIZE, open_long, redraw, step_until
from widgets.braille_chart import BrailleChart
from widgets.formatting import price_text
from widgets.history_table import HistoryTable


async def detail_open(app: CockpitApp, pilot: Pilot[None], trade_id: int) -> TradeDetailScreen:
    for _ in range(1000):
        await pilot.pause(0.01)
        screen = app.screen
        if isinstance(screen, TradeDetailScreen) and screen.detail is not None:
            assert screen.trade_id == trade_id
            return screen
    raise AssertionError("the detail screen did not load")


def timeline(screen: TradeDetailScreen) -> list[tuple[str, str]]:
    table: DataTable[object] = screen.query_one("#detail-timeline", DataTable)
    return [
        (str(table.get_row_at(i)[1]), str(table.get_row_at(i)[2])) for i in range(table.row_count)
    ]


async def test_enter_on_a_position_shows_plan_timeline_and_chart(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        await step_until(feed, pilot, lambda: pos.tp1_filled)
        await redraw(app, pilot)
        await pilot.press("enter")
        screen = await detail_open(app, pilot, trade_id)
        detail = screen.detail
        assert detail is not None

        plan = str(screen.query_one("#detail-plan", Static).render())
        assert f"{pos.plan.stop_loss:g}" in plan and f"{pos.plan.tp1_price:g}" in plan

        rows = timeline(screen)
        kinds = [k for k, _ in rows]
        assert kinds.count("fill") == 2 and kinds.count("order") >= 2
        fills = [text for kind, text in rows if kind == "fill"]
        assert "(entry," in fills[0] and "(tp1," in fills[1]  # in time order
        moves = [text for kind, text in rows if kind == "stop"]
        assert any("breakeven" in m for m in moves) and any("profit_lock" in m for m in moves)
        stamps = [r.ts_ms for r in detail.timeline]
        assert stamps == sorted(stamps)

        spec = screen.query_one(BrailleChart).spec
        assert [m.glyph for m in spec.markers] == ["▲", "✕"]  # the entry, the TP1 exit
        stop_series = spec.series[0]
        assert stop_series.step and stop_series.points[0][1] == pos.plan.stop_loss
        assert stop_series.points[-1][1] == pos.stop  # the stop's history ends where it stands
        assert len(spec.series[1].points) > 10  # the prices of the trade's window
        assert "TP1" in screen_text(app) and "entry" in screen_text(app)

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_enter_on_a_closed_trade_shows_its_exit(make_app: AppFactory) -> None:
    prices = [100.0] * 3 + [98.4] + [100.0] * 20  # the long stops out
    app, feed = make_app(prices)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        await step_until(feed, pilot, lambda: not app.session.latest.positions)
        for _ in range(500):
            await redraw(app, pilot)
            if app.screen.query_one(HistoryTable).row_count:
                break
        app.screen.query_one(HistoryTable).focus()
        await pilot.pause()
        await pilot.press("enter")
        screen = await detail_open(app, pilot, trade_id)
        assert screen.detail is not None
        trade = screen.detail.trade
        assert trade.exit_reason == "stop_loss" and trade.exit_price is not None
        title = str(screen.query_one("#detail-title", Static).render())
        assert "(stop_loss)" in title and f"exit {price_text(trade.exit_price)}" in title
        assert [m.glyph for m in screen.query_one(BrailleChart).spec.markers] == ["▲", "✕"]


async def test_a_database_that_cannot_be_read_is_said_not_hidden(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        await redraw(app, pilot)
        await app.session.require_store().close()  # every read now fails
        await pilot.press("enter")
        for _ in range(1000):
            await pilot.pause(0.01)
            screen = app.screen
            if isinstance(screen, TradeDetailScreen):
                title = str(screen.query_one("#detail-title", Static).render())
                if "could not" in title:
                    break
        else:
            raise AssertionError("no error shown")
        assert title.startswith(f"#{trade_id}: could not read the trade: ")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
