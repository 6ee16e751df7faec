"""The `phases` table (migration 0010): start a roadmap phase, list the starts.

A start is refused, with a sentence that says why, when it is in the future, when the phase has
already started (a start is never moved: the comparisons of every later phase hang on it), when
the number is not a roadmap phase, or when it would break the order of the phases (phase N
cannot start before phase N-1 did, nor after a later phase already started). The start and an
audit row are written in one transaction.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.analytics.phases import PHASE_NAMES, PhaseStart
from state.models import AuditEvent, PhaseRow
from state.store import Store


class PhaseRefused(ValueError):
    """A phase start that would make the phase history wrong; the message says why."""


def check_start(phase: int, at_ms: int, now_ms: int, starts: list[PhaseStart]) -> None:
    """Raise PhaseRefused unless phase `phase` may start at `at_ms` given the existing starts."""
    if phase not in PHASE_NAMES:
        raise PhaseRefused(f"there is no Phase {phase}: the roadmap has phases 1 to 6")
    if at_ms > now_ms:
        raise PhaseRefused(f"Phase {phase} cannot start in the future ({_day(at_ms)})")
    same = [s for s in starts if s.phase == phase]
    if same:
        raise PhaseRefused(
            f"Phase {phase} already started on {_day(same[0].started_at_ms)}; a start is "
            "never moved (every later comparison hangs on it)"
        )
    later = [s.phase for s in starts if s.phase > phase]
    if later:
        raise PhaseRefused(
            f"Phase {max(later)} has already started: phases go in order, one at a time"
        )
    lower = [s for s in starts if s.phase < phase]
    if lower:
        nearest = max(lower, key=lambda s: s.phase)
        if nearest.started_at_ms > at_ms:
            raise PhaseRefused(
                f"Phase {phase} cannot start before Phase {nearest.phase} did "
                f"({_day(nearest.started_at_ms)})"
            )


async def start_phase(
    store: Store, phase: int, *, at_ms: int, now_ms: int, who: str, note: str = ""
) -> PhaseStart:
    """Record the start of `phase` at `at_ms` (checked in the same transaction)."""

    async def work(session: AsyncSession) -> PhaseStart:
        starts = [_start(row) for row in (await session.scalars(select(PhaseRow))).all()]
        check_start(phase, at_ms, now_ms, starts)
        session.add(
            PhaseRow(phase=phase, started_at_ms=at_ms, recorded_at_ms=now_ms, who=who, note=note)
        )
        session.add(
            AuditEvent(
                ts_ms=now_ms,
                kind="phase",
                who=who,
                action=f"start Phase {phase} ({PHASE_NAMES[phase]}) at {_day(at_ms)}",
                reason=note or "started by the trader",
                detail_json=json.dumps({"phase": phase, "started_at_ms": at_ms}),
            )
        )
        return PhaseStart(phase, at_ms)

    return await store.run_write(work)


async def phase_starts(store: Store) -> list[PhaseStart]:
    async with store.read_session() as session:
        rows = (await session.scalars(select(PhaseRow).order_by(PhaseRow.phase))).all()
        return [_start(row) for row in rows]


def _start(row: PhaseRow) -> PhaseStart:
    return PhaseStart(row.phase, row.started_at_ms)


def _day(ts_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
