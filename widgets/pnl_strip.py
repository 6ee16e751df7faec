"""One line under the header: realized today, unrealized, open risk to the stops, exposure."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cockpit.pnl_summary import PnlSummary
from widgets.formatting import signed_style
from widgets.quiet import update_if_changed


def strip_text(s: PnlSummary) -> Text:
    text = Text()

    def part(label: str, value: float, style: str | None = None) -> None:
        value = round(value, 2) + 0.0  # never "-0.00"
        if text:
            text.append("   ")
        text.append(f"{label} ", style="dim")
        text.append(f"{value:+,.2f}", style=signed_style(value) if style is None else style)

    part("realized today", s.realized_today)
    part("unrealized", s.unrealized)
    part("risk to stops", s.open_risk, "red" if s.open_risk < 0 else "green")
    text.append("   exposure L ", style="dim")
    text.append(f"{s.exposure_long:,.2f}", style="green" if s.exposure_long else "dim")
    text.append(" S ", style="dim")
    text.append(f"{s.exposure_short:,.2f}", style="red" if s.exposure_short else "dim")
    text.append(" USDT", style="dim")
    if s.unmarked:
        text.append(f"   {s.unmarked} without a price", style="yellow")
    if s.unstopped:
        text.append(f"   {s.unstopped} without a stop", style="bold red")
    return text


class PnlStrip(Static):
    def show(self, summary: PnlSummary) -> None:
        update_if_changed(self, strip_text(summary))
