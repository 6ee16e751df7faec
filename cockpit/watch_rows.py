"""One watchlist row per symbol of the session: what the widget shows (widgets/watchlist.py)
and the session fills (cockpit/watchlist.py). Data only, so the widget needs nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.domain import FeedStatus


@dataclass(frozen=True, slots=True)
class WatchRow:
    """`change_24h` is a fraction (None where the feed does not say); `blocked` is why entries
    and automatic exits on this symbol are held (stale or down), None while it trades."""

    symbol: str
    last: float | None
    change_24h: float | None
    atr: float | None
    status: FeedStatus
    blocked: str | None
