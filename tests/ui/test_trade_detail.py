"""Enter on a position or a closed trade: the trade's detail, read from the real database."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from cockpit.domain import Candle, Side, price_at_move
from cockpit.screens.dashboard import DashboardScreen
from cockpit.screens.trade_detail import TradeDetailScreen
from state.ledger_totals import LedgerTotals
from tests.ui.harness import SYMBOL, AppFactory, rally, screen_text
from tests.ui.test_dashboard import SIZE, open_long, redraw, step_until
from tests.waiting import pilot_until
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


def ledger_table(screen: TradeDetailScreen) -> list[list[str]]:
    table: DataTable[object] = screen.query_one("#detail-ledger", DataTable)
    return [[str(c).strip() for c in table.get_row_at(i)] for i in range(table.row_count)]


async def closed_trade_detail(
    app: CockpitApp, pilot: Pilot[None], feed: ReplayFeed, done: Callable[[LedgerTotals], bool]
) -> TradeDetailScreen:
    """Open a long that stops out, let the ledger settle as `done` says, open its detail."""
    await feed.step(1)
    trade_id = await open_long(app, pilot)
    await step_until(feed, pilot, lambda: not app.session.latest.positions)
    return await detail_after_ledger(app, pilot, trade_id, done)


async def detail_after_ledger(
    app: CockpitApp, pilot: Pilot[None], trade_id: int, done: Callable[[LedgerTotals], bool]
) -> TradeDetailScreen:
    ledger = app.session.ledger
    ledger.kick()
    await pilot_until(pilot, lambda: ledger.totals is not None and done(ledger.totals))
    await pilot_until(pilot, lambda: app.screen.query_one(HistoryTable).row_count > 0)
    app.screen.query_one(HistoryTable).focus()
    await pilot.pause()
    await pilot.press("enter")
    return await detail_open(app, pilot, trade_id)


STOPS_OUT = [100.0] * 3 + [98.4] + [100.0] * 20


async def test_a_closed_trade_shows_each_policy_on_its_candles_vs_actual(
    make_app: AppFactory,
) -> None:
    app, feed = make_app(STOPS_OUT)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        await step_until(feed, pilot, lambda: not app.session.latest.positions)
        (trade,) = await app.session.require_store().closed_trades()
        # what the candle recorder keeps of the minutes after the entry: it dips through the stop
        first = -(-trade.entry_ts_ms // 60_000) * 60_000
        bars = [Candle(SYMBOL, "1m", first, 100.0, 100.1, 98.3, 98.6, 1.0)]
        bars += [Candle(SYMBOL, "1m", first + 60_000 * i, 98.6, 99, 98, 98.8, 1.0) for i in (1, 2)]
        await app.session.require_store().upsert_candles(bars)
        screen = await detail_after_ledger(
            app, pilot, trade_id, lambda t: any(s.results for s in t.sets)
        )
        rows = {row[0]: row for row in ledger_table(screen)}
        assert set(rows) == {
            "fixed",
            "atr_scaled",
            "quality_tiers",
            "own plan, no overrides",
            "actual",
        }
        notional = trade.entry_price * trade.initial_size
        # fixed and the trade's own (fixed) plan stop out at the stop's level, -1.5 %
        for label in ("fixed", "own plan, no overrides"):
            _, exit_text, pct, usd, vs = rows[label]
            stop = price_at_move(Side.LONG, trade.entry_price, -0.015)
            assert exit_text.startswith(f"stop_loss {stop:g} ")
            assert pct == "-1.50%"
            assert usd == f"{-0.015 * notional:+,.2f}"
            assert vs == f"{-0.015 * notional - trade.realized_pnl:+,.2f}"
        # the demo trade had no ATR: the ATR policies would not have entered, and say why
        assert rows["atr_scaled"][1:] == ["refused: no ATR at entry", "-", "-", "-"]
        actual = rows["actual"]
        assert actual[1].startswith("stop_loss ") and actual[3] == f"{trade.realized_pnl:+,.2f}"
        assert "Counterfactual ledger" in screen_text(app)


async def test_a_closed_trade_without_candles_says_so_instead_of_numbers(
    make_app: AppFactory,
) -> None:
    app, feed = make_app(STOPS_OUT)
    async with app.run_test(size=SIZE) as pilot:
        screen = await closed_trade_detail(
            app, pilot, feed, lambda t: any(s.no_path for s in t.sets)
        )
        rows = {row[0]: row for row in ledger_table(screen)}
        for label in ("fixed", "own plan, no overrides"):
            assert rows[label][1:] == ["no candles recorded after the entry", "-", "-", "-"]
        assert "%" not in " ".join(" ".join(r) for label, r in rows.items() if label != "actual")


async def test_an_open_trade_has_no_ledger_yet(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        await redraw(app, pilot)
        await pilot.press("enter")
        screen = await detail_open(app, pilot, trade_id)
        assert ledger_table(screen) == [
            ["", "the ledger runs once the trade has closed", "", "", ""]
        ]
