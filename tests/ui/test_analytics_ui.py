"""The gate panel and the analytics screen under Pilot, on a real journal file.

The panel must change when a trade closes (the session recomputes the analytics then), `g` opens
the analytics screen and Escape closes it, and `cockpit report` writes what the screen shows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable

from adapters.replay import ReplayFeed
from adapters.trades_csv import load_trades_csv
from cockpit.analytics import present
from cockpit.app import CockpitApp
from cockpit.cli import main
from cockpit.screens.analytics import AnalyticsScreen
from cockpit.screens.dashboard import DashboardScreen
from state.journal import import_trades
from state.store import Store
from tests.ui.harness import START_MS, app_factory, rally
from tests.ui.test_dashboard import open_long, redraw, step_until
from tests.waiting import pilot_until
from widgets.gate_panel import GatePanel

SIZE = (150, 45)
SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def import_file(db_url: str, path: Path) -> None:
    store = await Store.open(db_url)
    try:
        await import_trades(store, load_trades_csv(path), now_ms=START_MS)
    finally:
        await store.close()


async def import_winners(db_url: str, tmp_path: Path, n: int) -> None:
    """`n` winning longs (+1 each), one a day, all before the scripted market starts."""
    rows = ["symbol,side,entry_time,entry_price,exit_time,exit_price,size"]
    for k in range(n):
        entry = START_MS - (k + 1) * 86_400_000
        rows.append(f"SOL-PERP,long,{iso(entry)},100,{iso(entry + 60_000)},101,1")
    path = tmp_path / "winners.csv"
    path.write_text("\n".join(rows) + "\n")
    await import_file(db_url, path)


def panel_line(app: CockpitApp, label: str) -> str:
    panel = app.screen.query_one(GatePanel)
    return next(line for line in panel.line_texts() if label in line)


async def open_analytics(app: CockpitApp, feed: ReplayFeed, pilot: Pilot[None]) -> AnalyticsScreen:
    """The first price, the analytics settled, then `g`: the analytics screen once it is up."""
    await feed.step(1)
    await app.session.analytics_settled()
    await pilot.press("g")
    await pilot_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen))
    screen = app.screen
    assert isinstance(screen, AnalyticsScreen)
    return screen


def table_rows(table: DataTable[Text]) -> list[tuple[str, ...]]:
    return [
        tuple(cell.plain.strip() for cell in table.get_row_at(i)) for i in range(table.row_count)
    ]


async def test_gate_panel_changes_when_a_trade_closes(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cockpit.db'}"
    await import_winners(db_url, tmp_path, 29)
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await app.session.analytics_settled()
        await redraw(app, pilot)
        assert panel_line(app, "Win rate") == "NEED Win rate ≥ 50%    29/30 trades"
        assert len(app.screen.query_one(GatePanel).line_texts()) == 9

        await open_long(app, pilot)
        pos = app.session.latest.positions[0]
        await step_until(feed, pilot, lambda: pos.closed)  # TP1, then TP2 closes the rest
        await app.session.analytics_settled()
        await redraw(app, pilot)
        # the 30th trade, a winner too: 30 of 30
        assert panel_line(app, "Win rate") == (
            "PASS Win rate ≥ 50%    100.0% of 30, 95% 100.0%..100.0%"
        )
        assert panel_line(app, "Profit factor") == "PASS Profit factor > 2 no losing trades"


async def test_g_opens_the_analytics_screen_and_escape_closes_it(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cockpit.db'}"
    await import_file(db_url, SAMPLE)
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analytics(app, feed, pilot)
        snapshot = app.session.latest.analytics
        assert snapshot is not None and snapshot.trades == 60
        gates = table_rows(screen.query_one("#analytics-gates", DataTable))
        assert gates == [tuple(c.strip() for c in row) for row in present.gate_rows(snapshot.gates)]
        states = {row[1] for row in gates if row[1]}
        assert states <= {"PASS", "FAIL", "NEED"} and len([r for r in gates if r[1]]) == 9
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_the_report_says_what_the_screen_shows(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cockpit.db'}"
    await import_file(db_url, SAMPLE)
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analytics(app, feed, pilot)
        shown = {
            name: table_rows(screen.query_one(f"#{name}", DataTable))
            for name in ("analytics-gates", "analytics-metrics", "attr-symbol", "attr-quality")
        }
        await pilot.press("escape")

    out = tmp_path / "report.md"
    # the command as a trader runs it (in a thread: it runs its own event loop)
    assert await asyncio.to_thread(main, ["--db", db_url, "report", "--out", str(out)]) == 0
    lines = set(out.read_text().splitlines())
    for name, rows in shown.items():
        assert rows, name
        for row in rows:
            assert "| " + " | ".join(row) + " |" in lines, (name, row)


async def test_the_analytics_screen_shows_each_phase_against_the_one_before(
    tmp_path: Path,
) -> None:
    from state.phase_rows import start_phase

    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cockpit.db'}"
    await import_file(db_url, SAMPLE)
    store = await Store.open(db_url)
    try:
        now = 1_800_000_000_000  # 2027: both starts are in its past
        await start_phase(store, 1, at_ms=1_735_689_600_000, now_ms=now, who="test")
        await start_phase(store, 2, at_ms=1_760_486_400_000, now_ms=now, who="test")
    finally:
        await store.close()
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE) as pilot:
        await open_analytics(app, feed, pilot)
        snapshot = app.session.latest.analytics
        assert snapshot is not None and [p.phase for p in snapshot.phases] == [1, 2]
        gates = table_rows(app.screen.query_one("#analytics-gates", DataTable))
        labels = [row[0] for row in gates if row[0]]
        assert labels[-2:] == ["Ph2 success", "Overall 2x"]
        assert "average P&L vs Phase 1" in {row[2] for row in gates}


async def test_start_the_next_phase_from_the_analytics_screen(tmp_path: Path) -> None:
    import sqlite3

    from widgets.confirm import ConfirmDialog

    db_path = tmp_path / "cockpit.db"
    db_url = f"sqlite+aiosqlite:///{db_path}"
    await import_file(db_url, SAMPLE)
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE) as pilot:
        await open_analytics(app, feed, pilot)
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")  # cancelled: nothing written
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        await pilot.click("#confirm-yes")
        for _ in range(600):  # until the session has written it and the analytics show it
            snapshot = app.session.latest.analytics
            if snapshot is not None and snapshot.phases:
                break
            await asyncio.sleep(0.05)
            await app.session.analytics_settled()
        snapshot = app.session.latest.analytics
        assert snapshot is not None and [p.phase for p in snapshot.phases] == [1]
        assert isinstance(app.screen, AnalyticsScreen)
        assert app.screen.next_phase() == 2
    with sqlite3.connect(db_path) as conn:
        audit = conn.execute("SELECT who, action FROM audit_events WHERE kind = 'phase'").fetchall()
        assert len(audit) == 1 and audit[0][0] == "ui" and "start Phase 1" in audit[0][1]
        assert conn.execute("SELECT phase FROM phases").fetchall() == [(1,)]


async def test_the_filters_tab_says_what_the_proof_documents_say(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cockpit.db'}"
    await import_file(db_url, SAMPLE)
    app, feed = app_factory(db_url)(rally())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_analytics(app, feed, pilot)
        shown = table_rows(screen.query_one("#attr-filters", DataTable))
        await pilot.press("escape")
    tests = {row[0] for row in shown}
    assert tests == {
        "Confidence",
        "Regime",
        "Direction x regime",
        "Portfolio DD",
        "Portfolio corr",
    }
    assert sum(1 for row in shown if row[1] == "answer") == 5
    out = tmp_path / "proofs"
    out.mkdir()
    for kind in ("confidence", "regime", "portfolio"):
        args = ["--db", db_url, "report", "--kind", kind, "--out", str(out)]
        assert await asyncio.to_thread(main, args) == 0
    documents = {
        "Confidence": (out / "CONFIDENCE_FILTER_ANALYSIS.md").read_text(),
        "Regime": (out / "REGIME_FILTER_ANALYSIS.md").read_text(),
        "Direction x regime": (out / "REGIME_FILTER_ANALYSIS.md").read_text(),
        "Portfolio DD": (out / "PORTFOLIO_CORRELATION_ANALYSIS.md").read_text(),
        "Portfolio corr": (out / "PORTFOLIO_CORRELATION_ANALYSIS.md").read_text(),
    }
    for test, group, *cells in shown:
        text = documents[test]
        if group == "answer":
            assert f"**Answer: {cells[-1]}.**" in text, (test, cells)
        elif not test.startswith("Portfolio"):
            assert "| " + " | ".join([group, *cells]) + " |" in text.splitlines(), (test, group)
