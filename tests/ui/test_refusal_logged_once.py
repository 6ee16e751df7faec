"""A refused command reaches the trader's event log exactly once.

The session logs (and audits) the refusals it decides: a plan or risk refusal, a stale price, a
manual rule. The app must not log those again; a refusal the session raised without logging (no
price yet, no such position) is logged by the app, once. Either way there is also a toast.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, Select

from cockpit.app import CockpitApp
from tests.ui.harness import AppFactory, rally
from tests.ui.test_dashboard import SIZE, open_long
from tests.ui.test_runner_dialogs import settle
from widgets.order_ticket import OrderTicket
from widgets.runner_dialogs import AmountRequest, StopRequest


def lines_with(app: CockpitApp, text: str) -> list[str]:
    return [e.text for e in app.session.latest.events if text in e.text]


def toasts(app: CockpitApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def submit_ticket(app: CockpitApp, pilot: Pilot[None], **fields: str) -> None:
    await pilot.press("l")
    await pilot.pause()
    ticket = app.screen
    assert isinstance(ticket, OrderTicket)
    ticket.query_one("#notional", Input).value = "30"
    if "policy" in fields:
        ticket.query_one("#policy", Select).value = fields["policy"]
    if "quality" in fields:
        ticket.query_one("#quality", Input).value = fields["quality"]
    await pilot.press("enter")
    await pilot.pause()


async def test_a_plan_refusal_the_session_logged_is_not_logged_again(
    make_app: AppFactory,
) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await submit_ticket(app, pilot, policy="quality_tiers", quality="55")
        await settle(pilot, lambda: lines_with(app, "order refused"))
        await pilot.pause(0.05)
        lines = lines_with(app, "order refused")
        assert len(lines) == 1, lines
        assert not app.session.latest.positions
        reason = lines[0].removeprefix("order refused: ")
        assert len(lines_with(app, reason)) == 1
        assert reason in toasts(app), "the trader also sees it at once"


async def test_a_refusal_the_session_did_not_log_is_logged_once(make_app: AppFactory) -> None:
    app, _feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        # No tick yet: the session refuses without logging; the app logs it, once.
        await submit_ticket(app, pilot)
        await settle(pilot, lambda: lines_with(app, "no price for SOL-PERP yet"))
        await pilot.pause(0.05)
        assert lines_with(app, "no price for SOL-PERP yet") == [
            "order refused: no price for SOL-PERP yet; wait for the feed"
        ]
        assert not app.session.latest.positions


async def test_manual_refusals_reach_the_log_once(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        # A stop through the mark: the session refuses, audits and logs it; the app only toasts.
        app.positions.submit_stop(trade_id, StopRequest(150.0, False, ""))
        await settle(pilot, lambda: lines_with(app, "would fill at once"))
        await pilot.pause(0.05)
        assert len(lines_with(app, "would fill at once")) == 1
        # No such position: the session raises without logging; the app logs it once.
        commands: list[tuple[Callable[[], object], str]] = [
            (lambda: app.positions.submit_close(999), "close refused"),
            (
                lambda: app.positions.submit_close_part(999, AmountRequest(50.0, "")),
                "close refused",
            ),
            (lambda: app.positions.submit_stop(999, StopRequest(90.0, False, "")), "stop refused"),
            (lambda: app.positions.submit_trail(999, AmountRequest(2.0, "")), "trailing refused"),
        ]
        for submit, title in commands:
            before = len(lines_with(app, "no open position #999"))
            submit()
            await settle(pilot, lambda b=before: len(lines_with(app, "no open position #999")) > b)
            await pilot.pause(0.05)
            lines = lines_with(app, "no open position #999")
            assert len(lines) == before + 1, lines
            assert lines[-1] == f"{title}: no open position #999"
