"""The baseline the P2 win condition compares against, as the trader chooses it.

Issue 18 item 3: "the P2 win condition against a baseline the trader chooses ... `cockpit report
--baseline date:2025-10-15|phase:1|group:A|policy:fixed`". Each splits the closed trades into
the baseline and "now":

- `date:YYYY-MM-DD`: entered before that UTC day vs from it on (as `analytics.baseline_end`);
- `phase:N`: the trades of Phase N (the seed's validation query, `phases.py`) vs every trade
  entered after Phase N ended (the next phase's start); refused while Phase N is the current one;
- `group:A`: A/B group A vs the trades of every other group (trades without a group left out);
- `policy:NAME`: exit policy NAME (e.g. fixed) vs every other policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cockpit.analytics.phases import PhasePeriod
from cockpit.analytics.trades import TradeRecord

KINDS = ("date", "phase", "group", "policy")


@dataclass(frozen=True, slots=True)
class BaselineChoice:
    kind: str
    value: str


def parse_baseline(text: str) -> BaselineChoice:
    """`kind:value`; anything else is a ValueError whose message is the one line to show."""
    kind, sep, value = text.partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or kind not in KINDS or not value:
        raise ValueError(
            f"--baseline {text!r}: expected date:YYYY-MM-DD, phase:N, group:NAME or policy:NAME"
        )
    if kind == "date":
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise ValueError(f"--baseline {text!r}: the date is not YYYY-MM-DD") from None
    if kind == "phase" and not value.isdigit():
        raise ValueError(f"--baseline {text!r}: the phase is a number, 1 to 6")
    return BaselineChoice(kind, value)


def split(
    trades: Sequence[TradeRecord], choice: BaselineChoice, periods: Sequence[PhasePeriod]
) -> tuple[list[TradeRecord], list[TradeRecord], str]:
    """(baseline trades, now trades, a sentence saying which is which)."""
    if choice.kind == "date":
        day = datetime.strptime(choice.value, "%Y-%m-%d").replace(tzinfo=UTC)
        end = int(day.timestamp() * 1000)
        base = [t for t in trades if t.entry_ts_ms < end]
        now = [t for t in trades if t.entry_ts_ms >= end]
        return base, now, f"Baseline: trades entered before {choice.value}; now: from then on."
    if choice.kind == "phase":
        phase = int(choice.value)
        period = next((p for p in periods if p.phase == phase), None)
        if period is None:
            raise ValueError(f"--baseline phase:{phase}: Phase {phase} has not started")
        if period.end_ms is None:
            raise ValueError(
                f"--baseline phase:{phase}: Phase {phase} is the current phase, nothing after it"
            )
        end = period.end_ms
        now = [t for t in trades if t.exit_reason is not None and t.entry_ts_ms >= end]
        return (
            list(period.trades),
            now,
            f"Baseline: the trades of Phase {phase}; now: every trade of the phases after it.",
        )
    if choice.kind == "group":
        base = [t for t in trades if t.ab_group == choice.value]
        now = [t for t in trades if t.ab_group is not None and t.ab_group != choice.value]
        return base, now, f"Baseline: A/B group {choice.value}; now: the other groups."
    base = [t for t in trades if t.policy == choice.value]
    now = [t for t in trades if t.policy != choice.value]
    return base, now, f"Baseline: exit policy {choice.value}; now: every other policy."
