"""Mode switching from the keyboard: refusals explained, typed LIVE, one key back, audit view."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Button, DataTable, Input

from cockpit.domain import Mode
from cockpit.screens.audit import AuditScreen
from cockpit.screens.dashboard import DashboardScreen
from tests.ui.harness import app_factory, rally
from tests.ui.test_dashboard import SIZE
from tests.waiting import pilot_until
from widgets.live_confirm import LiveConfirmDialog


async def test_demo_refuses_live_with_the_reason_and_audits_it(tmp_path: Path) -> None:
    app, feed = app_factory(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("m")
        await pilot_until(
            pilot,
            lambda: any("LIVE-SMALL refused" in e.text for e in app.session.latest.events),
            what="the refusal",
        )
        assert isinstance(app.screen, DashboardScreen), "no dialog when LIVE is impossible"
        assert app.session.latest.mode is Mode.SHADOW
        async with asyncio.timeout(60):  # the audit row is written in the background
            while not await app.session.recent_audit():
                await pilot.pause(0.01)
        await pilot.press("a")

        def audit_shown() -> bool:
            screen = app.screen
            return isinstance(screen, AuditScreen) and screen.query_one(DataTable).row_count > 0

        await pilot_until(pilot, audit_shown, what="the audit rows shown")
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        assert "no live venue" in str(table.get_row_at(0)[4])
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_typed_live_enters_and_one_key_leaves(tmp_path: Path) -> None:
    app, feed = app_factory(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", live=True)(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("m")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, LiveConfirmDialog)
        confirm = dialog.query_one("#live-confirm", Button)
        for wrong in ("live", "LIVE "):
            dialog.query_one("#live-typed", Input).value = ""
            await pilot.press(*wrong)
            await pilot.pause()
            assert confirm.disabled
        dialog.query_one("#live-typed", Input).value = ""
        await pilot.press(*"LIVE")
        await pilot.pause()
        assert not confirm.disabled
        await pilot.click("#live-confirm")
        for _ in range(1500):
            await pilot.pause(0.02)
            if app.session.latest.mode is Mode.LIVE_SMALL and app.has_class("-live-mode"):
                break
        assert app.session.latest.mode is Mode.LIVE_SMALL
        assert app.has_class("-live-mode")
        app.screen.refresh_view()  # type: ignore[attr-defined]
        await pilot.pause()
        assert "LIVE-SMALL" in str(app.screen.query_one("#mode-badge").render())

        await pilot.press("m")  # straight back, no question
        for _ in range(1500):
            await pilot.pause(0.02)
            if app.session.latest.mode is Mode.SHADOW and not app.has_class("-live-mode"):
                break
        assert app.session.latest.mode is Mode.SHADOW
        assert not app.has_class("-live-mode")
        assert isinstance(app.screen, DashboardScreen)
