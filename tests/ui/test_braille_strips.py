"""The price chart draws its lines straight into strips: they look exactly as the chart's Text
(`draw`) rendered by Textual, at any size, with and without prices; and a series of many points
is drawn with the same dots as joining every pair of them."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.widget import Widget

from tests.waiting import pilot_until
from widgets.braille_chart import (
    BrailleChart,
    ChartSpec,
    Level,
    Marker,
    Series,
    draw,
    line_dots,
    path_dots,
)

T0 = 1_750_000_000_000
WAVE = tuple((T0 + i * 1000, 100 + math.sin(i / 5)) for i in range(700))
SPECS = {
    "empty": ChartSpec(),
    "wave": ChartSpec(
        series=(Series(WAVE),),
        levels=(
            Level(99.5, "entry", "bold"),
            Level(99.0, "SL be", "red"),
            Level(100.5, "TP1", "green"),
        ),
    ),
    "step and markers": ChartSpec(
        series=(Series(WAVE[:50]), Series(((T0, 99.2), (T0 + 20_000, 99.6)), "red", step=True)),
        markers=(Marker(T0 + 5000, 100.2, "▲", "green"), Marker(T0 + 30_000, 99.4, "✕", "red")),
    ),
}


class TextChart(Widget):
    """The chart as it was drawn before: `draw`'s Text, rendered by Textual."""

    DEFAULT_CSS = "TextChart { height: 1fr; }"

    def __init__(self, spec: ChartSpec) -> None:
        super().__init__()
        self.spec = spec

    def render(self) -> Text:
        width, height = self.content_size
        return draw(self.spec, width, height)


class Pair(App[None]):
    CSS = "Vertical { height: 1fr; border: round $primary; padding: 0 1; }"

    def __init__(self, spec: ChartSpec) -> None:
        super().__init__()
        self.spec = spec

    def compose(self) -> ComposeResult:
        with Vertical():
            yield TextChart(self.spec)
        with Vertical():
            yield BrailleChart()

    def on_mount(self) -> None:
        self.query_one(BrailleChart).show(self.spec)


def shown(widget: Widget) -> list[list[Segment]]:
    """The widget's lines as text and look (without the mouse's metadata), merged where the
    look is the same."""
    width, height = widget.size
    return [
        list(
            Segment.simplify(
                Segment(s.text, s.style and s.style.clear_meta_and_links()) for s in strip
            )
        )
        for strip in widget.render_lines(Region(0, 0, width, height))
    ]


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("size", [(100, 30), (60, 14), (30, 10)])
async def test_the_strips_look_as_the_text_did(name: str, size: tuple[int, int]) -> None:
    app = Pair(SPECS[name])
    async with app.run_test(size=size) as pilot:
        text, strips = app.query_one(TextChart), app.query_one(BrailleChart)
        await pilot_until(pilot, lambda: strips.size.height > 0 and strips.draws > 0)
        assert text.size == strips.size
        assert shown(strips) == shown(text)


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 30)), min_size=1, max_size=60))
def test_a_path_has_the_dots_of_all_its_pairs(points: list[tuple[int, int]]) -> None:
    pts = sorted(points, key=lambda p: p[0])  # a series is ascending in time
    every_pair = {d for a, b in itertools.pairwise(pts) for d in line_dots(*a, *b)}
    if len(pts) == 1:
        every_pair = {pts[0]}
    assert set(path_dots(pts)) == every_pair
