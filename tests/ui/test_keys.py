"""Keys: `?` lists every key of the current screen, `[keymap]` remaps them, Escape closes all."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from cockpit.app import BOUND_CLASSES, CockpitApp
from cockpit.cli import demo_app
from cockpit.config import load_settings
from cockpit.screens.analytics import AnalyticsScreen
from cockpit.screens.dashboard import DashboardScreen
from cockpit.screens.help import HelpScreen
from cockpit.screens.keymap import bindings_of
from tests.ui.harness import AppFactory, app_factory, rally
from tests.ui.test_dashboard import SIZE, open_long
from widgets.order_ticket import OrderTicket


async def wait_for(pilot: Pilot[None], done: object, limit: int = 500) -> None:
    assert callable(done)
    for _ in range(limit):
        if done():
            return
        await pilot.pause(0.01)
    raise AssertionError("condition not reached")


def help_rows(app: CockpitApp) -> dict[str, str]:
    """binding id -> key as the help screen shows it."""
    table: DataTable[object] = app.screen.query_one("#help-table", DataTable)
    rows = {}
    for index in range(table.row_count):
        key, _, binding_id = (str(c) for c in table.get_row_at(index))
        if binding_id:
            rows[binding_id] = key
    return rows


def test_every_binding_has_an_id() -> None:
    bindings = bindings_of(BOUND_CLASSES)
    assert bindings and all(b.id for b in bindings), [b.key for b in bindings if not b.id]


async def test_question_mark_lists_the_current_screens_keys(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = help_rows(app)
        expected = {b.id: b.key for b in CockpitApp.BINDINGS if b.id != "stop_on_chain"}
        for binding_id, key in expected.items():  # (quit also has Textual's ctrl+q: "^q, q")
            shown = {"question_mark": "?", "plus": "+", "minus": "-", "full_stop": "."}
            assert shown.get(key, key) in rows[binding_id].split(", ")
        assert "stop_on_chain" not in rows  # no venue with on-chain stops: the key does nothing
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))

        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, AnalyticsScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = help_rows(app)
        assert rows["analytics.back"] == "esc, g"
        assert "long" not in rows and "close" not in rows  # dashboard keys do nothing here
        await pilot.press("question_mark")  # ? closes it too
        await wait_for(pilot, lambda: isinstance(app.screen, AnalyticsScreen))


async def test_a_key_remapped_in_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keymap]\nlong = "n"\n"ticket.cancel" = "f4"\nkeys = "f1"\n')
    make_app = app_factory(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", config=config)
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await pilot.press("l")  # the old key no longer opens a ticket
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderTicket))
        await pilot.press("f4")  # the ticket's cancel key, remapped too
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = help_rows(app)
        assert rows["long"] == "n" and rows["keys"] == "f1" and rows["short"] == "s"


def test_an_unknown_binding_id_stops_the_start_with_one_line(tmp_path: Path) -> None:
    """cli.main prints a ValueError as one `cockpit: ...` line and exits 2; the app is never run
    here (a key that slipped through would start the demo and the test would hang, not pass)."""
    config = tmp_path / "config.toml"
    config.write_text('[keymap]\nlonng = "n"\n')
    settings = load_settings(config, db_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    with pytest.raises(ValueError) as refused:
        demo_app(settings, seed=1, speed=None, paused=True)
    assert str(refused.value).startswith("[keymap] 'lonng' is not a binding id (known: ")
    assert "\n" not in str(refused.value)


async def test_escape_closes_every_modal_and_screen(make_app: AppFactory) -> None:
    app, feed = make_app(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await open_long(app, pilot)
        await feed.step(1)
        for key in ("l", "s", "c", "e", "r", "question_mark", "a", "g"):
            await pilot.press(key)
            await wait_for(pilot, lambda: not isinstance(app.screen, DashboardScreen))
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert len(app.session.latest.positions) == 1  # nothing was sent by any of them
