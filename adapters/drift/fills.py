"""A fill's price read from how a perp position changed, net of funding and settled P&L.

driftpy exposes Drift's fill records (OrderActionRecord) only through an event subscription: a
websocket log stream, or getSignaturesForAddress plus one getTransaction per fill, which a polling
cockpit on a public RPC cannot afford, and a market order or a stop is filled by a keeper's
transaction, not by ours. So a fill is read from the position: the change of its quote amount.
That change also holds what the program settled into it meanwhile, which is not the trade:

- funding: before a fill the program settles the position's funding (`settle_funding_payment`:
  the difference of the market's cumulative funding rate and the position's
  `last_cumulative_funding_rate`, times the base) into the quote amount;
- settle-PnL (a keeper's or the trader's): moves P&L from the quote amount to the USDC balance
  and adds it to the position's `settled_pnl`.

Both are taken out here: `net_quote_delta` = Δquote + Δsettled_pnl - the funding payment, so an
on-chain stop that fills after a long hold is priced at its fill, not its fill plus the funding.
Integer arithmetic as on chain (programs/drift/src/math/funding.rs). Pure: no driftpy.
"""

from __future__ import annotations

from typing import Any, NamedTuple

PRICE_PRECISION = 1_000_000
FUNDING_RATE_BUFFER = 1_000
AMM_TO_QUOTE_PRECISION_RATIO = 1_000


class PositionMark(NamedTuple):
    """A perp position as the account showed it: the mark a later fill is measured from."""

    base: int
    quote: int
    settled_pnl: int = 0
    funding_rate: int = 0
    """The position's `last_cumulative_funding_rate` (0 once the position is closed)."""


def funding_payment(rate_delta: int, base: int) -> int:
    """`calculate_funding_payment`: what a position of `base` receives (+) or pays (-) in quote
    precision for a change `rate_delta` of the cumulative funding rate (longs pay shorts)."""
    if rate_delta == 0 or base == 0:
        return 0
    magnitude = abs(rate_delta) * abs(base) // PRICE_PRECISION // FUNDING_RATE_BUFFER
    sign = (-1 if base > 0 else 1) * (1 if rate_delta > 0 else -1)
    return _div(sign * magnitude, AMM_TO_QUOTE_PRECISION_RATIO)


def market_funding_rate(market: Any, long: bool) -> int:
    """The market's cumulative funding rate a long (or short) position settles against."""
    amm = market.amm
    return int(amm.cumulative_funding_rate_long if long else amm.cumulative_funding_rate_short)


def net_quote_delta(before: PositionMark, after: PositionMark, market: Any | None) -> int:
    """The quote the trades between `before` and `after` moved: the quote amount's change plus
    the P&L settled out of it, less the funding settled into it. The funding rate the position
    settled at is the position's own after the fill; a closed position's is reset to 0, and the
    market's current rate stands in for it (`market` None: no funding correction)."""
    delta = (after.quote - before.quote) + (after.settled_pnl - before.settled_pnl)
    if before.base == 0:
        return delta
    if after.base != 0 and (after.base > 0) == (before.base > 0):
        settled_at = after.funding_rate
    elif market is not None:
        settled_at = market_funding_rate(market, before.base > 0)
    else:
        return delta
    return delta - funding_payment(settled_at - before.funding_rate, before.base)


def _div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Rust's."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q
