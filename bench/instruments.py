"""Where a bench's time goes: garbage-collector pauses, the machine's own noise, the event loop's
callbacks and a cProfile of a window (used by bench/ui_latency.py and bench/tick_path.py).

Everything here is switched on around the measured window only and prints what it saw; nothing
is asserted. Times are wall (perf_counter) and CPU of the loop's thread (thread_time): a pause
whose wall time is far above its CPU time was the machine taking the core away, not the work.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import pstats
import statistics
import time
from asyncio import events
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


class GcPauses:
    """Every collection while `on` (gc.callbacks): generation, wall ms, CPU ms, objects freed."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float, int]] = []
        self._start = (0.0, 0.0)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = (time.perf_counter(), time.thread_time())
        else:
            wall, cpu = self._start
            self.pauses.append(
                (
                    info["generation"],
                    (time.perf_counter() - wall) * 1000,
                    (time.thread_time() - cpu) * 1000,
                    info["collected"],
                )
            )

    @contextmanager
    def on(self) -> Iterator[GcPauses]:
        gc.callbacks.append(self._callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._callback)

    def lines(self, seconds: float) -> list[str]:
        out = []
        for gen in range(3):
            mine = [p for p in self.pauses if p[0] == gen]
            if not mine:
                out.append(f"  gc gen {gen}: none")
                continue
            wall = [p[1] for p in mine]
            cpu = [p[2] for p in mine]
            out.append(
                f"  gc gen {gen}: {len(mine) / seconds:5.1f}/s, {sum(wall) / seconds:5.1f} ms/s, "
                f"max {max(wall):5.1f} ms wall ({max(cpu):4.1f} ms cpu), "
                f"{sum(p[3] for p in mine)} cyclic objects freed"
            )
        return out


async def heartbeat(seconds: float, period_s: float = 0.005) -> list[float]:
    """How late (ms) `asyncio.sleep(period_s)` wakes up, for `seconds`: run on an otherwise idle
    loop it is the machine's own noise (preemption by the other processes) in this process."""
    late: list[float] = []
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        await asyncio.sleep(period_s)
        late.append((time.perf_counter() - now - period_s) * 1000)
    return late


def idle_noise(seconds: float) -> tuple[float, float, float]:
    """p50, p99 and max ms of an idle loop's heartbeat lateness, on a fresh loop."""
    late = asyncio.run(heartbeat(seconds))
    return percentile(late, 50), percentile(late, 99), max(late, default=float("nan"))


async def duty(seconds: float, work_ms: float, period_ms: float) -> list[float]:
    """The machine's noise for a process that works like the cockpit's UI: every `period_ms`
    (a frame time) it spends `work_ms` of CPU (a frame's work, counted on the thread's CPU
    clock). Returns per job how much later than on an idle core it finished (ms): how late it
    started plus the wall time it took beyond its CPU time. An idle sleeper is woken promptly
    by the scheduler; a process busy a third of the time is not, so this is the fair floor."""
    added: list[float] = []
    end = time.perf_counter() + seconds
    due = time.perf_counter()
    while (now := time.perf_counter()) < end:
        if due > now:
            await asyncio.sleep(due - now)
        began = time.perf_counter()
        cpu0 = time.thread_time()
        while time.thread_time() - cpu0 < work_ms / 1000:
            pass
        done = time.perf_counter()
        added.append((done - due) * 1000 - work_ms)
        # As the dashboard schedules frames: a frame time after the last one began, or at
        # once when that has passed.
        due = max(began + period_ms / 1000, done)
    return added


def duty_noise(seconds: float, work_ms: float, period_ms: float) -> tuple[float, float]:
    """p50 and p99 ms of `duty`'s added delay, on a fresh loop."""
    added = asyncio.run(duty(seconds, work_ms, period_ms))
    return percentile(added, 50), percentile(added, 99)


class LoopCallbacks:
    """CPU and wall time of every event-loop callback while `on`, by what it runs (a Textual
    timer by its callback, a message pump by its widget class): which callback holds the loop."""

    def __init__(self) -> None:
        self.seen: dict[str, list[tuple[float, float]]] = defaultdict(list)

    @staticmethod
    def name(handle: events.Handle) -> str:
        callback: Any = handle._callback  # type: ignore[attr-defined]
        task = getattr(callback, "__self__", None)
        if not isinstance(task, asyncio.Task):
            return str(getattr(callback, "__qualname__", callback))
        coro: Any = task.get_coro()
        name = str(getattr(coro, "__qualname__", coro))
        frame = getattr(coro, "cr_frame", None)
        owner = frame.f_locals.get("self") if frame is not None else None
        if name == "Timer._run_timer" and owner is not None:
            name += ": " + str(getattr(owner._callback, "__qualname__", owner._callback))
        elif name == "MessagePump._process_messages" and owner is not None:
            name += ": " + type(owner).__name__
        return name

    @contextmanager
    def on(self) -> Iterator[LoopCallbacks]:
        original: Callable[[events.Handle], None] = events.Handle._run
        seen = self.seen

        def timed(handle: events.Handle) -> None:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                original(handle)
            finally:
                seen[LoopCallbacks.name(handle)].append(
                    ((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000)
                )

        events.Handle._run = timed  # type: ignore[method-assign]
        try:
            yield self
        finally:
            events.Handle._run = original  # type: ignore[method-assign]

    def lines(self, seconds: float, top: int = 12) -> list[str]:
        rows = sorted(self.seen.items(), key=lambda kv: -sum(c for _, c in kv[1]))[:top]
        out = [f"  {'loop callback':58} {'n/s':>6} {'cpu ms/s':>9} {'max ms':>7} {'>10ms':>6}"]
        for name, runs in rows:
            out.append(
                f"  {name[-58:]:58} {len(runs) / seconds:6.0f} "
                f"{sum(c for _, c in runs) / seconds:9.1f} {max(w for w, _ in runs):7.1f} "
                f"{sum(1 for w, _ in runs if w > 10):6d}"
            )
        return out


class Profile:
    """cProfile of the window while `on`: the functions that cost most, by own and total time."""

    def __init__(self) -> None:
        self.profile = cProfile.Profile()

    @contextmanager
    def on(self) -> Iterator[Profile]:
        self.profile.enable()
        try:
            yield self
        finally:
            self.profile.disable()

    def text(self, top: int = 20) -> str:
        out = io.StringIO()
        stats = pstats.Stats(self.profile, stream=out)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        return out.getvalue()
