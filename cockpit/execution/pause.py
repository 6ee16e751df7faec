"""Pause entries: no new position from any source, while the open ones are still managed.

freqtrade's most-asked-for switch ("stop new entries but keep managing open trades"): the
trader presses P, or a signal sender posts /pause, before news, during a feed problem, at the
end of a day. `Entries.open` refuses while paused, whoever asks (the ticket, a signal, a
test); exits, stops and closes never look at it. Every pause and resume is audited and logged;
the header shows the pause while it holds. It lasts for the session (a restart starts unpaused,
and the log says who paused last).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cockpit.execution.commands import Audit
from cockpit.execution.events import LatestState


class EntryPause:
    """The switch; its state is in `latest.entries_paused` (None while entries are allowed)."""

    def __init__(
        self,
        latest: LatestState,
        audit: Audit,
        event: Callable[[str, str], None],
        clock: Callable[[], int],
        audit_now: Audit | None = None,
    ) -> None:
        self._latest = latest
        self._audit = audit
        # Written at once or raising (not queued): a resume needs its row on disk first.
        self._audit_now = audit_now or audit
        self._event = event
        self._clock = clock

    @property
    def paused(self) -> str | None:
        """Who paused entries and when, or None."""
        return self._latest.entries_paused

    async def pause(self, who: str, why: str = "") -> bool:
        """Pause entries; False (and nothing audited) if they already were.

        The pause holds from this call on, even if its audit row cannot be written (a pause
        only ever takes risk away); that failure is logged."""
        if self._latest.entries_paused is not None:
            return False
        stamp = datetime.fromtimestamp(self._clock() / 1000, tz=UTC).strftime("%H:%M:%S UTC")
        self._latest.entries_paused = f"by {who} at {stamp}"
        self._latest.touch()
        self._event("warning", f"entries paused by {who}: open positions are still managed")
        try:
            await self._audit("pause", who, "pause entries", why or "no reason given")
        except Exception as exc:
            self._event("error", f"the pause holds, but its audit row was not written: {exc}")
        return True

    async def resume(self, who: str, why: str = "") -> bool:
        """Allow entries again; False if they were not paused, or if the resume's audit row
        cannot be written now. Resuming adds risk back: it happens only once its row is on
        disk (a row queued in memory could die with the process), and a failure is said in the
        event log while the header keeps showing the pause."""
        if self._latest.entries_paused is None:
            return False
        try:
            await self._audit_now("pause", who, "resume entries", why or "no reason given")
        except Exception as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._event("error", f"entries stay paused: the resume could not be recorded ({text})")
            return False
        self._latest.entries_paused = None
        self._latest.touch()
        self._event("info", f"entries resumed by {who}")
        return True
