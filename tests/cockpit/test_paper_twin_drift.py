"""Shadow vs live fidelity on the offline Drift (issue 18 item 6): every LIVE-SMALL fill is
stored with what the paper model would have filled on the same ticks, and the analytics show
the difference. A live entry that fills worse than paper (the market moved while the order
rested) and a stop the venue fills later than the paper stop would have are both measured; a
SHADOW fill carries no twin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cockpit.analytics.fidelity import fidelity_report
from cockpit.analytics.present_extra import fidelity_missing, fidelity_rows
from cockpit.analytics.report import render_kind
from cockpit.config import Settings
from cockpit.domain import Side
from cockpit.report_cli import read_snapshot
from cockpit.session import EntryPending
from state.fidelity_rows import live_fills_at
from tests.cockpit.drift_rig import SYMBOL, T0, Rig, open_rig, restart
from tests.waiting import until


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = await open_rig(tmp_path / "live.db")
    yield r
    await r.session.stop()


TWIN_SQL = "SELECT reason, side, size, price, fee, ts_ms, paper_price, paper_fee, paper_ts_ms "
TWIN_SQL += "FROM fills ORDER BY id"


async def test_a_live_fill_worse_than_paper_shows_the_difference(rig: Rig) -> None:
    session = rig.session
    await session.enter_live("LIVE")
    rig.h.chain.fill_market_orders = False  # the entry rests: the market moves meanwhile
    with pytest.raises(EntryPending):
        await session.open_position(SYMBOL, Side.LONG, 40, 2)
    decided_ms = T0  # the tick the entry was decided on (the feed's first poll)
    rig.h.set_oracle(150.6)  # on chain only: the cockpit sees no tick of it
    rig.h.chain.fill_resting_market_orders()
    rig.clock.now += 2_000
    await rig.settle()
    [pos] = session.latest.positions

    await rig.price(147.7)  # through the 147.75 stop: the paper stop fills on this tick
    through_ms = rig.clock.now
    rig.clock.now += 3_000
    await rig.settle()  # the venue's trigger order filled; the poll reads it 3 s later
    await until(lambda: pos.closed)

    [entry, stop] = rig.rows(TWIN_SQL)
    reason, side, size, price, fee, ts, p_price, p_fee, p_ts = entry
    assert (reason, side, size) == ("entry", "buy", pytest.approx(0.26))
    assert price == pytest.approx(150.6) and p_price == pytest.approx(150.0)
    assert fee == pytest.approx(0.26 * 150.6 * 3.5e-4) and p_fee == 0.0  # the rig's paper fee
    assert p_ts == decided_ms and ts > p_ts  # filled after its confirm wait and the poll
    entry_delay_s = (ts - p_ts) / 1000
    entry_price, entry_fee = price, fee
    reason, side, size, price, fee, ts, p_price, p_fee, p_ts = stop
    assert (reason, side) == ("stop_loss", "sell")
    assert p_price == pytest.approx(147.7) and p_ts == through_ms
    assert ts - p_ts == 3_000

    report = fidelity_report(live_fills_at(rig.db))
    assert report is not None
    [trade] = report.trades
    assert trade.label == f"#{pos.trade_id} {SYMBOL}" and trade.compared == 2
    expected = (entry_price - 150.0) * 0.26 + (147.7 - price) * 0.26
    assert trade.slippage_usd == pytest.approx(expected)
    assert trade.slippage_usd == pytest.approx(0.6 * 0.26, rel=1e-3), "live paid more than paper"
    assert trade.fee_diff_usd == pytest.approx(entry_fee + fee)
    assert trade.max_delay_s == pytest.approx(max(3.0, entry_delay_s))
    assert trade.avg_delay_s == pytest.approx((3.0 + entry_delay_s) / 2)
    assert report.total.live_cost_usd == pytest.approx(trade.slippage_usd + trade.fee_diff_usd)

    # the report reads the same from the file
    snapshot = read_snapshot(Settings(db_url=f"sqlite+aiosqlite:///{rig.db}"))
    rows = fidelity_rows(snapshot)
    assert rows[0][0] == f"#{pos.trade_id} {SYMBOL}" and rows[-1][0] == "Total"
    assert rows[0][3] == f"+{trade.slippage_usd:.2f}"


async def test_shadow_fills_carry_no_twin(rig: Rig) -> None:
    pos = await rig.session.open_position(SYMBOL, Side.LONG, 40, 2)  # SHADOW: the paper broker
    assert pos.trade_id is not None
    await rig.session.close_position(pos.trade_id)
    assert [r[6:] for r in rig.rows(TWIN_SQL)] == [(None, None, None)] * 2
    assert fidelity_report(live_fills_at(rig.db)) is None


async def test_a_stop_the_software_closes_late_is_compared_with_the_first_tick_through_it(
    rig: Rig,
) -> None:
    """No keeper fires the on-chain stop: the software stop closes after its grace, at a worse
    price. The paper stop would have filled on the first tick through the stop of this episode
    (a tick through it earlier, with the price back above since, does not count)."""
    session = rig.session
    await session.enter_live("LIVE")
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    rig.h.chain.fire_triggers = lambda: 0  # type: ignore[method-assign]
    await rig.price(147.7)  # through 147.75, left to the chain ...
    await rig.price(148.0)  # ... and back above: that episode is over
    await rig.price(147.6)  # through again: the paper stop fills here
    through_ms = rig.clock.now
    await rig.price(147.5, advance_ms=3_000)
    await rig.price(147.4, advance_ms=3_000)  # past stop_grace_s: the software stop closes
    await rig.settle()
    await until(lambda: pos.closed)
    [_, stop] = rig.rows(TWIN_SQL)
    reason, side, size, price, _fee, ts, p_price, _p_fee, p_ts = stop
    assert (reason, side) == ("stop_loss", "sell")
    assert price == pytest.approx(147.4) and p_price == pytest.approx(147.6)
    assert p_ts == through_ms and ts - p_ts >= 6_000
    report = fidelity_report(live_fills_at(rig.db))
    assert report is not None
    stop_slip = (147.6 - price) * size
    assert stop_slip == pytest.approx(0.2 * 0.26, rel=1e-4)
    assert report.total.slippage_usd >= stop_slip - 1e-9


# ------------------------------------------------------------------ across a restart
async def test_an_entry_confirmed_after_a_restart_gets_its_twin_from_the_order_row(
    tmp_path: Path,
) -> None:
    """The entry is sent, the cockpit restarts, the venue fills it later: its twin is the paper
    fill on the tick it was decided on, kept with the order's row (the new process never saw
    that tick)."""
    r = await open_rig(tmp_path / "restart.db")
    await r.session.enter_live("LIVE")
    r.h.chain.fill_market_orders = False  # it rests on the book: sent, not confirmed
    with pytest.raises(EntryPending):
        await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    r.h.set_oracle(150.6)  # the market moves on chain while nobody watches
    r = await restart(r)
    try:
        r.h.chain.fill_resting_market_orders()
        r.clock.now += 2_000
        await r.settle()
        [pos] = r.session.latest.positions
        [entry] = r.rows(TWIN_SQL)
        _, side, size, price, _fee, ts, p_price, p_fee, p_ts = entry
        assert (side, size) == ("buy", pytest.approx(0.26))
        assert price == pytest.approx(150.6) and p_price == pytest.approx(150.0)
        assert p_fee == 0.0 and p_ts == T0 and ts > p_ts
        report = fidelity_report(live_fills_at(r.db))
        assert report is not None and report.total.compared == 1
        assert report.total.slippage_usd == pytest.approx(0.6 * pos.size, rel=1e-3)
    finally:
        await r.session.stop()


async def test_a_stop_the_venue_filled_unseen_says_why_it_has_no_twin(rig: Rig) -> None:
    """The venue's stop fills on a price the cockpit never saw (it moved on chain between two
    of the cockpit's ticks; the same when the cockpit was down): there is no tick to put the
    paper stop on, so nothing is compared, and the fill and the analytics say why."""
    session = rig.session
    await session.enter_live("LIVE")
    pos = await session.open_position(SYMBOL, Side.LONG, 40, 2)
    await rig.settle()
    rig.h.set_oracle(147.0)  # on chain only: through the 147.75 stop, no tick of it seen
    rig.h.chain.fire_triggers()
    await rig.settle()  # the poll reads the venue's stop fill
    await until(lambda: pos.closed)
    rows = rig.rows("SELECT reason, paper_price, paper_missing FROM fills ORDER BY id")
    assert rows == [
        ("entry", pytest.approx(150.0), None),
        ("stop_loss", None, "no tick through the stop seen by the cockpit"),
    ]
    report = fidelity_report(live_fills_at(rig.db))
    assert report is not None
    assert (report.total.fills, report.total.compared) == (2, 1)
    assert report.total.not_compared == (("no tick through the stop seen by the cockpit", 1),)
    snapshot = read_snapshot(Settings(db_url=f"sqlite+aiosqlite:///{rig.db}"))
    assert fidelity_missing(snapshot) == [
        "1 fill not compared: no tick through the stop seen by the cockpit"
    ]
    document = render_kind(snapshot, "fidelity", source="t", generated_ms=0)
    assert "1 fill not compared: no tick through the stop seen by the cockpit" in document
