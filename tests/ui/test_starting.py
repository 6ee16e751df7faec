"""The cockpit draws its dashboard before its session exists (issue 14 item 3): a "starting"
state first (header, empty tables, the journal being opened, the session's keys greyed), then the
session built behind it and a live price; a start that fails is said and exits 2, with the
journal left exactly as it was. Through the command line's own app builders, the real session
and real SQLite files."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sqlite3
import threading
from itertools import pairwise
from pathlib import Path

import pytest
from textual.widgets import Static

import cockpit.cli as cli
from cockpit.app import CockpitApp
from cockpit.config import Settings
from cockpit.domain import FeedState
from cockpit.screens.dashboard import DashboardScreen
from state.instance_lock import InstanceLock
from tests.waiting import pilot_until
from widgets.positions_table import PositionsTable

SIZE = (150, 44)


def header(app: CockpitApp, part: str) -> str:
    return str(app.screen.query_one(f"#header-{part}", Static).render())


def held(app: CockpitApp, part: str = "build") -> threading.Event:
    """Hold the app's session build (or its feed's, `part="feed"`) until the returned event is
    set (what a slow import does)."""
    gate = threading.Event()
    make = getattr(app.start, part)

    def slow() -> object:
        gate.wait()
        return make()

    app.start = dataclasses.replace(app.start, **{part: slow})
    return gate


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_the_demo_is_drawn_starting_then_prices_show_while_the_journal_loads(
    tmp_path: Path,
) -> None:
    """The markets start before the session: their prices show while the journal is still
    unopened, and the session then takes every tick that was shown, in order, none twice."""
    db = tmp_path / "demo.db"
    app = cli.demo_app(Settings(db_url=f"sqlite+aiosqlite:///{db}"), seed=3, speed=10)
    markets = held(app, "feed")
    session = held(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            # the first frame: the dashboard, before any market or session
            assert isinstance(app.screen, DashboardScreen)
            feed = header(app, "feed")
            assert "starting" in feed and "opening journal demo.db" in feed, feed
            assert re.search(r"SOL-PERP \d", header(app, "price")) is None
            assert app.screen.query_one(PositionsTable).row_count == 0
            assert app._session is None
            # the session's keys are shown greyed, and do nothing yet; quitting would work
            assert app.check_action("open_ticket", ("long",)) is None
            assert app.check_action("toggle_mode", ()) is None
            assert app.check_action("quit", ()) is True
            await pilot.press("l")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)

            markets.set()  # the markets run; the session is still being built
            await pilot_until(
                pilot,
                lambda: re.search(r"SOL-PERP \d+\.\d+", header(app, "price")) is not None,
                what="a live price in the header",
            )
            assert "opening journal demo.db" in header(app, "feed")
            assert app._session is None and not db.exists()  # the journal is not opened yet
            shown = list(app.starter.view.latest.price_history["SOL-PERP"])

            session.set()
            await pilot_until(pilot, lambda: app.starter.started, what="the session running")
            await pilot_until(
                pilot, lambda: "starting" not in header(app, "feed"), what="the feed's state"
            )
            assert app.starter.failure is None
            assert app.check_action("open_ticket", ("long",)) is True
            assert any("demo: simulated SOL-PERP" in e.text for e in app.session.latest.events)
            taken = list(app.session.latest.price_history["SOL-PERP"])
            assert taken[: len(shown)] == shown  # every tick shown, first, in order
            stamps = [ts for ts, _ in taken]
            assert all(b - a == 1000 for a, b in pairwise(stamps))  # none lost, none twice
            await pilot.press("q")
    finally:
        markets.set()
        session.set()
    assert app.return_code in (0, None)
    assert db.exists()


async def test_quitting_while_the_session_is_built_closes_the_running_feed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "demo.db"
    app = cli.demo_app(Settings(db_url=f"sqlite+aiosqlite:///{db}"), seed=3, speed=10)
    markets = app.start.feed
    assert markets is not None
    session = held(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot_until(
                pilot,
                lambda: re.search(r"SOL-PERP \d+\.\d+", header(app, "price")) is not None,
                what="a live price in the header",
            )
            await pilot.press("q")
            session.set()  # the build's thread returns; the session it built never starts
    finally:
        session.set()
    assert not app.starter.started
    assert markets().status.state is FeedState.DOWN  # the early feed was closed


async def test_a_journal_that_is_not_a_database_is_said_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    db = tmp_path / "demo.db"
    db.write_bytes(b"these are not the rows you are looking for\n" * 200)
    before = digest(db)
    app = cli.demo_app(Settings(db_url=f"sqlite+aiosqlite:///{db}"), seed=3, speed=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot_until(pilot, lambda: app.starter.failure is not None, what="the failure")
    assert app.return_code == 2
    failure = app.starter.failure or ""
    assert failure.startswith("cockpit could not start: ") and "not a database" in failure
    assert "could not start" in app.starter.view.feed_status.detail  # the header said it
    assert digest(db) == before


def newer_journal(path: Path) -> None:
    """A journal stamped by a cockpit newer than this one, with a trade in it."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
        conn.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, symbol TEXT)")
        conn.execute("INSERT INTO trades VALUES (1, 'SOL-PERP')")
    conn.close()


def content(path: Path) -> list[tuple[object, ...]]:
    """Every table's name and every row of it."""
    with sqlite3.connect(path) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        rows = [(t, *row) for t in tables for row in conn.execute(f"SELECT * FROM {t}")]
    conn.close()
    return [(t,) for t in tables] + rows


async def test_a_journal_that_cannot_be_migrated_stops_the_start_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    """The session is built (a replay's builds without the journal), then its start fails in the
    migration: said, exit 2, the journal's tables and rows as they were (opening it in WAL mode
    rewrites a header byte, not a row)."""
    db = tmp_path / "r.db"
    newer_journal(db)
    before = content(db)
    csv = tmp_path / "sol.csv"
    csv.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        + "".join(f"{1_750_000_000_000 + 60_000 * i},100,101,99,100,1\n" for i in range(5))
    )
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}")
    app = cli.replay_app(settings, csv, "SOL-PERP", speed=None, paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot_until(pilot, lambda: app.starter.failure is not None, what="the failure")
    assert app.return_code == 2
    assert app._session is not None and not app.starter.started  # built, never started
    assert "9999" in (app.starter.failure or "")
    assert content(db) == before


def test_a_journal_held_by_another_cockpit_is_refused_before_any_screen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock is taken before the first frame (it is cheap): a second cockpit never draws."""
    db = tmp_path / "demo.db"

    def never(app: CockpitApp) -> int:
        raise AssertionError("the app was run")

    monkeypatch.setattr(cli, "_run", never)
    monkeypatch.setenv("COCKPIT_LOG_DIR", str(tmp_path))
    (tmp_path / "c.toml").write_text("")
    with InstanceLock(db):
        code = cli.main(
            ["--config", str(tmp_path / "c.toml"), "--db", f"sqlite+aiosqlite:///{db}", "demo"]
        )
    assert code == 2
    assert "is in use by cockpit pid" in capsys.readouterr().err
    assert not db.exists()
