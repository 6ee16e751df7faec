"""Coalescing buffer for position snapshots: the only store code on the per-tick path.

The engine updates a position on every price; writing each one would cost a commit per tick.
Instead the latest copy per trade waits here until the writer's throttled flush, so N ticks inside
one flush interval become one UPDATE. Copies, not references: a snapshot is what the position
looked like when it was handed over, so a later mutation by the caller cannot leak into a write
that was meant to carry older state (or race with an exit write that carries newer state).
"""

from __future__ import annotations

import copy
from dataclasses import replace

from cockpit.domain import PositionState, StopRole


class SnapshotBuffer:
    """Latest `PositionState` per trade id, waiting for the writer."""

    __slots__ = ("_latest",)

    def __init__(self) -> None:
        self._latest: dict[int, PositionState] = {}

    def __len__(self) -> int:
        return len(self._latest)

    def put(self, position: PositionState) -> None:
        """Keep a copy of `position` (which must have a trade id) as its trade's newest state."""
        assert position.trade_id is not None
        self._latest[position.trade_id] = copy.copy(position)

    def take(self) -> dict[int, PositionState]:
        """Everything waiting, handed over to the writer; the buffer starts empty again."""
        taken, self._latest = self._latest, {}
        return taken

    def restore(self, snapshots: dict[int, PositionState]) -> None:
        """Put back snapshots whose write failed, unless a newer one arrived in the meantime."""
        for trade_id, snapshot in snapshots.items():
            self._latest.setdefault(trade_id, snapshot)

    def discard(self, trade_id: int) -> None:
        """Drop a trade's snapshot because a write carrying newer state was just queued."""
        self._latest.pop(trade_id, None)

    def patch_stop(self, trade_id: int, stop: float, role: StopRole) -> None:
        """Bring a waiting snapshot's stop up to date with a stop move that is written directly,
        so a flush that runs after the move cannot put the old stop back."""
        snapshot = self._latest.get(trade_id)
        if snapshot is not None:
            self._latest[trade_id] = replace(snapshot, stop=stop, stop_role=role)
