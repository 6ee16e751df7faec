"""The analytics screen's Exit lab tab and `cockpit report` under Pilot, on a real journal: the
counterfactual ledger's totals per policy, the discretion line and the e-ratio, and the exit
statistics (MFE capture, R, SQN) among the metrics; the report writes what the screen shows."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Static, TabbedContent

from cockpit.app import CockpitApp
from cockpit.cli import main
from cockpit.domain import Candle
from cockpit.screens.analytics import AnalyticsScreen
from tests.ui.harness import SYMBOL, app_factory
from tests.ui.test_dashboard import open_long, step_until
from tests.ui.test_trade_detail import STOPS_OUT
from tests.waiting import pilot_until

SIZE = (160, 48)


def rows_of(table: DataTable[Text]) -> list[tuple[str, ...]]:
    return [tuple(c.plain.strip() for c in table.get_row_at(i)) for i in range(table.row_count)]


async def stopped_trade_with_candles(app: CockpitApp) -> None:
    """What the recorder keeps after the entry: minutes that dip through the stop."""
    (trade,) = await app.session.require_store().closed_trades()
    first = -(-trade.entry_ts_ms // 60_000) * 60_000
    bars = [
        Candle(SYMBOL, "1m", first + 60_000 * i, 100.0, 100.1, 98.3, 98.6, 1.0) for i in range(70)
    ]
    await app.session.require_store().upsert_candles(bars)


async def test_the_exit_lab_tab_shows_the_ledger_and_the_report_says_the_same(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'cockpit.db'}"
    app, feed = app_factory(db_url)(STOPS_OUT)
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        await open_long(app, pilot)
        await step_until(feed, pilot, lambda: not app.session.latest.positions)
        await stopped_trade_with_candles(app)
        ledger = app.session.ledger
        ledger.kick()
        await pilot_until(
            pilot, lambda: ledger.totals is not None and any(s.results for s in ledger.totals.sets)
        )
        await app.session.analytics_settled()
        await pilot.press("g")
        await pilot_until(pilot, lambda: isinstance(app.screen, AnalyticsScreen))
        screen = app.screen
        screen.query_one("#analytics-tabs", TabbedContent).active = "tab-exit-lab"
        await pilot.pause()
        table: DataTable[Text] = screen.query_one("#exit-lab-sets", DataTable)
        await pilot_until(pilot, lambda: table.row_count == 4)
        shown = rows_of(table)
        fixed = next(r for r in shown if r[0] == "fixed")
        # one trade, stopped at the stop's level: -1.50 % of notional, no win
        assert fixed[1:5] == ("1", "1", "0.0%", "-1.50%")
        atr = next(r for r in shown if r[0] == "atr_scaled")
        assert atr[1:3] == ("1", "0") and atr[-1] == "1"  # refused: the trade had no ATR
        lines = str(screen.query_one("#exit-lab-lines", Static).render())
        assert "Discretion: no trade with manual actions" in lines
        assert "E-ratio" in lines and "N=60:" in lines
        metrics = dict(
            (r[0], r[1]) for r in rows_of(screen.query_one("#analytics-metrics", DataTable))
        )
        assert "MFE capture (exit move / MFE)" in metrics
        assert metrics["Average R (net P&L / risk to SL)"].endswith("(1)")
        await pilot.press("escape")

    out = tmp_path / "report.md"
    assert await asyncio.to_thread(main, ["--db", db_url, "report", "--out", str(out)]) == 0
    report = out.read_text().splitlines()
    assert "## Counterfactual ledger (exit lab)" in report
    for row in shown:
        assert "| " + " | ".join(row) + " |" in report, row
    assert any(line.startswith("Discretion: no trade with manual actions") for line in report)
