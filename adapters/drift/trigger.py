"""The price Drift fires trigger (stop) orders on, computed as the program computes it.

`PerpMarket::get_trigger_price` (programs/drift/src/state/perp_market.rs): when the exchange's
`MedianTriggerPrice` feature flag (State.feature_bit_flags, 0b10) is set, a trigger order fires
on the median of (the last fill price, or the oracle when there was none; the oracle plus the
funding basis; the oracle plus the 5-minute mark/oracle basis), clamped to a band around the
oracle that depends on the market's contract tier; otherwise on the oracle. SHADOW on Drift
stops on this price, so a shadow stop and the live one fire at the same moment.

Integer arithmetic as on chain (Rust's i128 division truncates toward zero). Pure: no driftpy.
"""

from __future__ import annotations

from typing import Any

MEDIAN_TRIGGER_PRICE = 0b00000010
"""`FeatureBitFlags::MedianTriggerPrice` (programs/drift/src/state/state.rs)."""

PRICE_PRECISION = 1_000_000
PERCENTAGE_PRECISION = 1_000_000
FUNDING_RATE_BUFFER = 1_000
FUNDING_RATE_PRECISION = PRICE_PRECISION * FUNDING_RATE_BUFFER
FUNDING_RATE_OFFSET_PERCENTAGE = FUNDING_RATE_PRECISION // 5_000
"""`FUNDING_RATE_OFFSET_DENOMINATOR` = 5000 (7.3 % a year for hourly funding)."""

ORACLE = "oracle"
MEDIAN = "median"


def uses_median(state: Any) -> bool:
    """Whether the exchange fires trigger orders on the median price (None: not known)."""
    return state is not None and bool(int(state.feature_bit_flags) & MEDIAN_TRIGGER_PRICE)


def trigger_price(market: Any, oracle_price: int, now_s: int, use_median: bool) -> int:
    """The trigger price (PRICE_PRECISION) of `market` at `oracle_price` and unix time `now_s`."""
    if not use_median:
        return oracle_price
    amm = market.amm
    basis_5min = int(amm.last_mark_price_twap5min) - int(
        amm.historical_oracle_data.last_oracle_price_twap5min
    )
    oracle_plus_basis_5min = oracle_price + basis_5min
    oracle_plus_funding_basis = oracle_price + funding_basis(market, oracle_price, now_s)
    last_fill = int(market.last_fill_price)
    first = last_fill if last_fill > 0 else abs(oracle_price)
    median = sorted((first, oracle_plus_funding_basis, oracle_plus_basis_5min))[1]
    return _clamp(market, abs(oracle_price), median)


def funding_basis(market: Any, oracle_price: int, now_s: int) -> int:
    """`get_last_funding_basis`: the last funding rate's premium, fading over the period."""
    amm = market.amm
    oracle_twap = int(amm.last_funding_oracle_twap)
    if oracle_twap <= 0:
        return 0
    rate = _div(int(amm.last_funding_rate) * PRICE_PRECISION, oracle_twap) * 24
    rate_pre_adj = rate - FUNDING_RATE_OFFSET_PERCENTAGE
    period = int(amm.funding_period)
    time_left = min(now_s - int(amm.last_funding_rate_ts), period)
    basis = _div(oracle_price * rate_pre_adj, PERCENTAGE_PRECISION) * (period - time_left)
    basis = _div(basis, period) if period else 0
    return _div(basis, FUNDING_RATE_BUFFER)


def venue_trigger(client: Any, market_index: int, oracle_price: int, now_s: int) -> tuple[int, str]:
    """(trigger price, source) of a perp market as a DriftClient holds it: the state account's
    flag decides between the median and the oracle (no state or no market yet: the oracle)."""
    state_and_slot = client.account_subscriber.get_state_account_and_slot()
    state = None if state_and_slot is None else state_and_slot.data
    market = client.get_perp_market_account(market_index)
    if market is None or not uses_median(state):
        return oracle_price, ORACLE
    return trigger_price(market, oracle_price, now_s, True), MEDIAN


def _clamp(market: Any, oracle: int, median: int) -> int:
    tier = type(market.contract_tier).__name__
    divisor = 500 if tier in ("A", "B") else 100 if tier == "C" else 40
    band = oracle // divisor
    return min(max(median, oracle - band), oracle + band)


def _div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Rust's."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q
