"""The command palette's "Keys" opens the key list, and Escape closes it (it did not before)."""

from __future__ import annotations

from cockpit.screens.dashboard import DashboardScreen
from cockpit.screens.help import HelpScreen
from tests.ui.harness import AppFactory, rally
from tests.ui.test_dashboard import SIZE
from tests.ui.test_keys import wait_for


async def test_palette_keys_opens_the_list_and_escape_closes_it(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Keys")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), limit=1500)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
