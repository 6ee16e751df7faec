"""Signals from outside and alerts by rule: their rows, written through the store's single writer.

A signal row is written before anything else is done with the signal (DESIGN.md: no order
without a row first), and the sender's `id` is unique within the account: `add_signal` answers
a replayed id with the row already there instead of a second one, in the same writer job, so
two copies arriving at once cannot both be new. A signal's status then moves once, when it is
decided (`decide_signal`). Alert rows carry the rule that raised them and what became of their
delivery. Everything goes through `Store.run_write` / `Store.read_session`, the store's
extension points, so every write still goes through the one writer.

Accounts (migration 0014): every new row is stamped with the store's account (state.accounts),
and every read and update here sees only that account's rows, so a desk's cockpits sharing one
database never answer, decide or list another account's signals and alerts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import Side
from state.mapping import feature_values
from state.models import Alert, Signal, Trade
from state.store import Store

# Where a signal stands (the `status` column).
REFUSED = "refused"
WAITING = "waiting"  # ask mode: on screen until the trader presses Enter (or skips it)
ENTERING = "entering"  # handed to the entry path
ENTERED = "entered"
SKIPPED = "skipped"  # the trader said no, or the session ended before they answered


@dataclass(frozen=True, slots=True)
class SignalRecord:
    id: int
    ts_ms: int
    external_id: str | None
    source: str | None
    symbol: str
    side: str
    accepted: bool
    status: str
    reject_reason: str | None
    trade_id: int | None
    notional: float | None
    policy: str | None
    quality_score: float | None
    payload_json: str | None
    decided_at_ms: int | None


@dataclass(frozen=True, slots=True)
class RuleAlertRecord:
    id: int
    ts_ms: int
    rule: str | None
    level: str
    message: str
    delivery: str | None


def _signal_record(row: Signal) -> SignalRecord:
    return SignalRecord(
        id=row.id,
        ts_ms=row.ts_ms,
        external_id=row.external_id,
        source=row.source,
        symbol=row.symbol,
        side=row.side,
        accepted=row.accepted,
        status=row.status,
        reject_reason=row.reject_reason,
        trade_id=row.trade_id,
        notional=row.notional,
        policy=row.policy,
        quality_score=row.quality_score,
        payload_json=row.payload_json,
        decided_at_ms=row.decided_at_ms,
    )


@dataclass(frozen=True, slots=True)
class NewSignal:
    """What the intake knows of a signal when it arrives (validated, not yet decided)."""

    ts_ms: int
    external_id: str | None
    source: str
    symbol: str
    side: Side
    accepted: bool
    status: str
    reject_reason: str | None
    notional: float | None
    policy: str | None
    features: dict[str, object]
    payload_json: str


async def add_signal(store: Store, signal: NewSignal) -> tuple[SignalRecord, bool]:
    """Store `signal`; returns (its row, True), or (the row already stored under the same
    external id, False) for a replay, in one transaction."""

    async def work(session: AsyncSession) -> tuple[SignalRecord, bool]:
        if signal.external_id is not None:
            query = select(Signal).where(
                Signal.external_id == signal.external_id, Signal.account == store.account
            )
            existing = (await session.scalars(query)).first()
            if existing is not None:
                return _signal_record(existing), False
        row = Signal(
            ts_ms=signal.ts_ms,
            external_id=signal.external_id,
            source=signal.source,
            symbol=signal.symbol,
            side=Side(signal.side).value,
            accepted=signal.accepted,
            status=signal.status,
            reject_reason=signal.reject_reason,
            notional=signal.notional,
            policy=signal.policy,
            payload_json=signal.payload_json,
            decided_at_ms=signal.ts_ms if signal.status == REFUSED else None,
            **feature_values(signal.features),
        )
        session.add(row)
        await session.flush()
        return _signal_record(row), True

    return await store.run_write(work)


async def decide_signal(
    store: Store,
    signal_id: int,
    status: str,
    ts_ms: int,
    *,
    reason: str | None = None,
    trade_id: int | None = None,
    ab_group: str | None = None,
) -> None:
    """Where a stored signal ended: entered (with its trade), refused by the entry path (with
    the reason; `accepted` becomes False), skipped, or handed to the entry path.

    An entered signal's row gets its trade's A/B group in the same transaction (the entry path
    assigns it, as for a ticket's entry); an entry sent but not confirmed yet passes its group
    as `ab_group`. A refused signal never has a group: a refusal uses no turn."""

    async def work(session: AsyncSession) -> None:
        row = await session.get(Signal, signal_id)
        if row is None or row.account != store.account:
            raise ValueError(f"no signal row with id {signal_id}")
        row.status = status
        row.decided_at_ms = ts_ms
        if status == REFUSED:
            row.accepted = False
        if reason is not None:
            row.reject_reason = reason
        if trade_id is not None:
            row.trade_id = trade_id
            trade = await session.get(Trade, trade_id)  # the A/B group the entry path gave it
            if trade is not None:
                row.ab_group = trade.ab_group
        elif ab_group is not None:
            row.ab_group = ab_group

    await store.run_write(work)


async def recent_signals(store: Store, limit: int = 200) -> list[SignalRecord]:
    """Newest first."""
    query = (
        select(Signal)
        .where(Signal.account == store.account)
        .order_by(Signal.ts_ms.desc(), Signal.id.desc())
        .limit(limit)
    )
    async with store.read_session() as session:
        return [_signal_record(r) for r in (await session.scalars(query)).all()]


async def add_rule_alert(store: Store, rule: str, level: str, message: str, ts_ms: int) -> int:
    """An alert raised by a rule; returns its id (the Telegram delivery updates it later)."""

    async def work(session: AsyncSession) -> int:
        row = Alert(ts_ms=ts_ms, level=level, message=message, rule=rule)
        session.add(row)
        await session.flush()
        return row.id

    return await store.run_write(work)


async def set_alert_delivery(store: Store, alert_id: int, delivery: str) -> None:
    """What became of an alert's delivery: `sent`, or `failed: ...` after every retry."""

    async def work(session: AsyncSession) -> None:
        row = await session.get(Alert, alert_id)
        if row is not None and row.account == store.account:
            row.delivery = delivery[:128]

    await store.run_write(work)


async def rule_alerts(store: Store, limit: int = 200) -> list[RuleAlertRecord]:
    """Alerts raised by a rule, newest first."""
    query = (
        select(Alert)
        .where(Alert.rule.is_not(None), Alert.account == store.account)
        .order_by(Alert.ts_ms.desc(), Alert.id.desc())
        .limit(limit)
    )
    async with store.read_session() as session:
        rows = (await session.scalars(query)).all()
    return [
        RuleAlertRecord(
            id=r.id,
            ts_ms=r.ts_ms,
            rule=r.rule,
            level=r.level,
            message=r.message,
            delivery=r.delivery,
        )
        for r in rows
    ]
