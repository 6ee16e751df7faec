"""A token bucket per source: a burst at once, then a steady rate.

A misconfigured alert that fires every bar, or someone guessing tokens, must not be able to
fill the database or the screen. Each source (peer address) holds up to `burst` tokens and
gains `rate_per_min` a minute; a request takes one or is answered 429 with when to come back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_SOURCES = 10_000  # past this many, the fullest buckets are forgotten (they are full anyway)


@dataclass
class _Bucket:
    tokens: float
    at_ms: int
    limited: bool = False


class RateLimiter:
    def __init__(self, rate_per_min: float, burst: int, clock: Callable[[], int]) -> None:
        self._rate_per_ms = rate_per_min / 60_000
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, source: str) -> tuple[bool, float, bool]:
        """(allowed, seconds until the next token, first refusal of a streak) for one request."""
        now = self._clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            if len(self._buckets) >= MAX_SOURCES:
                self._forget_full(now)
            bucket = self._buckets[source] = _Bucket(self._burst, now)
        elapsed = max(0, now - bucket.at_ms)
        bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate_per_ms)
        bucket.at_ms = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.limited = False
            return True, 0.0, False
        first = not bucket.limited
        bucket.limited = True
        return False, (1.0 - bucket.tokens) / self._rate_per_ms / 1000, first

    def _forget_full(self, now: int) -> None:
        for source, bucket in list(self._buckets.items()):
            refilled = bucket.tokens + (now - bucket.at_ms) * self._rate_per_ms
            if refilled >= self._burst:
                del self._buckets[source]
