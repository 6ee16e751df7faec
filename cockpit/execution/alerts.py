"""What the positions table shows in red for a position, and the longer note under the chart.

Three sources, in order of urgency: a position restored beside another on its symbol (`hedged`),
an exit that keeps failing (`exit failing`, retried with backoff), and what a live venue's keeper
knows (stop not on chain, venue differs, exit placed).
"""

from __future__ import annotations

from cockpit.execution.book import HEDGED, PositionBook
from cockpit.execution.retry import ExitRetries
from cockpit.execution.venues import Keeper


class PositionAlerts:
    """Labels and notes for the UI, read on every refresh (no I/O)."""

    def __init__(self, book: PositionBook, retries: ExitRetries, keeper: Keeper | None) -> None:
        self._book = book
        self._retries = retries
        self._keeper = keeper

    def labels(self) -> dict[int, str]:
        """Trade id -> the short red label that replaces the state in the positions table."""
        alerts = {trade_id: HEDGED for trade_id in self._book.hedged}
        alerts.update(self._retries.alerts)
        if self._keeper is not None:
            alerts.update(self._keeper.venue_alerts)
        return alerts

    def note(self, trade_id: int | None) -> str | None:
        """The long form for the levels line under the chart, or None."""
        if trade_id is None:
            return None
        hedged = self._book.hedged.get(trade_id)
        if hedged is not None:
            return hedged
        failing = self._retries.why(trade_id)
        if failing is not None:
            return f"{failing} (retrying with backoff)"
        return None if self._keeper is None else self._keeper.stop_note(trade_id)
