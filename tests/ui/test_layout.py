"""The dashboard at the terminal sizes a trader uses: what must stay on screen stays."""

from __future__ import annotations

import pytest

from tests.ui.harness import AppFactory, rally, screen_text
from tests.ui.scenes import closed_then_open
from widgets.positions_table import COLUMNS, GIVE_WAY, NEVER_GO, PositionsTable, visible_columns


def test_columns_give_way_in_the_fixed_order_and_the_essential_ones_never() -> None:
    everything = tuple(key for key, _, _ in COLUMNS)
    assert visible_columns(10_000) == everything
    for width in range(200, 0, -1):
        shown = set(visible_columns(width))
        # whatever left at this width is the next one(s) of GIVE_WAY, never out of order
        left = [k for k in GIVE_WAY if k not in shown]
        assert left == list(GIVE_WAY[: len(left)])
        assert shown >= NEVER_GO, width
    assert {"id", "upnl", "sl", "state"} == NEVER_GO


@pytest.mark.parametrize(
    ("size", "hidden"),
    [((100, 30), {"venue", "mae", "mfe", "roe", "tp2", "move"}), ((160, 45), set())],
)
async def test_the_table_keeps_number_state_pnl_and_stop(
    make_app: AppFactory, size: tuple[int, int], hidden: set[str]
) -> None:
    app, feed = make_app(rally(steps=80))
    async with app.run_test(size=size) as pilot:
        trade_id = await closed_then_open(app, feed, pilot)
        table = app.screen.query_one(PositionsTable)
        shown = set(table.columns_shown)
        assert shown == {key for key, _, _ in COLUMNS} - hidden
        text = screen_text(app)
        row = next(line for line in text.splitlines() if f"#{trade_id} SOL-PERP" in line)
        pos = app.session.latest.positions[0]
        assert "breakeven" in row  # the state
        assert f"{pos.stop:.3f}" in row  # the stop
        assert "+0.2" in row  # the unrealized P&L
        footer = text.splitlines()[-1]
        assert "g Gates" in footer and "q Quit" in footer
        # the closed-trades panel still lists trade #1 under its header
        assert any(line.count("│") >= 2 and " 1  SOL-PERP" in line for line in text.splitlines())


async def test_a_resize_keeps_the_selected_trade_and_cells(make_app: AppFactory) -> None:
    app, feed = make_app(rally(steps=80))
    async with app.run_test(size=(220, 60)) as pilot:
        trade_id = await closed_then_open(app, feed, pilot)
        table = app.screen.query_one(PositionsTable)
        assert "venue" in table.columns_shown
        await pilot.resize_terminal(100, 30)
        for _ in range(200):
            await pilot.pause()
            if "venue" not in table.columns_shown:
                break
        assert "venue" not in table.columns_shown
        assert table.selected_trade_id == trade_id
        assert table.get_cell(f"trade-{trade_id}", "state").plain.strip() == "breakeven"
