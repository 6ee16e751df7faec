"""Funding on paper positions: sign by side, only positions open at the funding time, once per
funding time, the newest rate before it, and live-venue positions left to their venue."""

from __future__ import annotations

import pytest

from adapters.base import FundingInfo
from cockpit.config import Settings
from cockpit.domain import PositionState, Side, Tick
from cockpit.engine.policy import open_position, plan_for
from cockpit.funding import FundingCharger, funding_payment

SYM = "SOL/USDT:USDT"
T = 1_750_003_200_000  # a funding time (08:00 UTC)


def position(side: Side, size: float, opened_ms: int, venue: str = "paper") -> PositionState:
    plan = plan_for(Settings(), policy="fixed", symbol=SYM, side=side, entry=100.0, size=size)
    pos = open_position(plan, symbol=SYM, leverage=2.0, opened_ms=opened_ms, venue=venue)
    pos.trade_id = opened_ms % 1000
    return pos


class FundingSource:
    """What the live feed reports: the rate and the next funding time (set by the test)."""

    def __init__(self) -> None:
        self.info: FundingInfo | None = None

    def funding(self, symbol: str) -> FundingInfo | None:
        return self.info


class Harness:
    def __init__(self, positions: list[PositionState]) -> None:
        self.now = T - 60_000
        self.feed = FundingSource()
        self.positions = positions
        self.events: list[str] = []
        self.tick = Tick(SYM, T, 110.0, source="mark")
        self.charger = FundingCharger(
            self.feed,
            [SYM],
            positions=lambda: self.positions,
            last_tick=lambda symbol: self.tick,
            paper_venues=lambda: {"paper"},
            store=lambda: None,
            clock=lambda: self.now,
            event=lambda level, text: self.events.append(text),
        )

    def report(self, rate: float, next_ms: int = T) -> None:
        self.feed.info = FundingInfo(SYM, rate, next_ms, self.now)


def test_payment_sign_and_size() -> None:
    long = position(Side.LONG, 2.0, 0)
    short = position(Side.SHORT, 2.0, 0)
    assert funding_payment(long, 0.0001, 110.0) == pytest.approx(0.022)
    assert funding_payment(short, 0.0001, 110.0) == pytest.approx(-0.022)
    assert funding_payment(long, -0.0003, 110.0) == pytest.approx(-0.066)


async def test_charged_once_at_the_funding_time_with_the_last_rate() -> None:
    long = position(Side.LONG, 2.0, T - 3_600_000)
    short = position(Side.SHORT, 1.0, T - 3_600_000)
    late = position(Side.LONG, 5.0, T + 1)  # opened after the funding time
    live = position(Side.LONG, 3.0, T - 3_600_000, venue="drift")
    h = Harness([long, short, late, live])
    h.report(0.0001)
    await h.charger.check()
    h.report(0.0002)  # the predicted rate moves until the funding time
    await h.charger.check()
    assert long.fees == short.fees == 0.0
    h.now = T + 500
    await h.charger.check()
    assert long.fees == pytest.approx(2.0 * 110.0 * 0.0002)
    assert short.fees == pytest.approx(-1.0 * 110.0 * 0.0002)
    assert late.fees == live.fees == 0.0
    assert len(h.events) == 2 and "paid" in h.events[0] and "received" in h.events[1]
    # the feed moves on to the next funding time: nothing is charged twice
    h.report(0.0001, T + 8 * 3_600_000)
    for _ in range(3):
        await h.charger.check()
    assert long.fees == pytest.approx(2.0 * 110.0 * 0.0002)
    assert h.charger.total_paid == pytest.approx(0.044 - 0.022)


async def test_the_feed_moving_on_first_still_charges_the_passed_time() -> None:
    """The exchange may report the next funding time before our clock passes this one."""
    long = position(Side.LONG, 1.0, T - 1)
    h = Harness([long])
    h.report(0.0001)
    await h.charger.check()
    h.report(0.0001, T + 8 * 3_600_000)
    await h.charger.check()
    assert long.fees == pytest.approx(110.0 * 0.0001)


async def test_no_rate_no_charge() -> None:
    long = position(Side.LONG, 1.0, T - 1)
    h = Harness([long])
    h.now = T + 1
    await h.charger.check()
    assert long.fees == 0.0 and h.events == []
