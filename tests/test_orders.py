"""The order lifecycle table (DESIGN.md section 4): every move it lists passes, every other
move raises, and a final state has no way out."""

from __future__ import annotations

import itertools

import pytest

from cockpit.orders import (
    FINAL,
    LIVE,
    TRANSITIONS,
    IllegalTransition,
    OrderStatus,
    is_final,
    transition,
)

S = OrderStatus

# The DESIGN's moves written out by hand, so the table cannot drift from them unnoticed.
EXPECTED: dict[OrderStatus, set[OrderStatus]] = {
    S.INTENT: {S.INTENT, S.WOULD_SUBMIT, S.SUBMITTED, S.OPEN, S.REJECTED, S.FAILED, S.CANCELLED},
    S.WOULD_SUBMIT: {S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.FAILED, S.CANCELLED, S.EXPIRED},
    S.SUBMITTED: {
        S.SUBMITTED,
        S.ACCEPTED,
        S.OPEN,
        S.PARTIALLY_FILLED,
        S.FILLED,
        S.CANCELLED,
        S.REJECTED,
        S.EXPIRED,
        S.FAILED,
    },
    S.ACCEPTED: {
        S.OPEN,
        S.PARTIALLY_FILLED,
        S.FILLED,
        S.CANCELLED,
        S.REJECTED,
        S.EXPIRED,
        S.FAILED,
    },
    S.OPEN: {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.FAILED},
    S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED, S.FAILED},
    S.FILLED: set(),
    S.CANCELLED: set(),
    S.REJECTED: set(),
    S.EXPIRED: set(),
    S.FAILED: set(),
}

ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in EXPECTED[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in EXPECTED[a]]


def test_the_states_are_the_designs() -> None:
    assert {s.value for s in OrderStatus} == {
        "intent",
        "would_submit",
        "submitted",
        "accepted",
        "open",
        "partially_filled",
        "filled",
        "cancelled",
        "rejected",
        "expired",
        "failed",
    }
    assert "placed" not in {s.value for s in OrderStatus}


def test_the_table_is_exactly_the_designs_moves() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert {a: set(b) for a, b in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("current", "new"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_move_in_the_table_passes(current: OrderStatus, new: OrderStatus) -> None:
    assert transition(current, new) is new
    assert transition(current.value, new.value, order=7) is new  # plain strings from a row


@pytest.mark.parametrize(("current", "new"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_move_not_in_the_table_raises(current: OrderStatus, new: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(current, new, order="ck-42")
    message = str(err.value)
    assert f"{current.value} -> {new.value}" in message
    assert "ck-42" in message
    assert (err.value.current, err.value.new, err.value.order) == (current, new, "ck-42")
    assert isinstance(err.value, ValueError)


def test_the_message_without_an_order_names_both_states() -> None:
    with pytest.raises(IllegalTransition, match="cancelled -> open") as err:
        transition(S.CANCELLED, S.OPEN)
    assert err.value.order is None


@pytest.mark.parametrize("final", sorted(FINAL))
def test_a_final_state_has_no_way_out(final: OrderStatus) -> None:
    assert is_final(final) and is_final(final.value)
    assert TRANSITIONS[final] == frozenset()
    for new in OrderStatus:
        with pytest.raises(IllegalTransition):
            transition(final, new)


def test_final_and_live_split_the_states() -> None:
    assert {S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED, S.FAILED} == FINAL
    assert frozenset(OrderStatus) - FINAL == LIVE
    assert not any(is_final(s) for s in LIVE)
    # Every live state can still end: cancelled and failed are reachable from each
    # (from `intent` nothing can expire: nothing is on a venue yet).
    for state in LIVE:
        assert S.FAILED in TRANSITIONS[state]
        assert S.CANCELLED in TRANSITIONS[state]


def test_an_unknown_status_is_a_value_error_not_a_silent_pass() -> None:
    with pytest.raises(ValueError):
        transition("placed", S.SUBMITTED)
    with pytest.raises(ValueError):
        transition(S.INTENT, "placed")
