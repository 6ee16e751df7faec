"""The watchlist: one row per symbol of the session (last, 24 h change, ATR, feed state).

It redraws itself on its own timer from the rows the session gives (cockpit/watchlist.py), so
the dashboard only places it: a watchlist of a few symbols costs nothing per tick. With one
symbol it stays hidden (the header already shows that symbol's price and feed), which keeps the
single-symbol dashboard as it was. A symbol that is stale or down says so on its row, with the
reason: entries and automatic exits on it are held, the others trade on.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from cockpit.domain import FeedState
from cockpit.watch_rows import WatchRow
from widgets.formatting import price_text, signed_style
from widgets.header_bar import FEED_STYLES
from widgets.quiet import update_if_changed

REDRAW_S = 0.5
SYMBOL_WIDTH = 14


def row_text(row: WatchRow) -> Text:
    """`SOL/USDT:USDT  150.020  +1.25%  ATR 0.412  connected` (or the reason it is held)."""
    text = Text(f"{row.symbol[:SYMBOL_WIDTH]:<{SYMBOL_WIDTH}} ", style="bold")
    text.append(f"{price_text(row.last):>10}" if row.last is not None else f"{'—':>10}")
    if row.change_24h is None:
        text.append(f"{'—':>9}", style="dim")
    else:
        pct = 100 * row.change_24h
        text.append(f"{pct:>+8.2f}%", style=signed_style(pct))
    text.append("  ATR ", style="dim")
    text.append(f"{price_text(row.atr):>8}" if row.atr is not None else f"{'—':>8}")
    text.append("  ")
    state = row.status.state
    label = state.value
    if state is FeedState.STALE and row.status.age_s is not None:
        label = f"stale {row.status.age_s:.0f}s"
    if row.blocked is not None:
        style = FEED_STYLES[state] if state is not FeedState.CONNECTED else "yellow"
        text.append(f"{label}: ", style=style)
        text.append(f"{row.blocked}; no entries or automatic exits", style=style)
    else:
        text.append(label, style=FEED_STYLES[state])
    return text


def watchlist_text(rows: list[WatchRow]) -> Text:
    return Text("\n").join(row_text(row) for row in rows)


class Watchlist(Static):
    """Shown when the session has two symbols or more; `rows` is read every `REDRAW_S`."""

    def __init__(self, rows: Callable[[], list[WatchRow]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows = rows

    def on_mount(self) -> None:
        self.border_title = "Watchlist"
        self.redraw()
        self.set_interval(REDRAW_S, self.redraw)

    def redraw(self) -> None:
        rows = self._rows()
        self.display = len(rows) > 1
        if self.display:
            update_if_changed(self, watchlist_text(rows))
