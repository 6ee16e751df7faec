"""A signal entered while an A/B test runs gets its group like a ticket's entry: on the trade
row, with the group's setting applied to its plan over what the signal asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.signals.rig import rig, signal

pytestmark = pytest.mark.usefixtures("guard")

POLICY_TEST = {
    "name": "policy",
    "start": "2025-01-01",
    "variants": [{"name": "A", "policy": "fixed"}, {"name": "B", "policy": "atr_scaled"}],
}


async def test_a_signal_entry_gets_its_group_and_the_groups_policy(tmp_path: Path) -> None:
    async with rig(tmp_path, ab=[POLICY_TEST]) as r:
        status, answer = await r.post("/signal", signal(id="tv-1", policy="quality_tiers"))
        assert status == 202, answer
        await r.session.signals.settled()
        [pos] = r.session.book.positions
        assert pos.plan.policy == "fixed", "group A's policy, not the signal's"
        assert r.rows("SELECT ab_group, policy FROM trades") == [("A", "fixed")]


async def test_the_group_is_on_the_signal_row_too_and_a_refused_signal_has_none(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, ab=[POLICY_TEST]) as r:
        status, _ = await r.post("/signal", signal(id="tv-1"))
        assert status == 202
        await r.session.signals.settled()
        status, _ = await r.post("/signal", signal(id="tv-2"))  # the long is open: refused
        assert status == 409
        await r.session.signals.settled()
        [(trade_id, group)] = r.rows("SELECT id, ab_group FROM trades")
        assert group == "A"
        signals = "SELECT external_id, status, trade_id, ab_group FROM signals ORDER BY id"
        assert r.rows(signals) == [
            ("tv-1", "entered", trade_id, "A"),
            ("tv-2", "refused", None, None),
        ]


BIAS_TEST = {
    "name": "bias",
    "start": "2025-01-01",
    "variants": [{"name": "A", "direction_bias": False}, {"name": "B", "direction_bias": True}],
}


async def test_a_signal_the_entry_path_refuses_gets_no_group_and_uses_no_turn(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, ab=[BIAS_TEST]) as r:
        # quality 50 is below every quality tier: the plan is refused after the group was peeked
        await r.post("/signal", signal(id="low", quality=50, policy="quality_tiers"))
        await r.session.signals.settled()
        await r.post("/signal", signal(id="ok"))
        await r.session.signals.settled()
        assert r.rows("SELECT external_id, status, ab_group FROM signals ORDER BY id") == [
            ("low", "refused", None),
            ("ok", "entered", "A"),
        ]
        assert r.rows("SELECT ab_group FROM trades") == [("A",)]
