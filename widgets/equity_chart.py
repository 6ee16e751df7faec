"""Equity and drawdown of the closed trades, as two sparklines with their key numbers."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static


def equity_caption(equity: Sequence[float]) -> Text:
    if not equity:
        return Text("Equity: no closed trades yet", style="dim")
    last = equity[-1]
    text = Text("Equity, cumulative net P&L  ")
    text.append(f"{last:+,.2f}", style="green" if last >= 0 else "red")
    text.append(f"   low {min(equity):+,.2f}  high {max(equity):+,.2f}", style="dim")
    return text


def drawdown_caption(drawdown: Sequence[float]) -> Text:
    if not drawdown:
        return Text("Drawdown: none yet", style="dim")
    text = Text("Drawdown, $ below the peak  ")
    text.append(f"max {max(drawdown):,.2f}", style="red" if max(drawdown) > 0 else "")
    text.append(f"   now {drawdown[-1]:,.2f}", style="dim")
    return text


class EquityChart(Vertical):
    """Fed by the analytics screen from the snapshot's `equity` and `drawdown` curves."""

    def compose(self) -> ComposeResult:
        yield Static(id="equity-caption")
        yield Sparkline([], id="equity-line", summary_function=lambda v: v[-1])
        yield Static(id="drawdown-caption")
        yield Sparkline([], id="drawdown-line", summary_function=max)

    def show(self, equity: Sequence[float], drawdown: Sequence[float]) -> None:
        self.query_one("#equity-caption", Static).update(equity_caption(equity))
        self.query_one("#drawdown-caption", Static).update(drawdown_caption(drawdown))
        self.query_one("#equity-line", Sparkline).data = list(equity)
        self.query_one("#drawdown-line", Sparkline).data = list(drawdown)
