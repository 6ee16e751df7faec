"""The feed's keys: `p` pauses and resumes a demo or replay feed, `+`/`-` move along the replay's
speeds, `.` plays one bar while paused (cockpit/replay_controls.py has the ladder)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from textual.app import App

from cockpit.replay_controls import Controllable, faster, slower, speed_text, step_bar

if TYPE_CHECKING:
    from cockpit.session import Session


class FeedKeys:
    """Drives the session's feed by hand, when it can be driven (a live feed cannot)."""

    def __init__(self, app: App[None], session: Callable[[], Session | None]) -> None:
        self._app = app
        self._session = session

    def toggle_pause(self) -> None:
        session = self._session()
        if session is None:
            return
        feed = session.feed
        pause = getattr(feed, "pause", None)
        resume = getattr(feed, "resume", None)
        if pause is None or resume is None:
            self._app.notify("This feed is live and cannot be paused", severity="warning")
            return
        if getattr(feed, "paused", False):
            resume()
            session.event("info", "feed resumed")
        else:
            pause()
            session.event("info", "feed paused (p resumes)")

    def _controllable(self) -> tuple[Session, Controllable] | None:
        session = self._session()
        if session is None:
            return None
        feed = session.feed
        if all(hasattr(feed, name) for name in ("set_speed", "step", "step_ticks")):
            return session, cast("Controllable", feed)
        self._app.notify("This feed is live: its speed is the market's", severity="warning")
        return None

    def faster(self) -> None:
        found = self._controllable()
        if found is not None:
            session, feed = found
            session.event("info", f"replay speed {speed_text(faster(feed))}")

    def slower(self) -> None:
        found = self._controllable()
        if found is not None:
            session, feed = found
            session.event("info", f"replay speed {speed_text(slower(feed))}")

    def step(self) -> None:
        found = self._controllable()
        if found is None:
            return
        feed = found[1]
        if not feed.paused:
            self._app.notify(
                "Pause the feed first (p), then step one bar at a time", severity="warning"
            )
            return
        self._app.run_worker(step_bar(feed), group="replay-step", exclusive=True)
