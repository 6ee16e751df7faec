"""Under Pilot: P pauses entries (shown in the header, refused from the ticket), a signal in ask
mode waits in a dialog until Enter, and alerts appear as notifications (issue 16 items 6-8)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from cockpit.screens.dashboard import DashboardScreen
from cockpit.signals.payload import read_signal
from tests.ui.harness import SYMBOL, app_factory, rally
from tests.ui.test_dashboard import SIZE
from widgets.header_bar import ENTRIES_PAUSED
from widgets.signal_dialog import SignalDialog


async def _until(pilot: object, condition: object, tries: int = 1500) -> None:
    for _ in range(tries):
        if condition():  # type: ignore[operator]
            return
        await pilot.pause(0.02)  # type: ignore[attr-defined]
    raise AssertionError("condition not reached")


def _header(app: object) -> str:
    return str(app.screen.query_one("#header-feed", Static).render())  # type: ignore[attr-defined]


async def test_p_pauses_entries_in_the_header_and_again_resumes(tmp_path: Path) -> None:
    app, feed = app_factory(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("P")
        await _until(pilot, lambda: ENTRIES_PAUSED in _header(app))
        assert app.session.latest.entries_paused is not None
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("enter")  # the ticket's notional field has the focus: submit
        await _until(
            pilot,
            lambda: any(
                "entries are paused" in e.text and e.level == "error"
                for e in app.session.latest.events
            ),
        )
        assert app.session.book.positions == []
        await pilot.press("P")
        await _until(pilot, lambda: ENTRIES_PAUSED not in _header(app))
        assert app.session.latest.entries_paused is None
        audit = await app.session.recent_audit()
        assert [a.action for a in audit if a.kind == "pause"] == ["resume entries", "pause entries"]


async def test_ask_mode_signal_waits_in_a_dialog_and_enter_enters_it(tmp_path: Path) -> None:
    app, feed = app_factory(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        sig = read_signal({"symbol": SYMBOL, "side": "long", "quality": 95, "id": "ui-1"})
        verdict = await app.session.signals.receive(sig, "test")
        assert verdict.status == 202
        await _until(pilot, lambda: isinstance(app.screen, SignalDialog))
        assert app.session.book.positions == []
        # quality 95 > 90: the premium-setup alert is a notification
        await _until(pilot, lambda: any("premium setup" in n.message for n in app._notifications))
        await pilot.press("enter")
        await _until(pilot, lambda: len(app.session.book.positions) == 1)
        assert isinstance(app.screen, DashboardScreen)
        sig2 = read_signal({"symbol": SYMBOL, "side": "short", "id": "ui-2"})
        # refused at once (a long is open): no dialog
        assert (await app.session.signals.receive(sig2, "test")).status == 409
        await pilot.pause(0.1)
        assert isinstance(app.screen, DashboardScreen)
