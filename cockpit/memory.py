"""The garbage collector while the cockpit streams: short pauses, and memory still bounded.

Measured (bench/ui_latency.py, 1,000 ticks/s, 10 positions): Textual leaves ~1,500 objects a
second in reference cycles (every `Strip` that is cut to its own width caches itself), and the
ones a cache held long enough reach the oldest generation, so a full collection ran every 3-5 s
and walked everything created since the start that was not frozen (modules imported lazily, the
screens, the caches): 25-40 ms of CPU inside a frame, the worst tick-to-screen latencies.

So, once the session is up (`settle`): collect (nothing that is garbage by then is kept), then
`gc.freeze()` what is alive, which lives as long as the cockpit anyway, so full collections no
longer walk it; the dashboard settles a second time a few seconds later, after what the first
frames loaded lazily. And a full collection runs after `FULL_EVERY` collections of the middle
generation instead of Python's 10 (about every 15 s at that rate instead of every 3-5). Every
generation is still collected automatically, so cyclic garbage never piles up; only what is alive
at a settle is frozen, and there are at most `MAX_SETTLES` of them (tests/cockpit/test_memory.py).

Background jobs too (issue 18 item 8): any thread's allocations can trigger a full collection,
so the ledger's kernel or the analytics stalled the event loop 50-160 ms on the loaded machine.
`freeze_long_lived` freezes once a big, long-lived load has finished (the ledger's numba sets,
the analytics' trade cache); `collector_paused` keeps automatic collections off while a worker
builds a snapshot; `release` frees an old snapshot in the worker, not on the loop.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

FULL_EVERY = 50
"""Collections of generation 1 between two full collections (Python's default: 10)."""
MAX_SETTLES = 2
SETTLE_AGAIN_S = 5.0
"""The dashboard settles again this long after the first time (cockpit/screens/dashboard.py)."""


class MemoryPolicy:
    """The process's collector policy (gc is process-wide, so is this: `POLICY`)."""

    def __init__(self, max_settles: int = MAX_SETTLES, full_every: int = FULL_EVERY) -> None:
        self.max_settles = max_settles
        self.full_every = full_every
        self.settles = 0

    def settle(self) -> bool:
        """Freeze what is alive now (after a full collection: no garbage is frozen) and space
        out full collections. Does nothing after `max_settles` calls; True if it settled."""
        if self.settles >= self.max_settles:
            return False
        self.settles += 1
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, self.full_every)
        return True


POLICY = MemoryPolicy()

_FROZEN: set[str] = set()


def freeze_long_lived(load: str) -> None:
    """What exists now lives as long as the cockpit: out of the collector's reach. Once per
    `load` and process (a test process builds many sessions; only the first load freezes)."""
    if load not in _FROZEN:
        _FROZEN.add(load)
        gc.freeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection while a worker builds something big (an analytics snapshot
    allocates lists and tuples of 100k trades): each collection would walk them, with the
    GIL, and the event loop would wait. Their temporaries go by reference count meanwhile;
    what survives is collected as usual afterwards. The collector is process-wide: if it
    was already off (another worker), it is left as it was."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def release(box: list[object]) -> None:
    """Drop what `box` holds, here (call it in a worker thread): freeing an old snapshot's
    100k-element tuples one object at a time is not the event loop's work."""
    box.clear()
