"""A database that stops taking writes while the trader works: the cockpit stays up and says why.

Faults are real SQLite triggers (as a locked or full disk would fail a write). The trader's
commands write an audit row and an order row; when the database refuses them the command is
refused with the reason, nothing is sent, the app keeps running, and the same command works once
the database takes writes again. Entering LIVE-SMALL needs its mode-change row: refused while
the database fails; leaving LIVE-SMALL is never refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.domain import Mode
from cockpit.screens.dashboard import DashboardScreen
from tests.cockpit.test_execution_db_faults import fail_inserts, heal, rows
from tests.ui.harness import app_factory, rally
from tests.ui.test_dashboard import SIZE, open_long
from tests.ui.test_refusal_logged_once import lines_with
from tests.ui.test_runner_dialogs import settle as settle_orders
from tests.waiting import pilot_until
from widgets.confirm import ConfirmDialog
from widgets.runner_dialogs import StopRequest


async def test_a_close_while_the_database_fails_is_refused_and_works_after(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    app, feed = app_factory(f"sqlite+aiosqlite:///{db}")(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        await fail_inserts(db, "orders", "1")
        await fail_inserts(db, "audit_events", "1", name="fault_audit")
        app.positions.submit_close(trade_id)
        await settle(pilot, lambda: lines_with(app, f"#{trade_id} exit (manual_close) failed"))
        assert app.is_running, "a failing database must not take the cockpit down"
        assert [p.trade_id for p in app.session.latest.positions] == [trade_id]
        await heal(db, "fault", "fault_audit")
        app.positions.submit_close(trade_id)
        await settle(pilot, lambda: not app.session.latest.positions)
        assert app.is_running
    exits = rows(db, "SELECT reason, status FROM orders WHERE reason = 'manual_close'")
    assert exits == [("manual_close", "filled")], (
        "one close sent, and only after the database healed"
    )
    audited = rows(db, "SELECT action FROM audit_events WHERE action LIKE 'close #%'")
    assert len(audited) == 2, "the audit row of the refused attempt is written once it can be"


async def test_live_is_refused_while_its_row_cannot_be_written(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    app, feed = app_factory(f"sqlite+aiosqlite:///{db}", live=True)(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await fail_inserts(db, "mode_changes", "1")
        app.enter_live()
        await settle(pilot, lambda: lines_with(app, "LIVE-SMALL refused"))
        assert app.is_running
        assert app.session.latest.mode is Mode.SHADOW
        assert not app.has_class("-live-mode")
        await heal(db, "fault", "fault_audit")
        app.enter_live()
        await settle(pilot, lambda: app.has_class("-live-mode"))
        assert app.session.latest.mode is Mode.LIVE_SMALL
        await fail_inserts(db, "mode_changes", "1")
        app.leave_live()  # leaving is never refused: the row follows when it can
        await settle(pilot, lambda: not app.has_class("-live-mode"))
        assert app.session.latest.mode is Mode.SHADOW
        await heal(db, "fault", "fault_audit")
        await settle(pilot, lambda: app.session.latest.db_failing is None)
    changes = rows(db, "SELECT from_mode, to_mode FROM mode_changes ORDER BY id")
    assert changes == [("shadow", "live_small"), ("live_small", "shadow")]


async def settle(pilot: Pilot[None], done: Callable[[], object]) -> None:
    """Wait until `done()` holds and no worker of the app is still running (bounded, not timed)."""
    await settle_orders(pilot, done)
    await pilot_until(pilot, lambda: all(w.is_finished for w in pilot.app.workers), what="workers")


async def test_quit_asks_first_while_rows_are_held_in_memory(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    app, feed = app_factory(f"sqlite+aiosqlite:///{db}")(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        await fail_inserts(db, "audit_events", "1", name="fault_audit")
        app.positions.submit_stop(
            trade_id, StopRequest(150.0, False, "")
        )  # refused: its audit row waits
        await settle(pilot, lambda: app.session.unwritten() > 0)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog), "quitting would lose the held rows"
        assert "1 row(s)" in str(app.screen.query_one("#confirm-body", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, DashboardScreen)
        await heal(db, "fault", "fault_audit")
        await settle(pilot, lambda: app.session.unwritten() == 0)
        await pilot.press("q")
        await settle(pilot, lambda: not app.is_running)
    assert rows(db, "SELECT kind FROM audit_events WHERE kind = 'refusal'") == [("refusal",)]
