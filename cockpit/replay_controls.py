"""The replay's speed ladder and one-bar step, for the trader's keys (`+`, `-`, `.`).

Speeds go 1, 10, 100, 1000, max (market seconds per wall second; max as fast as the machine
goes): a ladder, so two presses never jump from 100 straight to max. A speed set off the ladder
(`--speed 37`) moves to the next rung in the direction asked.
"""

from __future__ import annotations

from typing import Protocol

SPEEDS: tuple[float | None, ...] = (1.0, 10.0, 100.0, 1000.0, None)


class Controllable(Protocol):
    """What a feed offers to be driven by hand (the replay and demo feeds)."""

    @property
    def speed(self) -> float | None: ...

    @property
    def paused(self) -> bool: ...

    step_ticks: int

    def set_speed(self, speed: float | None) -> None: ...

    async def step(self, n: int = 1, symbol: str | None = None) -> None: ...


def _rank(speed: float | None) -> float:
    return float("inf") if speed is None else speed


def faster(feed: Controllable) -> float | None:
    """One rung up (max stays max); returns the new speed."""
    now = _rank(feed.speed)
    new = next((s for s in SPEEDS if _rank(s) > now), feed.speed)
    feed.set_speed(new)
    return new


def slower(feed: Controllable) -> float | None:
    """One rung down (1 stays 1); returns the new speed."""
    now = _rank(feed.speed)
    new = next((s for s in reversed(SPEEDS) if _rank(s) < now), feed.speed)
    feed.set_speed(new)
    return new


def speed_text(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}x"


async def step_bar(feed: Controllable) -> None:
    """While paused: play one bar (a candle replay's four ticks; one tick of the demo)."""
    if not feed.paused:
        raise ValueError("step one bar: pause the feed first (p)")
    await feed.step(feed.step_ticks)
