"""`cockpit replay FILE`: candles become ticks, a position is managed on them, the end is shown."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from textual.widgets import DataTable, Static

from adapters.replay import ReplayFeed
from cockpit.cli import replay_app
from cockpit.config import Settings
from cockpit.replay_summary import ReplayResult
from cockpit.screens.dashboard import DashboardScreen
from cockpit.screens.replay_result import ReplayResultScreen
from tests.ui.test_dashboard import SIZE, open_long, redraw
from tests.waiting import pilot_until

BARS = [
    # timestamp_ms, open, high, low, close, volume
    (1_750_000_000_000, 100.0, 100.2, 99.9, 100.1, 10),
    (1_750_000_060_000, 100.1, 100.3, 98.0, 98.5, 12),  # down bar: open, high, LOW, close
    (1_750_000_120_000, 98.5, 99.0, 98.2, 98.9, 8),
]


def write_csv(path: Path) -> Path:
    lines = ["timestamp_ms,open,high,low,close,volume"]
    lines += [",".join(str(v) for v in bar) for bar in BARS]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_replay_stops_out_on_the_bar_low_and_says_when_the_file_ends(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "sol.csv")
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    app = replay_app(settings, csv, "SOL-PERP", speed=None, paused=True)
    feed = app.session.feed
    assert isinstance(feed, ReplayFeed)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await redraw(app, pilot)
        assert "SOL-PERP 100.000" in str(app.screen.query_one("#header-price", Static).render())
        # the header clock is the data's time, with its date (the file is from June 2025)
        data_now = datetime.fromtimestamp((feed.market_ms or 0) / 1000, tz=UTC)
        clock = str(app.screen.query_one("#header-clock", Static).render())
        assert clock == data_now.strftime("%Y-%m-%d %H:%M:%S UTC")
        assert clock.startswith("2025-06-15")
        trade_id = await open_long(app, pilot, notional="20")
        pos = app.session.latest.positions[0]
        assert pos.stop < 98.6  # -1.5 % from about 100.0

        feed.resume()
        # the end of the data opens the run's result over the dashboard; Escape closes it
        await pilot_until(pilot, lambda: isinstance(app.screen, ReplayResultScreen))
        await pilot.press("escape")
        await pilot_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await redraw(app, pilot)
        assert pos.closed
        feed_text = str(app.screen.query_one("#header-feed", Static).render())
        assert "down" in feed_text and "replay finished" in feed_text

    with sqlite3.connect(tmp_path / "r.db") as db:
        reason, exit_price = db.execute(
            "SELECT exit_reason, exit_price FROM trades WHERE id = ?", (trade_id,)
        ).fetchone()
    assert reason == "stop_loss"
    # filled at the first price through the stop (the bar's low, 98.0), less costs: not at the stop
    assert 97.9 < exit_price < 98.0


def figures(screen: ReplayResultScreen) -> dict[str, str]:
    table = screen.query_one("#replay-result-figures", DataTable)
    return {
        str(row[0]): str(row[1]) for row in (table.get_row_at(i) for i in range(table.row_count))
    }


async def play_to_the_end(tmp_path: Path, csv: Path) -> ReplayResult:
    """One run of `csv` in `tmp_path`'s replay database with one long stopped out; returns the
    result its panel showed, after checking the panel stays until closed and `f` reopens it."""
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    app = replay_app(settings, csv, "SOL-PERP", speed=None, paused=True)
    feed = app.session.feed
    assert isinstance(feed, ReplayFeed)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await redraw(app, pilot)
        await open_long(app, pilot, notional="20")
        feed.resume()
        await pilot_until(pilot, lambda: isinstance(app.screen, ReplayResultScreen))
        panel = app.screen
        assert isinstance(panel, ReplayResultScreen)
        await pilot_until(pilot, lambda: figures(panel), what="the panel's figures")
        shown = figures(panel)
        assert shown["Trades closed"] == "1"
        assert shown["Win rate"] == "0.0 % (0 won)"
        assert shown["Exits by reason"] == "stop_loss 1"
        assert shown["Net P&L"].startswith("-") and shown["Net P&L"].endswith("USDT after fees")
        gates = panel.query_one("#replay-result-gates", DataTable)
        assert gates.row_count >= 1  # the decision gates, over this run's one trade
        title = str(panel.query_one("#replay-result-title", Static).render())
        assert "of sol.csv" in title and "data ended 2025-06-15" in title
        # it stays: more frames of the dashboard do not take it away
        await redraw_behind(app, pilot)
        assert app.screen is panel
        await pilot.press("escape")
        await pilot_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await pilot.press("f")
        await pilot_until(pilot, lambda: isinstance(app.screen, ReplayResultScreen))
        await pilot.press("escape")
        result = panel.result
    return result


async def redraw_behind(app: object, pilot: object) -> None:
    from cockpit.app import CockpitApp

    assert isinstance(app, CockpitApp)
    dashboard = next(s for s in app.screen_stack if isinstance(s, DashboardScreen))
    dashboard.refresh_view()
    await pilot.pause()  # type: ignore[attr-defined]


async def test_each_replay_is_a_run_with_its_own_result_that_stays_on_screen(
    tmp_path: Path,
) -> None:
    csv = write_csv(tmp_path / "sol.csv")
    first = await play_to_the_end(tmp_path, csv)
    second = await play_to_the_end(tmp_path, csv)
    assert (first.run_id, second.run_id) == (1, 2)
    # the second run counts its own trade only, though the database holds both
    assert (first.trades, second.trades) == (1, 1)
    with sqlite3.connect(tmp_path / "r.db") as db:
        runs = db.execute(
            "SELECT id, source, status, trades, after_trade_id, summary FROM replay_runs"
        ).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in runs] == [
        (1, "sol.csv", "finished", 1, 0),
        (2, "sol.csv", "finished", 1, 1),
    ]
    assert runs[1][5].startswith("replay finished: 1 trade(s), win rate 0 %")
    assert runs[1][5].endswith("(run 2)")
