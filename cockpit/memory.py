"""Keeping the garbage collector's full collections off the cockpit's frames and closes.

A full collection walks every container object the process holds, with the GIL: on the loaded
2-core machine 50-160 ms once numba, scipy and ccxt are loaded, plus 100k cached trades on a
long journal. Any thread's allocations can trigger one, so a background job (the ledger's
kernel, the analytics) stalled the event loop that long (issue 14 item 4, issue 18 item 8).

`gc.freeze()` moves everything alive now into a generation the collector never walks. It is
called once a big, long-lived load has finished: the session up and its journal read (the
dashboard), the ledger's numba sets built, the analytics' trade cache filled. What is frozen is
never collected, which is right for those (they live as long as the cockpit) and why it is not
called per close.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

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
