"""Dashboard keys act only on the dashboard: on the audit and analytics screens they do nothing."""

from __future__ import annotations

from cockpit.screens.analytics import AnalyticsScreen
from cockpit.screens.audit import AuditScreen
from cockpit.screens.dashboard import DashboardScreen
from tests.ui.harness import AppFactory, rally
from tests.ui.test_dashboard import SIZE


async def test_position_keys_are_inert_on_other_screens(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        for opener, screen_type in (("g", AnalyticsScreen), ("a", AuditScreen)):
            await pilot.press(opener)
            await pilot.pause()
            assert isinstance(app.screen, screen_type)
            # (each screen's own key, g or a, closes it again, like Escape)
            for key in ("l", "s", "c", "e", "r", "t", "m", "a" if opener == "g" else "g"):
                await pilot.press(key)
                await pilot.pause()
                assert isinstance(app.screen, screen_type), key
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
        await pilot.press("l")
        await pilot.pause()
        assert not isinstance(app.screen, DashboardScreen), "the ticket opens on the dashboard"
