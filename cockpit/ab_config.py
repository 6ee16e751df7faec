"""`[[ab]]`: A/B tests of one strategy change (seed 000 Phase 4, seed 003 step 7).

Seed 000 Phase 4: "Run 20 trades with direction bias, run 20 trades without (control group),
compare results before full rollout". Seed 003 step 7: "Log which group each trade belongs to;
compare Group A (baseline) vs Group B (optimized)", under its rule "ONE CHANGE AT A TIME: Never
stack multiple optimizations (can't attribute impact)".

So a test has at least two variants that differ in exactly one setting (`direction_bias` or
`policy`), runs from `start` until `stop` (no stop: until one is given), and no two tests may
run at the same time. Each entry while a test runs gets a variant (its group), by `alternate`
(A, B, A, B, ...) or by a seeded `random` draw that the same seed always repeats
(cockpit/execution/ab.py). Kept beside cockpit/config.py, which includes it as `ab`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

ONE_CHANGE = (
    "one change at a time (seed 003: \"Never stack multiple optimizations (can't attribute "
    'impact)")'
)
VARIANT_SETTINGS = ("direction_bias", "policy")
AB_POLICIES = ("fixed", "atr_scaled", "quality_tiers")  # config.POLICY_NAMES, without a cycle


def _utc(value: object) -> object:
    """A TOML date means midnight UTC; a naive datetime is UTC too."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def day(ms: int | None) -> str:
    if ms is None:
        return "no stop"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


class ABVariant(BaseModel):
    """One group: its name (stored as the trade's `ab_group`) and the settings it applies to
    every entry it gets. A setting left out keeps what the trader (or the signal) chose."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=32)
    direction_bias: bool | None = None
    policy: str | None = None

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, value: str | None) -> str | None:
        if value is not None and value not in AB_POLICIES:
            raise ValueError(f"policy must be one of {', '.join(AB_POLICIES)}, got {value!r}")
        return value

    def describe(self) -> str:
        """ "direction bias on", "policy atr_scaled", or "as chosen"."""
        parts = []
        if self.direction_bias is not None:
            parts.append(f"direction bias {'on' if self.direction_bias else 'off'}")
        if self.policy is not None:
            parts.append(f"policy {self.policy}")
        return ", ".join(parts) or "as chosen"


class ABTest(BaseModel):
    """One `[[ab]]` table."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=64)
    variants: list[ABVariant]
    assignment: Literal["alternate", "random"] = "alternate"
    seed: int = Field(0, ge=0)
    start: datetime
    stop: datetime | None = None

    @field_validator("start", "stop", mode="before")
    @classmethod
    def _day_is_midnight(cls, value: object) -> object:
        return _utc(value)

    @field_validator("start", "stop")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _one_change(self) -> ABTest:
        where = f"[[ab]] {self.name!r}"
        if len(self.variants) < 2:
            raise ValueError(
                f"{where} has {len(self.variants)} variant: an A/B test compares at least two "
                "(a control group and the change)"
            )
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: variant names must differ, got {', '.join(names)}")
        changed = [s for s in VARIANT_SETTINGS if len({getattr(v, s) for v in self.variants}) > 1]
        if not changed:
            raise ValueError(f"{where}: the variants set nothing differently: nothing to compare")
        if len(changed) > 1:
            raise ValueError(
                f"{where} changes {' and '.join(changed)} together: {ONE_CHANGE}; test one "
                "setting per A/B test"
            )
        if self.stop is not None and self.stop <= self.start:
            raise ValueError(f"{where}: stop must be after start")
        return self

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def stop_ms(self) -> int | None:
        return None if self.stop is None else int(self.stop.timestamp() * 1000)

    def runs_at(self, now_ms: int) -> bool:
        stop = self.stop_ms
        return self.start_ms <= now_ms and (stop is None or now_ms < stop)


def overlap(a_start: int, a_stop: int | None, b_start: int, b_stop: int | None) -> bool:
    """Whether two test windows share any moment (no stop: open-ended)."""
    return (b_stop is None or a_start < b_stop) and (a_stop is None or b_start < a_stop)


def one_test_at_a_time(tests: list[ABTest]) -> list[ABTest]:
    """No two `[[ab]]` tests may run at once, and each has its own name."""
    names = [t.name for t in tests]
    if len(set(names)) != len(names):
        raise ValueError(f"[[ab]] names must differ, got {', '.join(names)}")
    ordered = sorted(tests, key=lambda t: t.start_ms)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if overlap(first.start_ms, first.stop_ms, second.start_ms, second.stop_ms):
                raise ValueError(
                    f"[[ab]] {second.name!r} starts {day(second.start_ms)} while "
                    f"{first.name!r} still runs ({day(first.start_ms)} .. "
                    f"{day(first.stop_ms)}): {ONE_CHANGE}; give {first.name!r} a stop at or "
                    f"before {second.name!r}'s start"
                )
    return tests


ABTests = Annotated[list[ABTest], AfterValidator(one_test_at_a_time)]
"""The `ab` setting: every `[[ab]]` table, checked together."""
