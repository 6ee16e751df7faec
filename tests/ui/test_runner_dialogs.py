"""The runner dialogs under Pilot: every refusal, the two-step loosening, and the effect of each
accepted action on the position, the event log, the chart levels and SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from adapters.replay import ReplayFeed
from cockpit.app import CockpitApp
from cockpit.domain import Side, StopRole
from cockpit.engine.manual import StopInput
from cockpit.runner_preview import close_preview, stop_preview
from cockpit.screens.dashboard import DashboardScreen
from tests.engine.engine_sim import default_position
from tests.ui.harness import AppFactory, app_factory, rally
from tests.ui.test_dashboard import SIZE, redraw, step_until
from tests.ui.test_dashboard import open_long as ticket_long
from widgets.order_ticket import OrderTicket
from widgets.price_chart import PriceChart
from widgets.runner_dialogs import AmountRequest, ClosePartDialog, MoveStopDialog, TrailDialog


@pytest.fixture
def make_runner_app(tmp_path: Path) -> AppFactory:
    return app_factory(f"sqlite+aiosqlite:///{tmp_path / 'runner.db'}", atr_bars=True)


def db_rows(app: CockpitApp, sql: str) -> list[tuple[object, ...]]:
    path = app.session.settings.db_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


def preview_text(app: CockpitApp) -> str:
    return str(app.screen.query_one("#preview", Static).render())


def confirm_disabled(app: CockpitApp) -> bool:
    return app.screen.query_one("#runner-confirm", Button).disabled


async def type_amount(app: CockpitApp, pilot: Pilot[None], text: str) -> None:
    app.screen.query_one("#amount", Input).value = text
    await pilot.pause()


async def settle(pilot: Pilot[None], done: object, limit: int = 3000) -> None:
    """Wait until `done()` holds and the command's worker has finished (its audit row and
    writes come after the position changes in memory). The limit is a ceiling for a loaded
    machine, not a duration: it returns as soon as both hold."""
    assert callable(done)
    for _ in range(limit):
        busy = any(w.group == "orders" and not w.is_finished for w in pilot.app.workers)
        if done() and not busy:
            return
        await pilot.pause(0.01)
    raise AssertionError("the command did not complete")


async def open_long(app: CockpitApp, pilot: Pilot[None]) -> int:
    """Open a fixed-policy long through the ticket and let the table show (and select) it."""
    trade_id = await ticket_long(app, pilot)
    await redraw(app, pilot)
    return trade_id


async def open_runner(app: CockpitApp, pilot: Pilot[None], feed: ReplayFeed) -> int:
    """A quality_tiers long (score 90, ATR 2): TP1 102... see test_session_runner."""
    await feed.step(1)
    await pilot.press("l")
    await pilot.pause()
    ticket = app.screen
    assert isinstance(ticket, OrderTicket)
    ticket.query_one("#notional", Input).value = "30"
    ticket.query_one("#policy", Select).value = "quality_tiers"
    ticket.query_one("#quality", Input).value = "90"
    await pilot.press("enter")
    await settle(pilot, lambda: app.session.latest.positions)
    (pos,) = app.session.latest.positions
    assert pos.plan.policy == "quality_tiers" and pos.plan.runner_fraction == pytest.approx(0.25)
    assert pos.trade_id is not None
    await redraw(app, pilot)
    return pos.trade_id


async def test_tightening_by_price_updates_log_chart_and_database(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, MoveStopDialog)
        await type_amount(app, pilot, "99.2")
        assert "tightens the stop" in preview_text(app) and not confirm_disabled(app)
        app.screen.query_one("#why", Input).value = "tighter into resistance"
        await pilot.click("#runner-confirm")
        await settle(pilot, lambda: pos.stop == 99.2)
        assert isinstance(app.screen, DashboardScreen)
        await redraw(app, pilot)
        assert pos.stop_role is StopRole.MANUAL_STOP
        levels = app.screen.query_one(PriceChart).query_one("#chart-levels", Static)
        assert "SL (manual stop) 99.200" in str(levels.render())
        assert any(
            "stop" in e.text and "99.2000 by user" in e.text for e in app.session.latest.events
        )
    assert db_rows(app, f"SELECT new_price, who, reason FROM stop_moves WHERE trade_id={trade_id}")[
        -1
    ] == (99.2, "user", "manual tighten: tighter into resistance")


async def test_wrong_side_and_nonsense_are_refused_in_the_dialog(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        stop = pos.stop
        await pilot.press("e")
        await pilot.pause()
        for text, why in [
            ("100.5", "would fill at once"),
            ("abc", "is not a number"),
            ("", "enter a stop price"),
            ("-3", "above 0"),
        ]:
            await type_amount(app, pilot, text)
            assert why in preview_text(app), text
            assert confirm_disabled(app)
        await pilot.press("enter")  # submitting a refused input does nothing
        await pilot.pause()
        assert isinstance(app.screen, MoveStopDialog) and pos.stop == stop
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and pos.stop == stop


async def test_loosening_needs_the_second_step(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        stop = pos.stop
        await pilot.press("e")
        await pilot.pause()
        await type_amount(app, pilot, "97")
        assert "LOOSENS" in preview_text(app)
        await pilot.click("#runner-confirm")
        await pilot.pause()
        step = app.screen.query_one("#loosen-step")
        assert step.display and "more at risk" in str(
            app.screen.query_one("#loosen-text", Static).render()
        )
        assert pos.stop == stop, "the first confirm only asks again"
        await pilot.click("#back")
        await pilot.pause()
        assert not step.display and not app.screen.query_one("#amount", Input).disabled
        await pilot.click("#runner-confirm")
        await pilot.pause()
        await pilot.click("#loosen")
        await settle(pilot, lambda: pos.stop == 97.0)
        assert isinstance(app.screen, DashboardScreen)
    audit = db_rows(app, "SELECT kind, action FROM audit_events WHERE kind = 'manual_action'")
    assert audit and "97.0000" in str(audit[-1][1]) and f"#{trade_id}" in str(audit[-1][1])


async def test_percent_from_entry_and_lock_share_of_the_move(make_app: AppFactory) -> None:
    app, feed = make_app(rally(flat=3, steps=30))
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        await pilot.press("e")
        await pilot.pause()
        await pilot.click("#how-lock_move")
        await pilot.pause()
        await type_amount(app, pilot, "50")
        assert "no move to lock" in preview_text(app) and confirm_disabled(app)
        await pilot.click("#how-from_entry")
        await pilot.pause()
        await type_amount(app, pilot, "-0.5")
        await pilot.click("#runner-confirm")
        await settle(pilot, lambda: pos.stop == pytest.approx(pos.entry * 0.995))
        await step_until(feed, pilot, lambda: pos.move_pct(pos.last_price or 0) > 1.0)
        mark = app.session.mark_price(pos)
        await pilot.press("e")
        await pilot.pause()
        await pilot.click("#how-lock_move")
        await pilot.pause()
        await type_amount(app, pilot, "50")
        assert "tightens" in preview_text(app) or "LOOSENS" in preview_text(app)
        expected = pos.entry + (mark - pos.entry) / 2
        await pilot.click("#runner-confirm")
        await pilot.pause()
        if app.screen.query("#loosen-step") and app.screen.query_one("#loosen-step").display:
            await pilot.click("#loosen")
        await settle(pilot, lambda: pos.stop == pytest.approx(expected))


async def test_close_part_refusals_and_a_half_close(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        size = pos.size
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ClosePartDialog)
        assert "closes the position" in preview_text(app)  # 100 % preselected
        for text in ("0", "101", "x"):
            await type_amount(app, pilot, text)
            assert preview_text(app).startswith("✗") and confirm_disabled(app)
        await pilot.click("#pct-50")
        await pilot.pause()
        assert "leaves" in preview_text(app)
        await pilot.click("#runner-confirm")
        await settle(pilot, lambda: pos.size == pytest.approx(size / 2))
    fills = db_rows(app, f"SELECT reason, size FROM fills WHERE trade_id = {trade_id} ORDER BY id")
    assert fills[-1] == ("manual_close", pytest.approx(size / 2))


async def test_trailing_is_refused_without_a_runner_and_set_on_one(
    make_app: AppFactory, make_runner_app: AppFactory
) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await open_long(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen), "no dialog for a plan without ATR"
        assert any("nothing to trail" in e.text for e in app.session.latest.events)

    app, feed = make_runner_app([100.0, 101.0, 102.5, 104.5, 106.0])
    async with app.run_test(size=SIZE) as pilot:
        trade_id = await open_runner(app, pilot, feed)
        pos = app.session.latest.positions[0]
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrailDialog)
        assert "starts when the runner does" in preview_text(app)
        for text in ("0", "80", "fast"):
            await type_amount(app, pilot, text)
            assert preview_text(app).startswith("✗") and confirm_disabled(app)
        await type_amount(app, pilot, "1.5")
        await pilot.click("#runner-confirm")
        await settle(pilot, lambda: pos.trail_mult == 1.5)
    assert db_rows(app, f"SELECT trail_mult FROM trades WHERE id = {trade_id}") == [(1.5,)]


async def test_no_selection_and_escape_change_nothing(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        for key in ("e", "r", "t"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
        await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        before = (pos.stop, pos.size)
        for key in ("e", "r"):
            await pilot.press(key)
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        assert (pos.stop, pos.size) == before


def test_close_preview_closes_all_rather_than_leave_less_than_the_venue_minimum() -> None:
    pos = default_position(Side.LONG, size=0.33)
    preview = close_preview(pos, "97", 100.0, min_order_size=0.05)
    assert preview.value == 100.0, "confirming sends what the preview says: all of it"
    assert "closes all 0.33 SOL-PERP: 0.0099 left would be below the venue's minimum 0.05" in (
        preview.text
    )
    assert preview.text.startswith("✓") and "reduce-only" in preview.text
    paper = close_preview(pos, "97", 100.0)
    assert paper.value == 97.0 and "leaves 0.0099" in paper.text
    small = close_preview(pos, "10", 100.0, min_order_size=0.05)
    assert small.value is None and "below the venue's minimum order 0.05" in small.text
    assert "at least 15.15 %" in small.text


def test_stop_preview_of_the_same_price_reads_unchanged() -> None:
    pos = default_position(Side.LONG, entry=150.0)
    pos.stop = 147.75
    for raw in ("147.75", "147.750000001", "147.7500", "147.74999"):
        preview = stop_preview(pos, StopInput.PRICE, raw, 149.0)
        assert "unchanged at 147.7500" in preview.text, raw
        assert "tighten" not in preview.text.lower() and "loosen" not in preview.text.lower()
        assert preview.value is None and not preview.loosens
    coarse = stop_preview(pos, StopInput.PRICE, "147.753", 149.0, price_tick=0.01)
    assert "unchanged" in coarse.text and coarse.value is None
    assert "tightens" in stop_preview(pos, StopInput.PRICE, "147.7501", 149.0).text


async def test_the_stop_dialog_calls_an_unchanged_stop_unchanged(make_app: AppFactory) -> None:
    app, feed = make_app(rally(start=150.0))
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        # The dialog opens on the stop rendered to 4 decimals: the same stop, not a 0.00 move.
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, MoveStopDialog)
        assert "unchanged" in preview_text(app) and confirm_disabled(app)
        await pilot.press("escape")
        await pilot.pause()
        await app.session.move_stop(trade_id, 147.75, confirm_loosen=True)
        assert pos.stop == 147.75
        events = len(app.session.latest.events)
        await pilot.press("e")
        await pilot.pause()
        for text in ("147.75", "147.750000001"):
            await type_amount(app, pilot, text)
            shown = preview_text(app)
            assert "stop unchanged at 147.7500" in shown, text
            assert "tighten" not in shown.lower() and "loosen" not in shown.lower()
            assert confirm_disabled(app)
        await pilot.press("enter")  # nothing to send: the dialog stays, the stop stays
        await pilot.pause()
        assert isinstance(app.screen, MoveStopDialog) and pos.stop == 147.75
        assert len(app.session.latest.events) == events, "no stop move, no refusal logged"
        await type_amount(app, pilot, "147.76")
        assert "tightens the stop from 147.7500" in preview_text(app)
        assert not confirm_disabled(app)
        await pilot.press("escape")
        await pilot.pause()
    moves = db_rows(app, f"SELECT new_price FROM stop_moves WHERE trade_id = {trade_id}")
    assert moves[-1] == (147.75,)


async def test_the_close_dialog_closes_all_rather_than_leave_a_crumb(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        assert pos.size == pytest.approx(0.3)
        mark = app.session.mark_price(pos)
        answers: list[object] = []

        def on_answer(answer: object) -> None:
            answers.append(answer)
            if isinstance(answer, AmountRequest):
                app.positions.submit_close_part(trade_id, answer)

        # The dialog as the app builds it once the session knows the venue's minimum (0.05).
        dialog = ClosePartDialog(
            pos, mark, lambda raw: close_preview(pos, raw, mark, min_order_size=0.05)
        )
        app.push_screen(dialog, on_answer)
        await pilot.pause()
        await type_amount(app, pilot, "10")
        assert "below the venue's minimum order 0.05" in preview_text(app)
        assert confirm_disabled(app)
        await type_amount(app, pilot, "90")
        assert "closes all 0.3 SOL-PERP: 0.03 left would be below the venue's minimum 0.05" in (
            preview_text(app)
        )
        assert not confirm_disabled(app)
        await pilot.click("#runner-confirm")
        await settle(pilot, lambda: not app.session.latest.positions)
        assert [a.value for a in answers if isinstance(a, AmountRequest)] == [100.0]
    fills = db_rows(app, f"SELECT reason, size FROM fills WHERE trade_id = {trade_id} ORDER BY id")
    assert fills[-1] == ("manual_close", pytest.approx(0.3))
