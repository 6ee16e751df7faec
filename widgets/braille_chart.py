"""A price chart in braille dots: series, level lines, markers, a price axis and a time axis.

Drawn by the cockpit itself (no plotting dependency): a braille cell holds 2x4 dots, so a
100x20 panel plots 200x80 points. The widget keeps what it was last given (`ChartSpec`, frozen
and comparable) and redraws only when that changes or the panel is resized: a refresh that
brings the same prices costs one comparison.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from widgets.formatting import price_text

# Braille dot bits by (column 0/1, row 0..3) inside one cell.
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
AXIS_WIDTH = 16


@dataclass(frozen=True, slots=True)
class Series:
    points: tuple[tuple[int, float], ...]
    """(time ms, price), ascending in time."""
    style: str = ""
    step: bool = False
    """Hold each value until the next point (a stop's history), instead of a straight line."""


@dataclass(frozen=True, slots=True)
class Level:
    price: float
    label: str
    style: str = ""


@dataclass(frozen=True, slots=True)
class Marker:
    ts_ms: int
    price: float
    glyph: str
    style: str = ""


@dataclass(frozen=True, slots=True)
class ChartSpec:
    series: tuple[Series, ...] = ()
    levels: tuple[Level, ...] = ()
    markers: tuple[Marker, ...] = ()
    t0_ms: int | None = None
    t1_ms: int | None = None
    """The time window; by default the first and last point of the series."""
    empty_text: str = "no prices yet"
    extra: tuple[str, ...] = field(default=())
    """Anything else the caller wants a redraw for when it changes (not drawn)."""


def _time_label(ts_ms: int, span_ms: int) -> str:
    stamp = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    if span_ms >= 2 * 86_400_000:
        return stamp.strftime("%m-%d %H:%M")
    return stamp.strftime("%H:%M" if span_ms >= 20 * 60_000 else "%H:%M:%S")


Run = tuple[str, str]
"""Some text and its style: a chart line is a few runs, one per stretch of one style."""


def draw(spec: ChartSpec, width: int, height: int) -> Text:
    """The chart as `height` lines of `width` cells (an empty Text if it cannot fit)."""
    rows = draw_rows(spec, width, height)
    out = Text(no_wrap=True, overflow="crop")
    for i, runs in enumerate(rows):
        if i:
            out.append("\n")
        for text, style in runs:
            out.append(text, style=style)
    return out


def line_dots(x0: int, y0: int, x1: int, y1: int) -> Iterator[tuple[int, int]]:
    """The dots of a straight line, both ends included."""
    steps = max(abs(x1 - x0), abs(y1 - y0), 1)
    for i in range(steps + 1):
        yield x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps


def path_dots(pts: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The dots of lines joining `pts` in order, as `line_dots` of every pair gives them.

    Consecutive points in one dot column are joined by the dots between their ys, so a run of
    them covers its lowest..highest y whatever the order: a 600-point series on a 150-dot-wide
    plot is drawn with ~150 short lines instead of 600 (the same dots)."""
    columns: list[list[int]] = []  # [x, first y, lowest, highest, last y]
    for x, y in pts:
        if columns and columns[-1][0] == x:
            column = columns[-1]
            column[2], column[3], column[4] = min(column[2], y), max(column[3], y), y
        else:
            columns.append([x, y, y, y, y])
    for x, _, low, high, _ in columns:
        yield from line_dots(x, low, x, high)
    for (x0, _, _, _, y0), (x1, y1, _, _, _) in itertools.pairwise(columns):
        yield from line_dots(x0, y0, x1, y1)


def draw_rows(spec: ChartSpec, width: int, height: int) -> list[list[Run]]:
    """The chart as up to `height` lines of runs (none if it cannot fit)."""
    plot_w, plot_h = width - AXIS_WIDTH, height - 1
    points = [p for s in spec.series for p in s.points]
    if plot_w < 8 or plot_h < 2:
        return []
    if not points:
        return [[(spec.empty_text, "dim")]]
    t0 = spec.t0_ms if spec.t0_ms is not None else min(t for t, _ in points)
    t1 = spec.t1_ms if spec.t1_ms is not None else max(t for t, _ in points)
    t1 = max(t1, t0 + 1)
    prices = [p for _, p in points if t0 <= _ <= t1] or [p for _, p in points]
    prices += [lv.price for lv in spec.levels if 0 < lv.price < math.inf]
    prices += [m.price for m in spec.markers]
    lo, hi = min(prices), max(prices)
    pad = (hi - lo) * 0.04 or abs(hi) * 0.002 or 1.0
    lo, hi = lo - pad, hi + pad
    dots_w, dots_h = plot_w * 2, plot_h * 4

    def dx(ts: int) -> int:
        return round((ts - t0) / (t1 - t0) * (dots_w - 1))

    def dy(price: float) -> int:
        return round((hi - price) / (hi - lo) * (dots_h - 1))

    bits = [[0] * plot_w for _ in range(plot_h)]
    styles: list[list[str | None]] = [[None] * plot_w for _ in range(plot_h)]
    glyphs: dict[tuple[int, int], tuple[str, str]] = {}

    def dot(x: int, y: int, style: str) -> None:
        if 0 <= x < dots_w and 0 <= y < dots_h:
            row, col = y // 4, x // 2
            bits[row][col] |= _DOT[x % 2][y % 4]
            styles[row][col] = style

    def line(x0: int, y0: int, x1: int, y1: int, style: str) -> None:
        for x, y in line_dots(x0, y0, x1, y1):
            dot(x, y, style)

    for level in spec.levels:
        if 0 < level.price < math.inf and lo <= level.price <= hi:
            y = dy(level.price)
            for x in range(0, dots_w, 3):
                dot(x, y, level.style or "dim")
    for series in spec.series:
        pts = [(dx(t), dy(p)) for t, p in series.points if t0 <= t <= t1]
        if series.step and series.points and pts:
            # a step series holds its last value to the window's end
            pts.append((dots_w - 1 if series.points[-1][0] <= t1 else pts[-1][0], pts[-1][1]))
        if series.step:
            for (x0, y0), (x1, y1) in itertools.pairwise(pts):
                line(x0, y0, x1, y0, series.style)
                line(x1, y0, x1, y1, series.style)
        else:
            for x, y in path_dots(pts):
                dot(x, y, series.style)
        if len(pts) == 1:
            dot(*pts[0], series.style)
    for marker in spec.markers:
        if t0 <= marker.ts_ms <= t1:
            glyphs[(dy(marker.price) // 4, dx(marker.ts_ms) // 2)] = (marker.glyph, marker.style)

    axis: dict[int, Run] = {}
    for level in spec.levels:
        if not (0 < level.price < math.inf and lo <= level.price <= hi):
            continue
        row = dy(level.price) // 4
        free = sorted(range(plot_h), key=lambda r: (abs(r - row), r))
        row = next((r for r in free if r not in axis), row)
        axis[row] = (f" {price_text(level.price)} {level.label}"[:AXIS_WIDTH], level.style)
    for row, price in ((0, hi - pad), (plot_h - 1, lo + pad)):
        if row not in axis:
            axis[row] = (f" {price_text(price)}", "dim")

    rows: list[list[Run]] = []
    for row in range(plot_h):
        cells = [chr(0x2800 + b) for b in bits[row]]
        row_styles = [s or "" for s in styles[row]]
        for (g_row, col), (glyph, style) in glyphs.items():
            if g_row == row:
                cells[col], row_styles[col] = glyph, style
        runs: list[Run] = []
        start = 0
        for col in range(1, plot_w + 1):  # one run per stretch of one style, not per cell
            if col == plot_w or row_styles[col] != row_styles[start]:
                runs.append(("".join(cells[start:col]), row_styles[start]))
                start = col
        if row in axis:
            runs.append(axis[row])
        rows.append(runs)
    rows.append([_time_axis(t0, t1, plot_w)])
    return rows


def _time_axis(t0: int, t1: int, plot_w: int) -> Run:
    span = t1 - t0
    sample = _time_label(t0, span)
    gap = len(sample) + 4
    line = [" "] * plot_w
    col = 0
    while col + len(sample) <= plot_w:
        ts = t0 + round(col / max(plot_w - 1, 1) * span)
        label = "└" + _time_label(ts, span)
        line[col : col + len(label)] = list(label)[: plot_w - col]
        col += gap + 1
    return "".join(line), "dim"


class BrailleChart(Widget):
    """Shows the last `ChartSpec` given to `show`; a spec equal to the shown one is a no-op.

    Its lines are drawn once per spec and size, straight into strips of segments: a chart is a
    few runs of braille per line, and going through a Rich Text and Textual's text layout for
    them cost more than drawing the dots."""

    DEFAULT_CSS = "BrailleChart { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spec = ChartSpec()
        self._strips: tuple[Size, Style, list[Strip]] | None = None
        self._base = Style()
        self.draws = 0
        """How many times the chart was drawn (a benchmark and tests read it)."""

    def show(self, spec: ChartSpec) -> bool:
        """Shows `spec`; False (and nothing redrawn) if it is the one already shown."""
        if spec == self.spec:
            return False
        self.spec = spec
        self._strips = None
        self.refresh()
        return True

    def notify_style_update(self) -> None:
        self._strips = None
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._base = self.rich_style  # once per render, not per line (it walks the ancestors)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        size, base = self.content_size, self._base
        if self._strips is None or self._strips[:2] != (size, base):
            style = self.app.console.get_style
            # Not padded: the widget's background fills the rest, as for a rendered Text.
            lines = [
                Strip([Segment(text, base + style(look)) for text, look in runs]).crop(
                    0, size.width
                )
                for runs in draw_rows(self.spec, size.width, size.height)
            ]
            self._strips = (size, base, lines)
            self.draws += 1
        lines = self._strips[2]
        if 0 <= y < len(lines):
            return lines[y]
        return Strip.blank(size.width, self.visual_style.rich_style)


def series_from(points: Sequence[tuple[int, float]], style: str = "") -> Series:
    return Series(tuple(points), style)
