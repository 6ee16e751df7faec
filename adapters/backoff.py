"""Exponential backoff with a cap and jitter, for reconnecting to an exchange.

Why jitter: after an exchange-wide outage every client retries at once; spreading the retries
keeps us from hammering the venue in lockstep (and from tripping its rate limit, HTTP 429, on
the way back). Why a cap: a cockpit that retries every 30 s notices the venue's return in time
to matter, one that doubles forever does not.
"""

from __future__ import annotations

import math
import random


class Backoff:
    """Delays initial, initial*factor, ... capped at `max_s`, each shrunk by up to `jitter`.

    `next_delay()` returns the wait before the next attempt and counts a failure; `reset()`
    after a success starts again from `initial_s`. Jitter only ever shortens a delay, so the
    cap holds exactly and tests can bound the wait.
    """

    def __init__(
        self,
        initial_s: float = 1.0,
        max_s: float = 30.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        if not (math.isfinite(initial_s) and initial_s > 0):
            raise ValueError(f"initial_s must be above 0, got {initial_s}")
        if not (math.isfinite(max_s) and max_s >= initial_s):
            raise ValueError(f"max_s must be at least initial_s ({initial_s}), got {max_s}")
        if not factor >= 1.0:
            raise ValueError(f"factor must be at least 1, got {factor}")
        if not 0.0 <= jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1), got {jitter}")
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self.jitter = jitter
        self._rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        """Count one more failure and return how long to wait before trying again."""
        exponent = min(self.failures, 64)  # 2**64 x anything is past any cap
        self.failures += 1
        base = min(self.max_s, self.initial_s * self.factor**exponent)
        return base * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """A success: the next failure waits `initial_s` again."""
        self.failures = 0
