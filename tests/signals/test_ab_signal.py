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
