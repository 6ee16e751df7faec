"""The P&L strip's numbers, on real positions from the policy (no stand-ins)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from cockpit.config import FixedPolicyConfig
from cockpit.domain import Side
from cockpit.engine.policy import fixed_plan, open_position
from cockpit.pnl_summary import DAY_MS, pnl_summary

NOW = 20_000 * DAY_MS + 3_600_000  # 01:00 UTC


@dataclass
class Closed:
    realized_pnl: float
    fees: float
    exit_ts_ms: int | None


def test_strip_sums_by_side_and_risk_to_the_stops() -> None:
    long = open_position(
        fixed_plan(Side.LONG, 100.0, 2.0, FixedPolicyConfig()),
        symbol="A",
        leverage=2,
        opened_ms=NOW,
    )
    short = open_position(
        fixed_plan(Side.SHORT, 50.0, 4.0, FixedPolicyConfig()), symbol="B", leverage=2, opened_ms=0
    )
    short.realized_pnl, short.fees = 3.0, 0.5  # opened yesterday: not today's
    long.realized_pnl, long.fees = 1.0, 0.25
    closed = [Closed(5.0, 1.0, NOW - 10), Closed(-7.0, 0.0, NOW - 3_600_001)]  # 2nd: yesterday
    s = pnl_summary([long, short], {"A": 101.0, "B": 49.0}, closed, NOW)
    assert s.realized_today == pytest.approx(4.0 + 0.75)
    assert s.unrealized == pytest.approx(2.0 * 1 + 4.0 * 1)
    assert s.exposure_long == pytest.approx(202.0) and s.exposure_short == pytest.approx(196.0)
    expected_risk = (long.stop - 101.0) * 2.0 + (49.0 - short.stop) * 4.0
    assert s.open_risk == pytest.approx(expected_risk) and s.open_risk < 0


def test_a_stop_in_profit_is_no_risk_and_unknowns_are_counted_not_guessed() -> None:
    pos = open_position(
        fixed_plan(Side.LONG, 100.0, 1.0, FixedPolicyConfig()), symbol="A", leverage=1, opened_ms=0
    )
    pos.stop = 102.0  # locked above the mark
    other = open_position(
        fixed_plan(Side.LONG, 10.0, 1.0, FixedPolicyConfig()), symbol="C", leverage=1, opened_ms=0
    )
    adopted = open_position(
        fixed_plan(Side.SHORT, 10.0, 1.0, FixedPolicyConfig()), symbol="D", leverage=1, opened_ms=0
    )
    adopted.stop = math.inf
    s = pnl_summary([pos, other, adopted], {"A": 101.0, "D": 9.0}, [], NOW)
    assert s.open_risk == 0.0
    assert s.unmarked == 1 and s.unstopped == 1
