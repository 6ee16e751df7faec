"""MFE capture, R-multiples and SQN on the journal (issue 15 item 5), worked out by hand, and
shown on the analytics screen's metrics and in `cockpit report` through the same rows."""

from __future__ import annotations

import math

import pytest

from cockpit.analytics.exit_quality import exit_quality, r_multiple
from cockpit.analytics.present import metric_rows
from cockpit.analytics.snapshot import snapshot_for
from cockpit.config import Settings
from state.journal_reader import TRADE_COLUMNS, record_from_row
from tests.analytics.builders import trade


def test_capture_r_and_sqn_by_hand() -> None:
    # longs from 100, stop at 98 (risk 2 per unit): +4 with MFE 5, -2 with MFE 1, +1 with MFE 4
    journal = [
        trade(4.0, i=0, mfe_pct=5.0, initial_stop=98.0),
        trade(-2.0, i=1, mfe_pct=1.0, initial_stop=98.0),
        trade(1.0, i=2, mfe_pct=4.0, initial_stop=98.0),
        trade(3.0, i=3),  # imported: no MFE, no stop; counts in neither
    ]
    q = exit_quality(journal)
    assert q.capture_trades == 3 and q.capture_pct == pytest.approx(100.0 * 3.0 / 10.0)
    assert [r_multiple(t) for t in journal] == [2.0, -1.0, 0.5, None]
    assert q.r_trades == 3 and q.avg_r == pytest.approx(0.5)
    sd = math.sqrt(((2.0 - 0.5) ** 2 + (-1.5) ** 2 + 0.0) / 2)
    assert q.sqn == pytest.approx(math.sqrt(3) * 0.5 / sd)


def test_nothing_to_measure_is_said_not_zero() -> None:
    q = exit_quality([trade(1.0)])
    assert (q.capture_pct, q.avg_r, q.sqn, q.r_trades) == (None, None, None, 0)
    rows = dict(metric_rows(snapshot_for([trade(1.0)], Settings())))
    assert rows["Average R (net P&L / risk to SL)"] == "n/a (0)"
    assert rows["SQN (sqrt n x mean R / sd R)"] == "n/a"


def test_the_stop_comes_from_the_frozen_plan_and_reaches_the_rows() -> None:
    row = dict.fromkeys(TRADE_COLUMNS)
    row.update(
        id=1,
        symbol="SOL-PERP",
        side="short",
        entry_ts_ms=1,
        exit_ts_ms=2,
        entry_price=150.0,
        exit_price=147.0,
        initial_size=2.0,
        realized_pnl=6.0,
        fees=0.0,
        venue="paper",
        mode="shadow",
        policy="fixed",
        leverage=1.0,
        mfe_pct=2.5,
        mae_pct=0.1,
        plan_json='{"stop_loss": 152.25, "tp2_price": 145.5}',
    )
    record = record_from_row(row, None, None)
    assert record.initial_stop == 152.25
    assert r_multiple(record) == pytest.approx(6.0 / (2.25 * 2.0))
    rows = dict(metric_rows(snapshot_for([record], Settings())))
    assert rows["Average R (net P&L / risk to SL)"] == "1.33 (1)"
    assert rows["MFE capture (exit move / MFE)"] == "80.0% (1)"  # 2 % of 2.5 %
