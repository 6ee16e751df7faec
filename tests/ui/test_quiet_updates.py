"""A text line updated in place: the screen is laid out again only when the new text can change
the line's size, and a text that grows is never cut (widgets/quiet.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from tests.waiting import pilot_until
from widgets.quiet import needs_layout, update_if_changed


class Lines(App[None]):
    CSS = """
    #auto { width: auto; height: 1; }
    #wrapped { width: 12; height: auto; }
    #fixed { width: 20; height: 1; }
    #lines { width: 12; height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="auto")
        yield Static(id="wrapped")
        yield Static(id="fixed")
        yield Static(id="lines")


async def test_only_a_change_of_size_lays_the_screen_out() -> None:
    app = Lines()
    async with app.run_test(size=(40, 10)) as pilot:
        auto = app.query_one("#auto", Static)
        wrapped = app.query_one("#wrapped", Static)
        fixed = app.query_one("#fixed", Static)
        assert needs_layout(auto, None, "anything")  # the first text always
        assert not needs_layout(auto, "SOL 99.950", Text("SOL 99.951", style="red"))
        assert needs_layout(auto, "SOL 99.950", "SOL 100.050")  # a digit more: wider
        assert not needs_layout(wrapped, "aaa bbb ccc", "xyz uvw rst")
        assert needs_layout(wrapped, "aaa bbb ccc", "aaaa bb ccc")  # wraps elsewhere
        assert not needs_layout(fixed, "short", "a much longer line")  # its size is set

        update_if_changed(auto, "SOL 99.950")
        await pilot_until(pilot, lambda: auto.size.width == 10)
        update_if_changed(auto, "SOL 100.050")  # grows: laid out, not cut
        await pilot_until(pilot, lambda: auto.size.width == 11)
        assert str(auto.render()) == "SOL 100.050"
        update_if_changed(auto, "SOL 100.051")  # same size: shown without a layout
        await pilot_until(pilot, lambda: str(auto.render()) == "SOL 100.051")
        assert auto.size.width == 11


async def test_a_nowrap_block_is_laid_out_only_when_its_line_count_changes() -> None:
    """The watchlist: one unwrapped line per symbol, as tall as its lines. A price that gets
    longer (or shorter) keeps its height: it laid the whole screen out twice a second."""
    app = Lines()
    async with app.run_test(size=(40, 10)) as pilot:
        lines = app.query_one("#lines", Static)
        assert not needs_layout(lines, "SOL 99.95\nBTC 1.0", "SOL 100.05 +1%\nBTC 1.01")
        assert needs_layout(lines, "SOL 99.95\nBTC 1.0", "SOL 99.95")  # a symbol less
        assert needs_layout(lines, "SOL 99.95", "SOL 99.95\nETH 2.0")  # a symbol more

        update_if_changed(lines, "SOL 99.95")
        await pilot_until(pilot, lambda: lines.size.height == 1)
        update_if_changed(lines, "SOL 99.95\nETH 2.0")  # grows: laid out, not cut
        await pilot_until(pilot, lambda: lines.size.height == 2)
        update_if_changed(lines, "SOL 100.05 and more\nETH 2.1")  # same height, no layout
        await pilot_until(pilot, lambda: "ETH 2.1" in str(lines.render()))
        assert lines.size.height == 2
