"""What the journal knows of A/B tests: which tests ran (a settings row), and how many entries
each has assigned so far (its trades with a group, entered within its window).

The record of tests that ran is what lets a second test be refused at run time even when the
first is no longer in the config file: the seed's rule is "one change at a time", not "one
change per config file". It is a small JSON list under `ab.tests:<account>` in `settings`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from state.models import Trade
from state.store import Store


@dataclass(frozen=True, slots=True)
class TestRun:
    """A test as the journal recorded it when it started."""

    name: str
    start_ms: int
    stop_ms: int | None


def runs_key(account: str) -> str:
    return f"ab.tests:{account}"


async def recorded_runs(store: Store, account: str) -> list[TestRun]:
    text = await store.get_setting(runs_key(account))
    if not text:
        return []
    return [TestRun(**item) for item in json.loads(text)]


async def record_runs(store: Store, account: str, runs: list[TestRun]) -> None:
    await store.set_setting(runs_key(account), json.dumps([asdict(r) for r in runs]))


async def assigned_entries(store: Store, account: str, start_ms: int, stop_ms: int | None) -> int:
    """Trades of `account` with an A/B group entered in [start_ms, stop_ms)."""
    where = [
        Trade.account == account,
        Trade.ab_group.is_not(None),
        Trade.entry_ts_ms >= start_ms,
    ]
    if stop_ms is not None:
        where.append(Trade.entry_ts_ms < stop_ms)
    async with store.read_session() as session:
        return int((await session.scalar(select(func.count(Trade.id)).where(*where))) or 0)
