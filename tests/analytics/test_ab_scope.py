"""With `[[ab]]` tests in the config, the A/B comparison reads the latest test's trades only:
an earlier test's groups of the same names never mix into it; the report and the screen say
which test they compare, and the trades still needed per group."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cockpit.analytics import present_extra
from cockpit.analytics.report import render_kind
from cockpit.analytics.snapshot import snapshot_for
from cockpit.config import Settings
from tests.analytics.builders import DAY_MS, T0, trade


def day(n: int) -> str:
    return datetime.fromtimestamp((T0 + n * DAY_MS) / 1000, tz=UTC).strftime("%Y-%m-%d")


def ab_table(name: str, start: int, stop: int | None, setting: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "start": day(start),
        "stop": None if stop is None else day(stop),
        "variants": [{"name": "A"}, {"name": "B", **setting}],
    }


def test_the_latest_test_is_compared_alone() -> None:
    first = [trade(5.0 if k % 2 else -1.0, i=k, day=1, ab_group="AB"[k % 2]) for k in range(10)]
    second = [
        trade(1.0 if k % 2 else 0.5 * (k % 3), i=100 + k, day=11, ab_group="AB"[k % 2])
        for k in range(8)
    ]
    settings = Settings(
        ab=[
            ab_table("bias", 0, 10, {"direction_bias": True}),
            ab_table("policy", 10, None, {"policy": "atr_scaled"}),
        ]
    )
    snapshot = snapshot_for(first + second, settings)
    assert snapshot.ab_test == "policy" and snapshot.ab is not None
    assert [(g.name, g.trades) for g in snapshot.ab.groups] == [("A", 4), ("B", 4)]
    text = render_kind(snapshot, "ab", source="t", generated_ms=0)
    assert "A/B test 'policy': the trades entered while it ran." in text
    [row] = present_extra.ab_test_rows(snapshot)
    assert row[0] == "B vs A" and row[-1].endswith(("more per group", "p < 0.05"))
    # without [[ab]] in the config, every trade with a group is compared
    everything = snapshot_for(first + second, Settings())
    assert everything.ab_test is None and everything.ab is not None
    assert [g.trades for g in everything.ab.groups] == [9, 9]
