"""A/B groups for entries: which test runs, which group the next entry gets, what it changes.

Every entry while an `[[ab]]` test runs (cockpit/ab_config.py) gets a group, whoever asks (the
ticket, a signal): the entry path peeks at the group before its checks, applies the group's
settings to the plan, and commits the group once the order went out (a refused entry uses no
turn). The group is a pure function of the test and the number k of entries it has assigned so
far (read from the journal at start, so a restart carries on where the last run stopped):

- `alternate`: variant k mod n (A, B, A, B, ...);
- `random`: a draw from a generator seeded with the test's name, its `seed` and k, so the same
  seed always gives the same sequence, in any process.

"One change at a time" at run time: the journal records every test once it starts; a test whose
window overlaps one the journal says ran (or still runs) is refused at start with the reason,
said in the event log and audited, and its entries get no group.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cockpit.ab_config import ONE_CHANGE, ABTest, ABVariant, day, overlap
from state.ab_rows import TestRun, assigned_entries, record_runs, recorded_runs
from state.store import Store


@dataclass(frozen=True, slots=True)
class Assignment:
    """The group one entry gets: the `k`-th assignment of `test`."""

    test: ABTest
    variant: ABVariant
    k: int

    @property
    def group(self) -> str:
        return self.variant.name

    def apply(self, policy: str, direction_bias: bool) -> tuple[str, bool]:
        """The entry's policy and direction bias once the group's settings are applied."""
        v = self.variant
        return (
            v.policy if v.policy is not None else policy,
            v.direction_bias if v.direction_bias is not None else direction_bias,
        )

    def describe(self) -> str:
        return f"A/B test {self.test.name!r}: group {self.group} ({self.variant.describe()})"


def variant_for(test: ABTest, k: int) -> ABVariant:
    """The group of the test's k-th entry (0-based); see the module docstring."""
    n = len(test.variants)
    if test.assignment == "alternate":
        return test.variants[k % n]
    return test.variants[random.Random(f"{test.name}:{test.seed}:{k}").randrange(n)]


class ABAssigner:
    """The session's A/B tests: loaded at start, asked on every entry (never per tick)."""

    def __init__(
        self,
        tests: list[ABTest],
        account: str,
        event: Callable[[str, str], None],
        audit: Callable[[str, str, str, str], Awaitable[None]],
    ) -> None:
        self.tests = tests
        self.account = account
        self.event = event
        self.audit = audit
        self.refused: dict[str, str] = {}
        """Tests refused at start (name -> reason): their entries get no group."""
        self._counts: dict[str, int] = {}
        self._runs: list[TestRun] = []
        self._store: Store | None = None

    async def load(self, store: Store, now_ms: int) -> None:
        """Read what ran, refuse a test that would overlap one, count each test's entries."""
        self._store = store
        self._runs = await recorded_runs(store, self.account)
        known = {r.name: r for r in self._runs}
        for test in self.tests:
            run = known.get(test.name)
            if run is not None:  # the config may have given it a stop since
                self._runs[self._runs.index(run)] = TestRun(run.name, run.start_ms, test.stop_ms)
                continue
            clash = next(
                (
                    r
                    for r in self._runs
                    if r.name != test.name
                    and overlap(r.start_ms, r.stop_ms, test.start_ms, test.stop_ms)
                ),
                None,
            )
            if clash is not None:
                why = (
                    f"A/B test {test.name!r} refused: {clash.name!r} runs "
                    f"({day(clash.start_ms)} .. {day(clash.stop_ms)}) per the journal: "
                    f"{ONE_CHANGE}; give [[ab]] {clash.name!r} a stop first"
                )
                self.refused[test.name] = why
                self.event("error", why)
                await self.audit("refusal", "config", f"start A/B test {test.name}", why)
            elif test.start_ms <= now_ms:  # it runs from now on: the journal says so at once
                self._runs.append(TestRun(test.name, test.start_ms, test.stop_ms))
        for test in self.tests:
            if test.name not in self.refused and test.start_ms <= now_ms:
                self._counts[test.name] = await assigned_entries(
                    store, self.account, test.start_ms, test.stop_ms
                )
        await record_runs(store, self.account, self._runs)

    def running(self, now_ms: int) -> ABTest | None:
        return next(
            (t for t in self.tests if t.name not in self.refused and t.runs_at(now_ms)), None
        )

    def peek(self, now_ms: int) -> Assignment | None:
        """The group the next entry gets (nothing is used up until `commit`)."""
        test = self.running(now_ms)
        if test is None:
            return None
        k = self._counts.get(test.name, 0)
        return Assignment(test, variant_for(test, k), k)

    async def commit(self, assignment: Assignment) -> None:
        """The entry went out in this group: the next entry gets the next turn. A test's first
        entry records it in the journal as running (the run-time half of the rule)."""
        name = assignment.test.name
        self._counts[name] = assignment.k + 1
        self.event("info", f"entry in {assignment.describe()}")
        if self._store is not None and all(r.name != name for r in self._runs):
            test = assignment.test
            self._runs.append(TestRun(name, test.start_ms, test.stop_ms))
            await record_runs(self._store, self.account, self._runs)

    def ticket_note(self, now_ms: int) -> str | None:
        """What the order ticket says about the entry's group, or None without a test."""
        nxt = self.peek(now_ms)
        if nxt is None:
            return None
        return f"{nxt.describe()}: the test sets it, whatever is chosen below"
