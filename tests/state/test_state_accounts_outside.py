"""Signals, alerts and settings per account (issue 17, migration 0014), on both engines.

A desk's cockpits share one database; each sees only its own account's signals (a sender's id is
unique per account, so the same alert sent to two accounts is new to each), its own alerts and
its own settings (the last price a demo saw, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cockpit.domain import Side
from state.signal_rows import (
    REFUSED,
    NewSignal,
    add_rule_alert,
    add_signal,
    decide_signal,
    recent_signals,
    rule_alerts,
    set_alert_delivery,
)
from state.store import Store

T0 = 1_750_000_000_000


def new_signal(external_id: str | None, ts_ms: int = T0) -> NewSignal:
    return NewSignal(
        ts_ms=ts_ms,
        external_id=external_id,
        source="tv",
        symbol="SOL-PERP",
        side=Side.LONG,
        accepted=True,
        status="stored",
        reject_reason=None,
        notional=30.0,
        policy=None,
        features={},
        payload_json="{}",
    )


@pytest.fixture
async def two(db_url: str) -> AsyncIterator[tuple[Store, Store]]:
    a = await Store.open(db_url, account="paper:a", flush_interval_s=60.0)
    b = await Store.open(db_url, account="paper:b", flush_interval_s=60.0)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_the_same_sender_id_is_new_to_each_account_and_a_replay_only_within_one(
    two: tuple[Store, Store],
) -> None:
    a, b = two
    first_a, new_a = await add_signal(a, new_signal("tv-1"))
    first_b, new_b = await add_signal(b, new_signal("tv-1"))
    assert new_a and new_b and first_a.id != first_b.id
    again, new = await add_signal(a, new_signal("tv-1", T0 + 5))
    assert not new and again.id == first_a.id
    await add_signal(b, new_signal("tv-2"))
    assert [s.external_id for s in await recent_signals(a)] == ["tv-1"]
    assert sorted(str(s.external_id) for s in await recent_signals(b)) == ["tv-1", "tv-2"]


async def test_a_signal_of_another_account_is_never_decided(two: tuple[Store, Store]) -> None:
    a, b = two
    mine, _ = await add_signal(a, new_signal("x"))
    with pytest.raises(ValueError, match="no signal row"):
        await decide_signal(b, mine.id, REFUSED, T0 + 1, reason="not b's")
    [still] = await recent_signals(a)
    assert still.status == "stored" and still.reject_reason is None


async def test_alerts_are_written_and_read_per_account(two: tuple[Store, Store]) -> None:
    a, b = two
    await a.record_alert("error", "feed down on a", T0)
    await b.record_alert("warning", "b is stale", T0 + 1)
    alert_id = await add_rule_alert(a, "stop_hit", "warning", "#1 stopped", T0 + 2)
    await set_alert_delivery(b, alert_id, "sent by b?")  # not b's: left alone
    assert [x.message for x in await a.recent_alerts()] == ["#1 stopped", "feed down on a"]
    assert [x.message for x in await b.recent_alerts()] == ["b is stale"]
    assert [(r.rule, r.delivery) for r in await rule_alerts(a)] == [("stop_hit", None)]
    assert await rule_alerts(b) == []
    await set_alert_delivery(a, alert_id, "sent")
    assert [r.delivery for r in await rule_alerts(a)] == ["sent"]


async def test_settings_are_per_account(two: tuple[Store, Store]) -> None:
    a, b = two
    await a.set_setting("last_price:SOL-PERP", "101.5")
    assert await b.get_setting("last_price:SOL-PERP") is None
    await b.set_setting("last_price:SOL-PERP", "99.0")
    await a.set_setting("last_price:SOL-PERP", "102.0")  # overwrites a's only
    assert await a.get_setting("last_price:SOL-PERP") == "102.0"
    assert await b.get_setting("last_price:SOL-PERP") == "99.0"
