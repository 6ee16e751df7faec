"""The ticket's rules, as a trader meets them: every bad input is named, nothing is guessed."""

from __future__ import annotations

import pytest

from cockpit.domain import Side
from widgets.order_ticket import TicketError, TicketRequest, validate_ticket

SYMBOLS = ["SOL-PERP"]


def test_valid_ticket_is_parsed() -> None:
    request = validate_ticket("SOL-PERP", Side.SHORT, " 1,000.5 ", "2", SYMBOLS)
    assert request == TicketRequest("SOL-PERP", Side.SHORT, 1000.5, 2.0)


@pytest.mark.parametrize(
    ("symbol", "side", "notional", "leverage", "field", "words"),
    [
        ("BTC-PERP", Side.LONG, "25", "2", "symbol", "unknown symbol 'BTC-PERP'"),
        ("SOL-PERP", None, "25", "2", "side", "choose a side"),
        ("SOL-PERP", Side.LONG, "", "2", "notional", "notional is empty"),
        ("SOL-PERP", Side.LONG, "abc", "2", "notional", "'abc' is not a number"),
        ("SOL-PERP", Side.LONG, "0", "2", "notional", "above 0"),
        ("SOL-PERP", Side.LONG, "-5", "2", "notional", "above 0"),
        ("SOL-PERP", Side.LONG, "nan", "2", "notional", "finite"),
        ("SOL-PERP", Side.LONG, "5000000", "2", "notional", "not accepted"),
        ("SOL-PERP", Side.LONG, "25", "0.5", "leverage", "between 1x and 20x"),
        ("SOL-PERP", Side.LONG, "25", "21", "leverage", "between 1x and 20x"),
        ("SOL-PERP", Side.LONG, "25", "x", "leverage", "'x' is not a number"),
    ],
)
def test_bad_input_names_the_field_and_the_problem(
    symbol: str, side: Side | None, notional: str, leverage: str, field: str, words: str
) -> None:
    with pytest.raises(TicketError) as info:
        validate_ticket(symbol, side, notional, leverage, SYMBOLS)
    assert info.value.field == field
    assert words in str(info.value)
