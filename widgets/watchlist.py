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
STATE_WIDTH = 12


def short_names(symbols: list[str]) -> list[str]:
    """Each symbol by its base asset (`SOL` for SOL/USDT:USDT or SOL-PERP) when the bases tell
    them apart, else the full names: the row must fit a 100-column terminal's side column."""
    bases = [s.replace("-", "/").split("/")[0] for s in symbols]
    return bases if len(set(bases)) == len(bases) else list(symbols)


def row_text(row: WatchRow, name: str, width: int) -> Text:
    """`SOL  connected     150.020  +1.25%  ATR 0.4120`, and for a held symbol the reason at
    the end. The state comes right after the name, so a narrow terminal cuts the numbers and
    never the state."""
    text = Text(f"{name:<{width}} ", style="bold")
    state = row.status.state
    label = state.value
    if state is FeedState.STALE and row.status.age_s is not None:
        label = f"stale {row.status.age_s:.0f}s"
    held = row.blocked is not None
    style = FEED_STYLES[state] if not (held and state is FeedState.CONNECTED) else "yellow"
    text.append(f"{label:<{STATE_WIDTH}}", style=style)
    text.append(f"{price_text(row.last):>9}" if row.last is not None else f"{'—':>9}")
    if row.change_24h is None:
        text.append(f"{'—':>9}", style="dim")
    else:
        pct = 100 * row.change_24h
        text.append(f"{pct:>+8.2f}%", style=signed_style(pct))
    text.append("  ATR ", style="dim")
    text.append(price_text(row.atr) if row.atr is not None else "—")
    if row.blocked is not None:
        text.append(f"  {row.blocked}; no entries or automatic exits", style=style)
    return text


def watchlist_text(rows: list[WatchRow]) -> Text:
    names = short_names([row.symbol for row in rows])
    width = max((len(n) for n in names), default=0)
    return Text("\n").join(row_text(r, n, width) for r, n in zip(rows, names, strict=True))


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
