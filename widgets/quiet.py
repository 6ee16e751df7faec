"""Update a widget only when what it shows changes: a redraw of an unchanged widget is waste.

And a change that keeps the content's footprint repaints the widget alone: Textual's
`Static.update` lays out the whole screen by default, which repaints every widget on it (on the
dashboard a frame of ~30 ms instead of a few) to place text that is where it was."""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

_BREAKS = re.compile(r"([ \n])")


def _plain(content: Text | str) -> str:
    return content.plain if isinstance(content, Text) else content


def line_widths(content: Text | str) -> tuple[int, ...]:
    """The width in cells of each line: an `auto` width (no wrapping) depends on nothing else."""
    return tuple(cell_len(line) for line in _plain(content).split("\n"))


def shape(content: Text | str) -> tuple[int, ...]:
    """The width in cells of each word, space and line break: text wrapped at a fixed width
    takes as many lines for two contents of one shape."""
    return tuple(cell_len(p) if p != "\n" else -1 for p in _BREAKS.split(_plain(content)))


def line_count(content: Text | str) -> int:
    return _plain(content).count("\n") + 1


def needs_layout(static: Static, shown: Text | str | None, content: Text | str) -> bool:
    """Whether `content` in place of `shown` can change `static`'s size."""
    if shown is None:
        return True
    styles = static.styles
    width, height = styles.width, styles.height
    if width is not None and width.is_auto:
        return line_widths(shown) != line_widths(content)
    if height is None or height.is_auto:
        if styles.text_wrap == "nowrap":  # one row per line, however long (the watchlist)
            return line_count(shown) != line_count(content)
        return shape(shown) != shape(content)
    return False


def update_if_changed(static: Static, content: Text | str) -> bool:
    """`static.update(content)` unless it already shows exactly that; True if it updated.

    The screen is laid out again only when the new content can change the widget's size."""
    shown = getattr(static, "_quiet_shown", None)
    if shown == content:
        return False
    static._quiet_shown = content  # type: ignore[attr-defined]
    static.update(content, layout=needs_layout(static, shown, content))
    return True
