"""The positions table writes only what changed (issue 14 item 1): a tick's price reaches its row,
the other rows are not written, and the trader's selection stays where it was.

Counted with the table's `cell_writes` (cells written per row), never with a clock."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from cockpit.app import CockpitApp
from cockpit.config import FixedPolicyConfig
from cockpit.domain import PositionState, Side
from cockpit.engine.policy import fixed_plan, open_position
from tests.ui.harness import AppFactory, rally, screen_text
from tests.ui.test_dashboard import SIZE, open_long
from tests.waiting import pilot_until
from widgets.event_log import EventLog
from widgets.positions_table import PositionsTable


def position(trade_id: int, symbol: str) -> PositionState:
    pos = open_position(
        fixed_plan(Side.LONG, 100.0, 0.2, FixedPolicyConfig()),
        symbol=symbol,
        leverage=2,
        opened_ms=0,
    )
    pos.trade_id = trade_id
    return pos


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PositionsTable(id="positions")


def mark(table: PositionsTable, trade_id: int) -> str:
    cell = table.get_cell(f"trade-{trade_id}", "mark")
    assert isinstance(cell, Text)
    return cell.plain.strip()


async def test_a_tick_writes_its_row_only_and_the_selection_stays() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 20)) as pilot:
        table = app.query_one(PositionsTable)
        sol, btc, eth = position(1, "SOL-PERP"), position(2, "BTC-PERP"), position(3, "ETH-PERP")
        marks = {"SOL-PERP": 100.0, "BTC-PERP": 100.0, "ETH-PERP": 100.0}
        table.sync([sol, btc, eth], marks)
        await pilot_until(pilot, lambda: table.row_count == 3)
        table.select_trade(2)
        table.focus()
        written = dict(table.cell_writes)

        table.sync([sol, btc, eth], marks)  # nothing new
        assert table.cell_writes == written

        table.sync([sol, btc, eth], {**marks, "SOL-PERP": 100.5})
        assert mark(table, 1) == "100.500"
        # the mark, the P&L, the move and the ROE of SOL's row; nothing of the others
        assert table.cell_writes["trade-1"] == written.get("trade-1", 0) + 4
        assert table.cell_writes["trade-2"] == written.get("trade-2", 0)
        assert table.cell_writes["trade-3"] == written.get("trade-3", 0)
        await pilot.pause()
        assert table.selected_trade_id == 2

        table.sync([btc, eth], marks)  # SOL closed: its row goes, the cursor stays on BTC
        await pilot.pause()
        assert table.row_count == 2 and table.selected_trade_id == 2
        await pilot.press("down")
        assert table.selected_trade_id == 3
        table.sync([btc, eth], {**marks, "BTC-PERP": 99.0})
        await pilot.pause()
        assert table.selected_trade_id == 3 and mark(table, 2) == "99.000"


async def test_the_dashboard_writes_a_row_when_its_price_moves_only(
    make_app: AppFactory,
) -> None:
    app, feed = make_app(rally(flat=1))
    async with app.run_test(size=SIZE) as pilot:
        await feed.step(1)
        trade_id = await open_long(app, pilot)
        table = app.screen.query_one(PositionsTable)
        key = f"trade-{trade_id}"
        await pilot_until(pilot, lambda: table.row_count == 1)
        await pilot.pause()
        written = table.cell_writes[key]

        # A frame with no new price (an event line): the row is not written.
        app.session.event("info", "a line that changes no price")
        events = app.screen.query_one("#events", EventLog)
        await pilot_until(pilot, lambda: "changes no price" in str(events.lines))
        assert table.cell_writes[key] == written

        # A tick: its price reaches the table, on screen.
        await feed.step(1)
        assert app.session.latest.last_tick["SOL-PERP"].price > 100.0
        price = f"{app.session.latest.last_tick['SOL-PERP'].price:.3f}"
        await pilot_until(pilot, lambda: mark(table, trade_id) == price, what="the new mark")
        assert table.cell_writes[key] > written
        assert row_on_screen(app, trade_id, price)


def row_on_screen(app: CockpitApp, trade_id: int, price: str) -> bool:
    row = next(line for line in screen_text(app).splitlines() if f"#{trade_id} SOL-PERP" in line)
    return price in row
