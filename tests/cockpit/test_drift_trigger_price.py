"""The price Drift fires stops on (issue 13, item 6).

With the exchange's MedianTriggerPrice flag set, Drift fires trigger orders on the median of the
last fill price, the oracle plus the funding basis and the oracle plus the 5-minute basis
(clamped around the oracle by contract tier), not on the oracle. The Drift feed computes that
price from the perp market account, SHADOW on Drift stops on it, and every stop fill records
what price it triggered on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.drift import DriftOracleFeed
from adapters.drift.trigger import funding_basis, trigger_price
from cockpit.domain import Side
from tests.cockpit.drift_rig import SYMBOL, Rig, new_wallet, open_rig
from tests.fakes.drift_harness import Harness, make_harness


def market(**amm: Any) -> Any:
    """A PerpMarket as the program's own test builds it (every other field zero)."""
    historical = SimpleNamespace(last_oracle_price_twap5min=amm.pop("oracle_twap_5min", 0))
    fields = {
        "last_funding_rate": 0,
        "last_funding_rate_ts": 0,
        "last_funding_oracle_twap": 0,
        "funding_period": 3600,
        "last_mark_price_twap5min": 0,
        "historical_oracle_data": historical,
    }
    fields.update(amm)
    tier = type("HighlySpeculative", (), {})()
    return SimpleNamespace(amm=SimpleNamespace(**fields), last_fill_price=0, contract_tier=tier)


def test_the_programs_own_example_gives_the_programs_answer() -> None:
    # programs/drift/src/state/perp_market/tests.rs, test_get_trigger_price
    m = market(
        last_funding_rate=1410520875,
        last_funding_rate_ts=1752080410,
        last_funding_oracle_twap=109198342833,
        funding_period=3600,
        oracle_twap_5min=109143803911,
    )
    assert trigger_price(m, 109144736794, 1752082210, True) == 109144736794
    assert trigger_price(m, 109144736794, 1752082210, False) == 109144736794


def test_the_median_of_three_prices_apart_clamped_to_the_tier_band() -> None:
    oracle = 150_000_000
    m = market(last_mark_price_twap5min=150_400_000, oracle_twap_5min=150_000_000)
    m.last_fill_price = 149_000_000
    # (last fill 149, oracle + funding basis 150 (no funding), oracle + 5-min basis 150.4)
    assert trigger_price(m, oracle, 0, True) == 150_000_000
    m.last_fill_price = 151_000_000  # (151, 150, 150.4): the median is 150.4
    assert trigger_price(m, oracle, 0, True) == 150_400_000
    m.contract_tier = type("A", (), {})()  # tier A: at most 0.2 % (0.3) from the oracle
    assert trigger_price(m, oracle, 0, True) == 150_300_000
    assert trigger_price(m, oracle, 0, False) == oracle


def test_the_funding_basis_fades_over_the_funding_period() -> None:
    m = market(
        last_funding_rate=100_000_000,  # 0.1 (x 1e9) on a 150 twap: longs pay
        last_funding_oracle_twap=150_000_000,
        last_funding_rate_ts=0,
        funding_period=3600,
    )
    at_start = funding_basis(m, 150_000_000, 0)
    half_way = funding_basis(m, 150_000_000, 1800)
    assert at_start > half_way > 0 and funding_basis(m, 150_000_000, 3600) == 0


async def test_the_feed_says_which_price_drift_triggers_on() -> None:
    h = make_harness(new_wallet())
    feed = DriftOracleFeed(h.client, h.config, clock=lambda: 1_700_000_000_000, sleep=_no_sleep)
    ticks = feed.ticks(SYMBOL)
    tick = await anext(ticks)
    assert (tick.price, tick.source, tick.trigger_price) == (150.0, "oracle", None)
    h.chain.median_trigger(last_fill=151.0, basis_5min=0.4)
    h.set_oracle(150.0)
    tick = await anext(ticks)
    assert (tick.price, tick.source, tick.trigger_price) == (150.0, "median", 150.4)
    assert h.broker.venue_trigger(SYMBOL) == (150.4, "median")
    await feed.close()


def median_low(h: Harness) -> None:
    """The last fill was at 147 and the 5-minute basis is -0.5: the median sits below the
    oracle, so a long's stop at 147.75 fires on Drift while the oracle is still at 148."""
    h.chain.median_trigger(last_fill=147.0, basis_5min=-0.5)


async def test_shadow_on_drift_stops_on_the_median_and_the_fill_says_so(tmp_path: Path) -> None:
    r: Rig = await open_rig(tmp_path / "s.db", prepare=median_low)
    try:
        pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)  # SHADOW: paper
        assert pos.stop == pytest.approx(147.75)
        await r.price(148.3)  # median(147, 148.3, 147.8) = 147.8: above the stop
        assert not pos.closed
        await r.price(148.0)  # median(147, 148, 147.5) = 147.5: the venue's stop would fire
        assert pos.closed
        assert r.rows("SELECT reason, trigger_source FROM fills ORDER BY id") == [
            ("entry", None),
            ("stop_loss", "median"),
        ]
        assert r.h.sender.sent == [], "SHADOW sends nothing to Drift"
    finally:
        await r.session.stop()


async def test_without_the_flag_shadow_stops_on_the_oracle(tmp_path: Path) -> None:
    def flag_off(h: Harness) -> None:
        median_low(h)
        h.chain.state = dataclasses.replace(h.chain.state, feature_bit_flags=0)

    r = await open_rig(tmp_path / "o.db", prepare=flag_off)
    try:
        pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
        await r.price(148.0)
        assert not pos.closed, "the oracle is above the stop"
        await r.price(147.7)
        assert pos.closed
        assert r.rows("SELECT trigger_source FROM fills WHERE reduce_only = 1") == [("oracle",)]
    finally:
        await r.session.stop()


async def test_a_live_stop_filled_on_chain_records_the_venues_trigger_source(
    tmp_path: Path,
) -> None:
    r = await open_rig(tmp_path / "l.db", prepare=median_low)
    try:
        await r.session.enter_live("LIVE")
        pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
        await r.settle()
        assert [t for _, t in r.chain_stops()] == [147.75]
        await r.price(148.0)  # the chain fires on the median (147.5); the oracle is at 148
        await r.settle()
        assert pos.closed and r.chain_size() == 0
        assert r.rows("SELECT reason, trigger_source FROM fills ORDER BY id") == [
            ("entry", None),
            ("stop_loss", "median"),
        ]
    finally:
        await r.session.stop()


async def _no_sleep(_: float) -> None:
    return None
