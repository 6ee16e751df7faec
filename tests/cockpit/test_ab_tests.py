"""A/B tests (issue 18 item 4; seed 000 Phase 4, seed 003 step 7): `[[ab]]` is checked as a
whole (one variant, two changes at once, two tests at once are refused, the CLI exits 2 with the
reason), every entry while a test runs gets its group on the trade row with the group's settings
applied to the plan, alternate gives A, B, A, B, a seeded random draw repeats itself, a restart
carries on the turn, and a second test refused at run time when the journal says one runs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.ab_config import ABTest
from cockpit.cli import main
from cockpit.config import PaperConfig, Settings, load_settings
from cockpit.domain import Side, Tick
from cockpit.execution.ab import variant_for
from cockpit.session import Session

SYMBOL = "SOL-PERP"
T0 = 1_750_000_000_000  # 2025-06-15
NO_COSTS = PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0)


def bias_test(name: str = "bias", **over: Any) -> dict[str, Any]:
    test: dict[str, Any] = {
        "name": name,
        "start": "2025-06-01T00:00:00Z",
        "variants": [{"name": "A", "direction_bias": False}, {"name": "B", "direction_bias": True}],
    }
    test.update(over)
    return test


# ------------------------------------------------------------------ the config
def test_one_variant_is_refused() -> None:
    with pytest.raises(ValidationError, match="has 1 variant: an A/B test compares at least two"):
        Settings(ab=[bias_test(variants=[{"name": "A", "direction_bias": True}])])


def test_two_tests_at_once_are_refused_one_change_at_a_time() -> None:
    second = bias_test("policy", variants=[{"name": "A"}, {"name": "B", "policy": "atr_scaled"}])
    second["start"] = "2025-07-01"
    with pytest.raises(ValidationError, match="one change at a time") as err:
        Settings(ab=[bias_test(), second])
    assert "'policy' starts 2025-07-01" in str(err.value)
    assert "give 'bias' a stop" in str(err.value)
    # the first stopped before the second starts: both are fine
    Settings(ab=[bias_test(stop="2025-07-01"), second])


def test_two_changes_in_one_test_and_bad_tables_are_refused() -> None:
    both = [{"name": "A"}, {"name": "B", "direction_bias": True, "policy": "atr_scaled"}]
    with pytest.raises(ValidationError, match="direction_bias and policy together: one change"):
        Settings(ab=[bias_test(variants=both)])
    same = [{"name": "A", "direction_bias": True}, {"name": "B", "direction_bias": True}]
    with pytest.raises(ValidationError, match="set nothing differently"):
        Settings(ab=[bias_test(variants=same)])
    with pytest.raises(ValidationError, match="assignment"):
        Settings(ab=[bias_test(assignment="round_robin")])
    with pytest.raises(ValidationError, match="stop must be after start"):
        Settings(ab=[bias_test(stop="2025-05-01")])
    with pytest.raises(ValidationError, match="policy must be one of"):
        Settings(ab=[bias_test(variants=[{"name": "A"}, {"name": "B", "policy": "moon"}])])


BAD_TOML = """
[[ab]]
name = "bias"
start = 2025-06-01
[[ab.variants]]
name = "B"
direction_bias = true
"""


def test_a_bad_ab_table_in_the_config_file_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(BAD_TOML, encoding="utf-8")
    assert main(["--config", str(config), "report"]) == 2
    err = capsys.readouterr().err
    assert "ab.0" in err and "has 1 variant" in err


def test_the_toml_form_loads(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        BAD_TOML + '[[ab.variants]]\nname = "A"\ndirection_bias = false\n', encoding="utf-8"
    )
    [test] = load_settings(config).ab
    assert [v.name for v in test.variants] == ["B", "A"]
    assert test.start_ms == 1_748_736_000_000 and test.stop is None


# ------------------------------------------------------------------ assignment
def test_alternate_gives_a_b_a_b_and_a_seeded_draw_repeats_itself() -> None:
    alt = ABTest.model_validate(bias_test())
    assert [variant_for(alt, k).name for k in range(4)] == ["A", "B", "A", "B"]
    rnd = ABTest.model_validate(bias_test(assignment="random", seed=7))
    draws = [variant_for(rnd, k).name for k in range(40)]
    assert draws == [variant_for(rnd, k).name for k in range(40)], "same seed, same groups"
    assert {"A", "B"} == set(draws), "both groups drawn"
    other = ABTest.model_validate(bias_test(assignment="random", seed=8))
    assert draws != [variant_for(other, k).name for k in range(40)], "the seed matters"


def ticks(n: int) -> Iterator[Tick]:
    for i in range(n):
        yield Tick(SYMBOL, T0 + 1000 * i, 100.0)


def make(db: Path, *tests: dict[str, Any]) -> tuple[Session, ReplayFeed]:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", paper=NO_COSTS, ab=list(tests))
    feed = ReplayFeed({SYMBOL: ticks(5)}, speed=None, simulated=True, label="t", paused=True)
    return Session(settings, feed, PaperBroker(settings.paper), [SYMBOL], clock=lambda: T0), feed


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


async def enter_and_close(session: Session, n: int, side: Side = Side.SHORT) -> None:
    for _ in range(n):
        pos = await session.open_position(SYMBOL, side, 30, 2)
        assert pos.trade_id is not None
        await session.close_position(pos.trade_id)


async def test_entries_get_their_group_on_the_trade_with_its_settings_in_the_plan(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ab.db"
    session, feed = make(db, bias_test())
    await session.start()
    try:
        await feed.step(1)
        assert session.ab.ticket_note(T0) is not None
        assert "group A (direction bias off)" in (session.ab.ticket_note(T0) or "")
        await enter_and_close(session, 1)
        assert "group B (direction bias on)" in (session.ab.ticket_note(T0) or "")
        await enter_and_close(session, 3)
    finally:
        await session.stop()
    got = rows(db, "SELECT ab_group, plan_json FROM trades ORDER BY id")
    assert [g for g, _ in got] == ["A", "B", "A", "B"]
    # direction bias widens a short's targets x1.2: group B's TP1 is further from the entry

    tp1 = [json.loads(plan)["tp1_price"] for _, plan in got]
    assert tp1[0] == pytest.approx(98.5) and tp1[1] == pytest.approx(100 - 1.5 * 1.2)
    assert tp1[2] == tp1[0] and tp1[3] == tp1[1]


async def test_a_restart_carries_on_the_turn_and_a_refused_entry_uses_none(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ab.db"
    session, feed = make(db, bias_test())
    await session.start()
    try:
        await feed.step(1)
        await enter_and_close(session, 1)
        with pytest.raises(Exception, match="notional"):
            await session.open_position(SYMBOL, Side.SHORT, -5, 2)
    finally:
        await session.stop()
    session, feed = make(db, bias_test())
    await session.start()
    try:
        await feed.step(1)
        await enter_and_close(session, 2)
    finally:
        await session.stop()
    assert [g for (g,) in rows(db, "SELECT ab_group FROM trades ORDER BY id")] == ["A", "B", "A"]


async def test_no_group_before_a_test_starts_or_after_it_stops(tmp_path: Path) -> None:
    db = tmp_path / "ab.db"
    session, feed = make(db, bias_test(start="2025-07-01"))
    await session.start()
    try:
        await feed.step(1)
        assert session.ab.ticket_note(T0) is None
        await enter_and_close(session, 1)
    finally:
        await session.stop()
    assert rows(db, "SELECT ab_group FROM trades") == [(None,)]


async def test_a_second_test_while_one_runs_is_refused_at_run_time(tmp_path: Path) -> None:
    """The config alone cannot see it: the first test was removed from the file while it ran.
    The journal remembers it, and the new test is refused with the rule, audited."""
    db = tmp_path / "ab.db"
    session, feed = make(db, bias_test())
    await session.start()
    await session.stop()
    policy_test = bias_test(
        "policy",
        start="2025-06-10",
        variants=[{"name": "A"}, {"name": "B", "policy": "atr_scaled"}],
    )
    session, feed = make(db, policy_test)
    await session.start()
    try:
        await feed.step(1)
        assert "policy" in session.ab.refused
        [error] = [e.text for e in session.latest.events if "refused" in e.text]
        assert "A/B test 'policy' refused: 'bias' runs" in error
        assert "one change at a time" in error
        assert session.ab.ticket_note(T0) is None
        await enter_and_close(session, 1)
    finally:
        await session.stop()
    assert rows(db, "SELECT ab_group, policy FROM trades") == [(None, "fixed")]
    [(reason,)] = rows(db, "SELECT reason FROM audit_events WHERE kind = 'refusal'")
    assert "one change at a time" in reason
    # once 'bias' has a stop before 'policy' starts, 'policy' runs
    session, feed = make(db, bias_test(stop="2025-06-10"), policy_test)
    await session.start()
    try:
        assert session.ab.refused == {}
        assert session.ab.running(T0) is not None
    finally:
        await session.stop()


async def test_a_signal_entry_sent_but_not_confirmed_keeps_its_group_on_the_signal_row(
    tmp_path: Path,
) -> None:
    """On the offline Drift the entry rests unconfirmed (EntryPending): it went out, so it used
    its turn, and the signal's row says which group it got while the trade is not listed yet."""
    from cockpit.signals.payload import SignalIn
    from tests.cockpit.drift_rig import SYMBOL as DRIFT_SYMBOL
    from tests.cockpit.drift_rig import open_rig

    r = await open_rig(tmp_path / "pending.db")
    try:
        [test] = Settings(ab=[bias_test()]).ab
        r.session.ab.tests = [test]  # the running session's assigner, as [[ab]] would load it
        await r.session.enter_live("LIVE")
        r.h.chain.fill_market_orders = False  # it rests on the book: sent, not confirmed
        intake = r.session.signals
        signal = SignalIn(DRIFT_SYMBOL, Side.LONG, "tv-9", 40.0, None, None, {}, "{}")
        await intake.receive(signal, "test")  # ask mode: waits for the trader
        [signal_id] = intake.waiting
        said = await intake.confirm(signal_id)
        assert "not confirmed yet" in said
        assert r.rows("SELECT status, trade_id, ab_group FROM signals") == [("entering", None, "A")]
        after = r.session.ab.peek(r.clock.now)
        assert after is not None and after.group == "B", "the pending entry used A's turn"
    finally:
        await r.session.stop()
