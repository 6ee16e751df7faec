"""The risk gate at every boundary; a property: accepted LIVE-SMALL entries never break a limit."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.config import RiskLimits
from cockpit.domain import Mode, Side
from cockpit.risk import DAY_MS, EntryRequest, ModeRefused, RiskGate

T0 = 1_750_000_000_000 - 1_750_000_000_000 % DAY_MS + 3_600_000  # 01:00 UTC on some day


def live_gate(**limits: float) -> RiskGate:
    gate = RiskGate(RiskLimits(**limits))
    gate.enter_live(
        typed="LIVE", live_broker=True, wallet=True, feed_healthy=True, who="t", now_ms=0
    )
    return gate


def entry(notional: float = 10.0, leverage: float = 1.0) -> EntryRequest:
    return EntryRequest("SOL-PERP", Side.LONG, notional, leverage, "test")


def test_every_start_is_shadow() -> None:
    assert RiskGate(RiskLimits()).mode is Mode.SHADOW


@pytest.mark.parametrize(("notional", "allowed"), [(49.99, True), (50.00, True), (50.01, False)])
def test_notional_boundary(notional: float, allowed: bool) -> None:
    decision = live_gate().check_entry(entry(notional), open_positions=0, now_ms=T0)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == "notional 50.01 USDT is above the 50.00 USDT limit"


@pytest.mark.parametrize(("leverage", "allowed"), [(2.0, True), (2.01, False)])
def test_leverage_boundary(leverage: float, allowed: bool) -> None:
    decision = live_gate().check_entry(entry(leverage=leverage), open_positions=0, now_ms=T0)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == "leverage 2.01x is above the 2x limit"


def test_second_position_is_refused() -> None:
    gate = live_gate()
    assert gate.check_entry(entry(), open_positions=0, now_ms=T0).allowed
    decision = gate.check_entry(entry(), open_positions=1, now_ms=T0)
    assert not decision.allowed
    assert decision.reason == "1 open position(s): the limit is 1 at a time"


@pytest.mark.parametrize(("after_s", "allowed"), [(59, False), (60, True), (61, True)])
def test_cooldown_boundary(after_s: int, allowed: bool) -> None:
    gate = live_gate()
    gate.record_entry(T0)
    decision = gate.check_entry(entry(), open_positions=0, now_ms=T0 + after_s * 1000)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == "cooldown: 59 s since the last entry, 60 s required"


def test_daily_loss_stop_and_reset_at_utc_midnight() -> None:
    gate = live_gate(daily_loss_limit_usdt=20.0)
    gate.record_realized(-19.99, T0)
    assert gate.check_entry(entry(), open_positions=0, now_ms=T0).allowed
    gate.record_realized(-0.01, T0 + 1)
    decision = gate.check_entry(entry(), open_positions=0, now_ms=T0 + 2)
    assert not decision.allowed and "daily loss stop" in decision.reason
    next_day = T0 - T0 % DAY_MS + DAY_MS
    assert gate.check_entry(entry(), open_positions=0, now_ms=next_day).allowed


def test_cooldown_reason_never_rounds_up_to_the_limit() -> None:
    gate = live_gate()
    gate.record_entry(T0)
    decision = gate.check_entry(entry(), open_positions=0, now_ms=T0 + 59_999)
    assert decision.reason == "cooldown: 59.9 s since the last entry, 60 s required"


@pytest.mark.parametrize(("loss", "allowed"), [(19.99, True), (20.0, False), (25.0, False)])
def test_daily_loss_just_below_and_at_the_limit(loss: float, allowed: bool) -> None:
    gate = live_gate(daily_loss_limit_usdt=20.0)
    gate.record_realized(-loss, T0)
    decision = gate.check_entry(entry(), open_positions=0, now_ms=T0 + 1)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == (
            f"daily loss stop: {loss:.2f} USDT lost today (UTC), limit 20.00 USDT"
        )


def test_daily_loss_is_net_of_todays_gains() -> None:
    gate = live_gate(daily_loss_limit_usdt=20.0)
    gate.record_realized(-25.0, T0)
    gate.record_realized(10.0, T0 + 1)
    assert gate.check_entry(entry(), open_positions=0, now_ms=T0 + 2).allowed


def test_a_late_report_from_yesterday_does_not_erase_todays_loss() -> None:
    gate = live_gate(daily_loss_limit_usdt=20.0)
    gate.record_realized(-30.0, T0)
    gate.record_realized(-1.0, T0 - DAY_MS)  # stamped on the previous UTC day
    assert not gate.check_entry(entry(), open_positions=0, now_ms=T0 + 1).allowed


def test_daily_loss_stop_is_off_by_default() -> None:
    gate = live_gate()
    gate.record_realized(-10_000, T0)
    assert gate.check_entry(entry(), open_positions=0, now_ms=T0).allowed


def test_shadow_allows_but_says_what_live_would_refuse() -> None:
    decision = RiskGate(RiskLimits()).check_entry(entry(80, 3), open_positions=0, now_ms=T0)
    assert decision.allowed
    assert decision.reason == (
        "would be refused in LIVE-SMALL: notional 80.00 USDT is above the 50.00 USDT limit"
    )


def test_shadow_flags_every_kind_of_limit() -> None:
    gate = RiskGate(RiskLimits(daily_loss_limit_usdt=5.0))
    assert gate.check_entry(entry(), open_positions=0, now_ms=T0).reason == ""
    flagged = [
        gate.check_entry(entry(leverage=3), open_positions=0, now_ms=T0),
        gate.check_entry(entry(), open_positions=1, now_ms=T0),
    ]
    gate.record_entry(T0)
    flagged.append(gate.check_entry(entry(), open_positions=0, now_ms=T0 + 1000))
    gate.record_realized(-5.0, T0)
    flagged.append(gate.check_entry(entry(), open_positions=0, now_ms=T0 + 120_000))
    for decision, word in zip(
        flagged, ["leverage", "open position", "cooldown", "daily loss"], strict=True
    ):
        assert decision.allowed
        assert decision.reason.startswith("would be refused in LIVE-SMALL: ")
        assert word in decision.reason
    assert gate.mode is Mode.SHADOW


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_nonsense_sizes_are_refused_in_every_mode(bad: float) -> None:
    for gate in (RiskGate(RiskLimits()), live_gate()):
        assert not gate.check_entry(entry(bad), open_positions=0, now_ms=T0).allowed
        assert not gate.check_entry(entry(leverage=bad), open_positions=0, now_ms=T0).allowed


def test_exits_are_never_blocked() -> None:
    gate = live_gate(daily_loss_limit_usdt=1.0)
    gate.record_realized(-100, T0)
    gate.record_entry(T0)
    assert gate.check_reduce_only().allowed
    assert RiskGate(RiskLimits()).check_reduce_only().allowed


@pytest.mark.parametrize("typed", ["live", "LIVE ", " LIVE", "Live", "", "LIVEE", "y"])
def test_only_the_exact_word_enters_live(typed: str) -> None:
    gate = RiskGate(RiskLimits())
    with pytest.raises(ModeRefused, match="type exactly LIVE"):
        gate.enter_live(
            typed=typed, live_broker=True, wallet=True, feed_healthy=True, who="u", now_ms=1
        )
    assert gate.mode is Mode.SHADOW


@pytest.mark.parametrize(
    ("broker", "wallet", "feed", "reason"),
    [
        (False, True, True, "no live venue in this session"),
        (True, False, True, "no wallet is configured"),
        (True, True, False, "the feed is stale or down"),
    ],
)
def test_enter_live_refusals(broker: bool, wallet: bool, feed: bool, reason: str) -> None:
    gate = RiskGate(RiskLimits())
    with pytest.raises(ModeRefused, match=reason):
        gate.enter_live(
            typed="LIVE", live_broker=broker, wallet=wallet, feed_healthy=feed, who="u", now_ms=1
        )
    assert gate.mode is Mode.SHADOW


def test_mode_changes_carry_the_limits_and_leaving_is_always_allowed() -> None:
    gate = RiskGate(RiskLimits(max_notional_usdt=40))
    change = gate.enter_live(
        typed="LIVE", live_broker=True, wallet=True, feed_healthy=True, who="alice", now_ms=5
    )
    assert (change.from_mode, change.to_mode, change.who, change.ts_ms) == (
        Mode.SHADOW,
        Mode.LIVE_SMALL,
        "alice",
        5,
    )
    assert json.loads(change.limits_json) == {
        "max_notional_usdt": 40.0,
        "max_open_positions": 1,
        "max_leverage": 2.0,
        "entry_cooldown_s": 60.0,
        "daily_loss_limit_usdt": None,
        "max_exposure_usdt": None,
    }
    assert change.reason == "typed LIVE"
    with pytest.raises(ModeRefused, match="already in LIVE-SMALL"):
        gate.enter_live(
            typed="LIVE", live_broker=True, wallet=True, feed_healthy=True, who="a", now_ms=6
        )
    back = gate.leave_live(who="alice", reason="m", now_ms=7)
    assert (back.from_mode, back.to_mode, back.reason, back.ts_ms) == (
        Mode.LIVE_SMALL,
        Mode.SHADOW,
        "m",
        7,
    )
    assert gate.mode is Mode.SHADOW
    with pytest.raises(ModeRefused, match="already in SHADOW"):
        gate.leave_live(who="alice", reason="m", now_ms=8)


limit_sets = st.builds(
    RiskLimits,
    max_notional_usdt=st.sampled_from([10.0, 50.0, 100.0]),
    max_open_positions=st.integers(min_value=1, max_value=3),
    max_leverage=st.sampled_from([1.0, 2.0, 3.5]),
    entry_cooldown_s=st.sampled_from([0.0, 1.5, 60.0]),
)
requests = st.lists(
    st.tuples(
        st.floats(min_value=0.01, max_value=120, allow_nan=False),  # notional
        st.floats(min_value=0.5, max_value=5, allow_nan=False),  # leverage
        st.integers(min_value=0, max_value=130_000),  # ms since the previous request
        st.booleans(),  # close one open position (if any) before this request
    ),
    max_size=40,
)


@given(limit_sets, requests)
@settings(max_examples=300, deadline=None)
def test_no_sequence_of_requests_gets_past_a_limit(
    limits: RiskLimits, seq: list[tuple[float, float, int, bool]]
) -> None:
    gate = RiskGate(limits)
    gate.enter_live(
        typed="LIVE", live_broker=True, wallet=True, feed_healthy=True, who="t", now_ms=T0
    )
    now, open_positions, last_entry = T0, 0, None
    for notional, leverage, gap, close_first in seq:
        now += gap
        if close_first and open_positions:
            open_positions -= 1
        decision = gate.check_entry(
            entry(notional, leverage), open_positions=open_positions, now_ms=now
        )
        if decision.allowed:
            assert notional <= limits.max_notional_usdt
            assert leverage <= limits.max_leverage
            assert open_positions < limits.max_open_positions
            assert last_entry is None or now - last_entry >= limits.entry_cooldown_s * 1000
            gate.record_entry(now)
            open_positions += 1
            last_entry = now
        else:
            assert decision.reason


@pytest.mark.parametrize(("already_open", "allowed"), [(70.0, True), (70.01, False)])
def test_exposure_counts_every_symbols_open_notional(already_open: float, allowed: bool) -> None:
    """Several symbols share one exposure limit: an ETH entry counts the SOL and BTC open."""
    gate = live_gate(max_exposure_usdt=100.0, max_open_positions=3)
    decision = gate.check_entry(
        EntryRequest("ETH-PERP", Side.SHORT, 30.0, 1.0, "test"),
        open_positions=2,
        now_ms=T0,
        open_notional_usdt=already_open,
    )
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == (
            "exposure 100.01 USDT over every symbol with this entry is above the 100.00 USDT "
            "limit (70.01 USDT already open)"
        )


def test_exposure_limit_is_off_by_default() -> None:
    decision = live_gate(max_open_positions=3).check_entry(
        entry(50.0), open_positions=2, now_ms=T0, open_notional_usdt=10_000.0
    )
    assert decision.allowed
