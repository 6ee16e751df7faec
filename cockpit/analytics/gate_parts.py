"""What a decision gate is made of: checks with a state, a gate with its one-line summary, the
two periods the P2 win condition compares, and the rule that combines checks into a verdict.

A check is `pass`, `fail`, or `need_data` (not enough trades to say, with what is missing). A gate
needs data while any of its checks does, fails when a check fails, passes when all pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cockpit.analytics.gate_state import GateState as GateState  # re-exported
from cockpit.analytics.metrics import Metrics


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a gate, with its current value and threshold as text."""

    name: str
    value: str
    threshold: str
    state: GateState
    missing: str = ""
    short: str = ""
    """A compact value for the one-line verdict ("r 0.17"); `value` when empty."""
    counted: bool = False
    """A plain "enough of X?" check, whose value and threshold already say what is missing."""
    detail: str = ""
    """How sure the value is (its 95 % interval, trades still needed): shown beside it."""

    @property
    def brief(self) -> str:
        return self.short or self.value

    @property
    def note(self) -> str:
        """What the detail table adds beside value and threshold (why data is missing)."""
        parts = [part for part in (self.detail, "" if self.counted else self.missing) if part]
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Gate:
    """A decision gate: `label` fits the dashboard panel, `summary` is its one-line verdict."""

    key: str
    label: str
    title: str
    state: GateState
    summary: str
    checks: tuple[Check, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class PeriodComparison:
    """Baseline (trades entered before `baseline_end_ms`) against now (entered from it on)."""

    baseline_end_ms: int | None
    baseline: Metrics
    now: Metrics
    label: str = ""
    """Which trades are the baseline and which are now, when chosen with `--baseline`."""
    pnl_p: float | None = None
    """Welch's t p-value of the average net P&L per trade, baseline vs now."""
    pnl_more: int | None = None
    """Trades per period still needed for that difference to reach p < alpha (power 0.8)."""


# ------------------------------------------------------------------ building blocks
def count_check(name: str, have: int, need: int, what: str) -> Check:
    """Enough of something? Missing reads "14/20 trades with ATR"."""
    if have >= need:
        return Check(name, str(have), f"≥ {need}", GateState.PASS, counted=True)
    missing = f"{have}/{need} {what}"
    return Check(name, str(have), f"≥ {need}", GateState.NEED_DATA, missing, counted=True)


def combined_state(checks: Sequence[Check]) -> GateState:
    states = {check.state for check in checks}
    if GateState.NEED_DATA in states:
        return GateState.NEED_DATA
    if GateState.FAIL in states:
        return GateState.FAIL
    return GateState.PASS


def gate(key: str, label: str, title: str, checks: list[Check], pass_summary: str) -> Gate:
    """All-checks gate. Its one-line summary, kept short for the dashboard panel, is what is
    missing, the failed check's value and threshold, or `pass_summary`."""
    state = combined_state(checks)
    if state is GateState.NEED_DATA:
        # Too few trades says it all; other reasons only when the counts are met.
        waiting = [c for c in checks if c.state is GateState.NEED_DATA]
        counted = [c for c in waiting if c.counted]
        summary = "; ".join(c.missing for c in counted or waiting[:1])
    elif state is GateState.FAIL:
        failed = next(c for c in checks if c.state is GateState.FAIL)
        summary = f"{failed.brief}, need {failed.threshold}"
    else:
        summary = pass_summary
    return Gate(key, label, title, state, summary, tuple(checks))


def verdict(ok: bool) -> GateState:
    return GateState.PASS if ok else GateState.FAIL
