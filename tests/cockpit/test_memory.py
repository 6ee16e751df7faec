"""The garbage collector's policy while streaming (cockpit/memory.py): full collections spaced
out, and memory still bounded: garbage is never frozen, and cyclic garbage that lives long
enough to reach the oldest generation (as Textual's cached strips do) is still freed."""

from __future__ import annotations

import gc
import weakref
from collections import deque
from collections.abc import Iterator

import pytest

from cockpit.memory import FULL_EVERY, MemoryPolicy


class Node:
    """A reference cycle: freed by the collector only, never by reference counting."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def gc_state() -> Iterator[None]:
    """gc is process-wide: the test's thresholds and freezes are undone after it."""
    thresholds = gc.get_threshold()
    gc.collect()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    gc.collect()


def test_settling_frees_garbage_first_and_freezes_at_most_twice(gc_state: None) -> None:
    policy = MemoryPolicy()
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    assert policy.settle()
    assert gone() is None, "garbage made before the settle was frozen, never to be freed"
    assert gc.get_threshold()[2] == FULL_EVERY

    assert policy.settle()  # the second, after the first frames
    frozen = gc.get_freeze_count()
    kept = [Node() for _ in range(1000)]  # alive now, garbage later
    assert not policy.settle()  # no third: each would freeze what is alive then, for good
    assert gc.get_freeze_count() == frozen
    del kept


def test_long_lived_cyclic_garbage_stays_bounded_under_the_policy(gc_state: None) -> None:
    """A stream of cycles each held by a cache for a while (so they outlive the young
    collections and die old): far more of them than a full collection's spacing allows are
    made, and what the collector holds stays under that spacing, not their number."""
    MemoryPolicy().settle()
    young, middle, _ = gc.get_threshold()
    spacing = young * middle * FULL_EVERY  # objects made between two full collections, about
    made = 3 * spacing
    before = len(gc.get_objects())
    cache: deque[list[object]] = deque(maxlen=2 * young * middle)  # outlives gen 0 and gen 1
    for _ in range(made):
        cell: list[object] = []
        cell.append(cell)
        cache.append(cell)
    cache.clear()
    held = len(gc.get_objects()) - before
    assert held < 1.5 * spacing, f"{held} objects held after {made} cycles: garbage piles up"
