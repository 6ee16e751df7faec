"""Exits that failed: back off per position and exit, and say so once per failure streak.

A take-profit or stop whose order could not go out (the venue refused it, the RPC failed, the
database did not take the intent row) is re-armed by the engine, which asks again on the next
price through the level. Sending it again on every tick would flood the venue, the database and
the event log (127 refusals in 50 ticks was seen), so a failed exit is not sent again before its
backoff has passed: 1 s, 2 s, 4 s ... capped at 30 s. The positions table shows `exit failing`
with the short reason while a streak lasts; the log says it when the streak starts and ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.backoff import Backoff

EXIT_FAILING = "exit failing"


@dataclass
class _Streak:
    backoff: Backoff
    retry_at_ms: int
    why: str


class ExitRetries:
    """Backoff state for each (trade id, exit reason) whose last send failed."""

    def __init__(
        self, clock: Callable[[], int], *, initial_s: float = 1.0, max_s: float = 30.0
    ) -> None:
        self._clock = clock
        self._initial_s = initial_s
        self._max_s = max_s
        self._streaks: dict[tuple[int, str], _Streak] = {}

    def waiting(self, trade_id: int | None, reason: str) -> bool:
        """True while a failed exit's backoff has not passed: do not send it now."""
        if trade_id is None:
            return False
        streak = self._streaks.get((trade_id, reason))
        return streak is not None and self._clock() < streak.retry_at_ms

    def failed(self, trade_id: int | None, reason: str, why: str) -> tuple[bool, float]:
        """Count a failure; returns (first of its streak, seconds until the next try)."""
        if trade_id is None:
            return True, 0.0
        key = (trade_id, reason)
        streak = self._streaks.get(key)
        first = streak is None
        if streak is None:
            # No jitter: one cockpit's retries do not need spreading, and a fixed schedule is one
            # a trader (and a test) can predict.
            streak = _Streak(Backoff(self._initial_s, self._max_s, jitter=0.0), 0, why)
            self._streaks[key] = streak
        delay = streak.backoff.next_delay()
        streak.retry_at_ms = self._clock() + int(delay * 1000)
        streak.why = why
        return first, delay

    def succeeded(self, trade_id: int | None, reason: str) -> int:
        """The exit went out; returns how many failures its streak had (0: there was none)."""
        if trade_id is None:
            return 0
        streak = self._streaks.pop((trade_id, reason), None)
        return 0 if streak is None else streak.backoff.failures

    def forget(self, trade_id: int | None) -> None:
        """The position is gone: its streaks with it."""
        for key in [k for k in self._streaks if k[0] == trade_id]:
            del self._streaks[key]

    @property
    def alerts(self) -> dict[int, str]:
        """Trade id -> `exit failing` for the positions table's red state cell."""
        return {trade_id: EXIT_FAILING for (trade_id, _) in self._streaks}

    def why(self, trade_id: int) -> str | None:
        """The failing exit's reason and short cause, for the levels line under the chart."""
        for (tid, reason), streak in self._streaks.items():
            if tid == trade_id:
                return f"{EXIT_FAILING}: {reason} {streak.why}"
        return None
