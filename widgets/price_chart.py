"""The price with a time axis, and the selected position's levels drawn as lines across it
(entry, stop, TP1, TP2, a runner's peak) and written under it with the venue's note."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cockpit.domain import PositionState
from widgets.braille_chart import BrailleChart, ChartSpec, Level, Series
from widgets.formatting import price_text
from widgets.quiet import update_if_changed


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


# Short enough for the chart's price axis.
STOP_LABELS = {
    "stop_loss": "SL",
    "breakeven": "SL be",
    "profit_lock": "SL lock",
    "trailing_stop": "SL trail",
    "manual_stop": "SL manual",
}


def position_levels(pos: PositionState | None) -> tuple[Level, ...]:
    """The selected position's level lines: entry, stop, the targets not yet filled, the peak."""
    if pos is None:
        return ()
    stop_label = STOP_LABELS.get(pos.stop_role.value, "SL")
    found = [
        Level(pos.entry, "entry", "bold"),
        Level(pos.stop, stop_label, "red"),
    ]
    if not pos.tp1_filled:
        found.append(Level(pos.plan.tp1_price, "TP1", "green"))
    if not pos.tp2_filled and pos.plan.tp2_price is not None:
        found.append(Level(pos.plan.tp2_price, "TP2", "green"))
    if pos.trailing_active and pos.peak is not None:
        found.append(Level(pos.peak, "peak", "cyan"))
    return tuple(lv for lv in found if 0 < lv.price < math.inf)


class PriceChart(Vertical):
    """Recent prices on a time axis; levels of the selected position across and below it."""

    def compose(self) -> ComposeResult:
        yield Static(id="chart-title")
        yield BrailleChart(id="chart-plot")
        yield Static(id="chart-levels")

    def show(
        self,
        symbol: str,
        points: tuple[tuple[int, float], ...],
        pos: PositionState | None,
        venue_note: str | None = None,
    ) -> None:
        """Redraws only what changed: the plot when its points or levels did, each line when
        its text did."""
        title = Text(f"{symbol} · last {len(points)} prices", style="bold")
        if pos is not None and pos.trade_id is not None:
            title.append(f"   #{pos.trade_id} {pos.side.value}", style="dim")
        update_if_changed(self.query_one("#chart-title", Static), title)
        self.query_one(BrailleChart).show(
            ChartSpec(series=(Series(points),), levels=position_levels(pos))
        )
        prices = [p for _, p in points]
        low = min(prices) if prices else None
        high = max(prices) if prices else None
        update_if_changed(
            self.query_one("#chart-levels", Static), levels_text(pos, low, high, venue_note)
        )
