"""The P2 win condition's baseline chosen on the analytics screen (issue 18 item 3): `b` opens
the chooser, the choice is checked, remembered across a restart and by `cockpit report`, and
audited; the A/B and shadow-vs-live tabs show their tables."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from textual.widgets import DataTable, Input, Select

from cockpit.analytics import present_extra
from cockpit.analytics.baseline import BaselineChoice
from cockpit.cli import main
from cockpit.screens.analytics import AnalyticsScreen
from tests.ui.harness import app_factory, rally
from tests.ui.test_analytics_ui import SAMPLE, SIZE, import_file, open_analytics, table_rows
from tests.waiting import pilot_until
from widgets.baseline_dialog import BaselineDialog


async def test_b_chooses_the_baseline_remembered_audited_and_used_by_the_report(
    tmp_path: Path,
) -> None:
    db = tmp_path / "cockpit.db"
    db_url = f"sqlite+aiosqlite:///{db}"
    await import_file(db_url, SAMPLE)
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE) as pilot:
        await open_analytics(app, feed, pilot)
        await pilot.press("b")
        await pilot_until(pilot, lambda: isinstance(app.screen, BaselineDialog))
        dialog = app.screen
        dialog.query_one("#kind", Select).value = "phase"
        dialog.query_one("#value", Input).value = "3"
        await pilot.press("enter")  # Phase 3 never started: refused, nothing written
        await pilot_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen))
        await pilot_until(
            pilot,
            lambda: any("Phase 3 has not started" in e.text for e in app.session.latest.events),
        )
        await pilot.press("b")
        await pilot_until(pilot, lambda: isinstance(app.screen, BaselineDialog))
        dialog = app.screen
        dialog.query_one("#kind", Select).value = "group"
        dialog.query_one("#value", Input).value = ""
        await pilot.press("enter")  # an empty value is said in the dialog
        assert isinstance(app.screen, BaselineDialog)
        dialog.query_one("#value", Input).value = "A"
        await pilot.press("enter")

        def chosen() -> bool:
            snap = app.session.latest.analytics
            return snap is not None and snap.baseline == BaselineChoice("group", "A")

        await pilot_until(pilot, chosen)
        screen = app.screen
        await pilot_until(  # the screen redraws on the new snapshot
            pilot,
            lambda: "Baseline: group:A" in str(screen.query_one("#attr-baseline").border_title),
        )
        snapshot = app.session.latest.analytics
        assert snapshot is not None and snapshot.comparison is not None
        assert snapshot.ab is not None
        [group_a] = [g for g in snapshot.ab.groups if g.name == "A"]
        assert snapshot.comparison.baseline.trades == group_a.trades > 0
        ab_tests = table_rows(screen.query_one("#ab-tests", DataTable))
        assert ab_tests == [
            tuple(c.strip() for c in row) for row in present_extra.ab_test_rows(snapshot)
        ]
        assert ab_tests[0][0] == "B vs A" and ab_tests[0][-1]  # trades still needed, said
        assert "No LIVE-SMALL fills yet." in str(screen.query_one("#fidelity-note").render())
    with sqlite3.connect(db) as conn:
        saved = conn.execute("SELECT value FROM settings WHERE key = 'analytics.baseline'")
        assert saved.fetchall() == [("group:A",)]
        audit = conn.execute("SELECT who, action FROM audit_events WHERE kind = 'baseline'")
        assert audit.fetchall() == [("ui", "choose baseline group:A")]

    # a restart keeps it, and the report uses it unless --baseline says otherwise
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE):
        await feed.step(1)
        await app.session.analytics_settled()
        snapshot = app.session.latest.analytics
        assert snapshot is not None and snapshot.baseline == BaselineChoice("group", "A")
    out = tmp_path / "report.md"
    assert await asyncio.to_thread(main, ["--db", db_url, "report", "--out", str(out)]) == 0
    assert "Baseline: A/B group A; now: the other groups." in out.read_text()
