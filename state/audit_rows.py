"""The record of what was decided and said: audit events, mode changes, alerts and entry signals.

Rows that are only ever added, never changed. `Store` keeps the public methods
(`record_audit`, `record_mode_change`, `record_alert`, `record_signal` and their reads) and runs
the writer jobs built here through its single writer; reads take the store's read accessor, so a
closed store refuses them the same way. The builders take their arguments in the order of
the `Store` method they serve, so the store forwards them as they came.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import Mode, Side
from state.mapping import alert_record, audit_record, feature_values, mode_change_record
from state.models import Alert, AuditEvent, ModeChange, Signal
from state.records import AlertRecord, AuditRecord, ModeChangeRecord
from state.row_helpers import ReadAll, adder
from state.writer import Work


# ---------------------------------------------------------------------- writes (writer jobs)
def mode_change_work(
    from_mode: Mode,
    to_mode: Mode,
    who: str,
    reason: str,
    ts_ms: int,
    limits_json: str | None,
) -> Work[None]:
    """The job that adds a mode-change row (an unknown mode raises ValueError here)."""
    row = ModeChange(
        ts_ms=ts_ms,
        from_mode=Mode(from_mode).value,
        to_mode=Mode(to_mode).value,
        who=who,
        reason=reason,
        limits_json=limits_json,
    )
    return adder(row)


def alert_work(level: str, message: str, ts_ms: int) -> Work[None]:
    """The job that adds an alert row."""
    return adder(Alert(ts_ms=ts_ms, level=level, message=message))


def audit_work(
    kind: str,
    who: str,
    action: str,
    reason: str,
    ts_ms: int,
    detail_json: str | None,
    trade_id: int | None,
) -> Work[int]:
    """The job that adds an audit row and returns its id."""
    row = AuditEvent(
        ts_ms=ts_ms,
        kind=kind,
        who=who,
        action=action,
        reason=reason,
        detail_json=detail_json,
        trade_id=trade_id,
    )

    async def work(session: AsyncSession) -> int:
        session.add(row)
        await session.flush()
        return row.id

    return work


def signal_work(
    symbol: str,
    side: Side,
    ts_ms: int,
    accepted: bool,
    reject_reason: str | None,
    features: dict[str, object] | None,
    trade_id: int | None,
) -> Work[int]:
    """The job that adds an entry signal row (with its features) and returns its id."""
    row = Signal(
        ts_ms=ts_ms,
        symbol=symbol,
        side=Side(side).value,
        accepted=accepted,
        reject_reason=reject_reason,
        trade_id=trade_id,
        **feature_values(features),
    )

    async def work(session: AsyncSession) -> int:
        session.add(row)
        await session.flush()
        return row.id

    return work


# ---------------------------------------------------------------------- reads (newest first)
async def recent_audit(read_all: ReadAll, limit: int, account: str) -> list[AuditRecord]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.account == account)
        .order_by(AuditEvent.ts_ms.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [audit_record(r) for r in await read_all(query)]


async def mode_changes(read_all: ReadAll, limit: int, account: str) -> list[ModeChangeRecord]:
    query = (
        select(ModeChange)
        .where(ModeChange.account == account)
        .order_by(ModeChange.ts_ms.desc(), ModeChange.id.desc())
        .limit(limit)
    )
    return [mode_change_record(r) for r in await read_all(query)]


async def recent_alerts(read_all: ReadAll, limit: int, account: str) -> list[AlertRecord]:
    query = (
        select(Alert)
        .where(Alert.account == account)
        .order_by(Alert.ts_ms.desc(), Alert.id.desc())
        .limit(limit)
    )
    return [alert_record(a) for a in await read_all(query)]
