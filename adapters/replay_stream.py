"""Per-symbol playback state of a `ReplayFeed`: its tick source, its candle book, the paced
market clock and the `step()` waiters. The feed's controls and its consumer drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from adapters.candle_ticks import CandleBook
from cockpit.domain import Tick

__all__ = ["Stream"]


@dataclass(eq=False)
class Stream:
    """Per-symbol playback state. Only the consumer task and the control methods touch it."""

    symbol: str
    source: Iterator[Tick]
    book: CandleBook
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    consuming: bool = False
    exhausted: bool = False
    error: str | None = None
    credits: int = 0
    released: int = 0
    acked: int = 0
    last_ts: int | None = None
    pending_ts: int | None = None
    anchor: tuple[float, float] | None = None
    """(monotonic wall time, market ms) from which the pending tick's due time is computed."""
    paused_market: float | None = None
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)

    async def sleep(self, delay: float | None) -> None:
        """Sleep `delay` seconds (None: indefinitely), waking early on any control change."""
        self.wake.clear()
        if delay is None:
            await self.wake.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self.wake.wait()

    def market_position(self, now: float, speed: float) -> float | None:
        """Where the paced market clock stands between the last and the pending tick."""
        if self.anchor is None:
            return None
        position = self.anchor[1] + (now - self.anchor[0]) * speed * 1000.0
        if self.pending_ts is not None:
            position = min(position, float(self.pending_ts))
        return position

    def settle(self, *, everything: bool = False) -> None:
        """Resolve the `step()` waiters whose ticks the consumer has taken (or all of them)."""
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for target, fut in self.waiters:
            if everything or self.acked >= target:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((target, fut))
        self.waiters = keep
