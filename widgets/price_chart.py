"""Price sparkline with the selected position's levels (entry, SL, TP1, TP2) written beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from cockpit.domain import PositionState
from widgets.formatting import price_text


def levels_text(
    pos: PositionState | None,
    low: float | None,
    high: float | None,
    venue_note: str | None = None,
) -> Text:
    """One line of levels; the range seen in the sparkline helps read where the levels sit.

    `venue_note` is what the venue says of the position's stop ("stop on chain @ 147.75", or in
    red "stop not on chain: ..."); levels no price can reach (an adopted position's) are left
    out."""
    text = Text()
    if low is not None and high is not None:
        text.append(f"range {price_text(low)} .. {price_text(high)}", style="dim")
    if pos is None:
        return text
    role = pos.stop_role.value
    stop_label = "SL" if role == "stop_loss" else f"SL ({role.replace('_', ' ')})"
    for label, value, style in (
        ("entry", pos.entry, "bold"),
        (stop_label, pos.stop, "red"),
        ("TP1", None if pos.tp1_filled else pos.plan.tp1_price, "green"),
        ("TP2", None if pos.tp2_filled else pos.plan.tp2_price, "green"),
        ("peak", pos.peak if pos.trailing_active else None, "cyan"),
    ):
        if value is None or not 0 < value < math.inf:
            continue
        text.append(f"   {label} ", style=style)
        text.append(price_text(value))
    if pos.trailing_active:
        mult = pos.trail_mult if pos.trail_mult is not None else pos.plan.trail_atr_mult
        state = "paused" if pos.trail_paused else (f"{mult:g}xATR" if mult else "no ATR")
        text.append(f"   trail {state}", style="yellow" if pos.trail_paused else "cyan")
    if venue_note:
        calm = venue_note.startswith("stop on chain")
        text.append(f"   {venue_note}", style="dim" if calm else "bold red")
    return text


class PriceChart(Vertical):
    """Recent prices as a sparkline; levels of the selected position below it."""

    def compose(self) -> ComposeResult:
        yield Static(id="chart-title")
        yield Sparkline([], id="chart-sparkline", summary_function=max)
        yield Static(id="chart-levels")

    def show(
        self,
        symbol: str,
        prices: Sequence[float],
        pos: PositionState | None,
        venue_note: str | None = None,
    ) -> None:
        data = list(prices)
        self.query_one("#chart-title", Static).update(Text(f"{symbol} · last {len(data)} ticks"))
        sparkline = self.query_one(Sparkline)
        if data != sparkline.data:
            sparkline.data = data
        low = min(data) if data else None
        high = max(data) if data else None
        self.query_one("#chart-levels", Static).update(levels_text(pos, low, high, venue_note))
