"""The event log: orders, fills, stop moves, warnings, newest at the bottom."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from rich.text import Text
from textual.widgets import RichLog

LEVEL_STYLES = {
    "error": "bold red",
    "warning": "yellow",
    "trade": "cyan",
    "stop": "magenta",
    "info": "",
    "alert": "bold yellow",
}


class EventLog(RichLog):
    """Appends only events it has not shown yet (tracked by sequence number)."""

    def on_mount(self) -> None:
        self._last_seq = 0

    def add_events(self, events: Iterable[tuple[int, int, str, str]]) -> None:
        for seq, ts_ms, level, message in events:
            if seq <= self._last_seq:
                continue
            stamp = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%H:%M:%S")
            line = Text(f"{stamp} ", style="dim")
            line.append(message, style=LEVEL_STYLES.get(level, ""))
            # Wrap at the panel's width (RichLog otherwise measures against the console's width).
            width = self.scrollable_content_region.width
            self.write(line, width=width if width > 0 else None)
            self._last_seq = seq
