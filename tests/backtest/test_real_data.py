"""On real candles (../shared/data/market, skipped where absent): the whole pipeline (entries,
ATR, bulk plans, kernel) gives, trade by trade, what `plan_for` + the engine's loop give."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cockpit.backtest.data import EntryRule, entry_atrs, load_market, sides
from cockpit.backtest.plans import ParamSet, Trades
from cockpit.backtest.reference import run_trade
from cockpit.backtest.run import backtest
from cockpit.backtest.tables import PATH_KINDS
from cockpit.config import Settings
from cockpit.domain import Candle, Side
from cockpit.engine.policy import PlanRefused, plan_for

MARKET = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "market"
SOL = MARKET / "SOLUSDT_binance-usdm-perp_1m_2025-05-04_2025-06-24.csv.gz"

pytestmark = pytest.mark.skipif(not SOL.is_file(), reason="no real candles on this machine")

HORIZON = 1500


@pytest.mark.parametrize("kind", ["candles", "closes"])
def test_every_trade_equals_the_engine_on_real_candles(kind: str) -> None:
    market = load_market(SOL)
    settings = Settings()
    entries = EntryRule.parse("every:2917:100").indices(market)
    signs = sides("alternate", len(entries))
    scores = np.resize(np.array([90.0, 75.0, 65.0, 55.0]), len(entries))
    atrs = entry_atrs(market, entries, "15m", 14)
    trades = Trades(signs, market.close[entries], atrs, scores)
    sets = [ParamSet(p, bias=b) for p in ("fixed", "atr_scaled", "quality_tiers") for b in (0, 1)]
    run = backtest(market, sets, entries, trades, kind=PATH_KINDS[kind], horizon=HORIZON)
    compared = 0
    for t, entry_index in enumerate(entries.tolist()):
        bars = [
            Candle(
                "SOL",
                "1m",
                0,
                *(float(a[j]) for a in (market.open, market.high, market.low, market.close)),
                0.0,
            )
            for j in range(entry_index + 1, min(len(market), entry_index + 1 + HORIZON))
        ]
        for s, ps in enumerate(sets):
            row = run.row(t, s)
            try:
                if math.isnan(atrs[t]):
                    raise PlanRefused("no ATR")
                plan = plan_for(
                    settings,
                    policy=ps.policy,
                    symbol="SOLUSDT",
                    side=Side.LONG if signs[t] > 0 else Side.SHORT,
                    entry=float(market.close[entry_index]),
                    size=1.0,
                    atr=float(atrs[t]),
                    quality_score=float(scores[t]),
                    direction_bias=ps.bias,
                )
            except PlanRefused:
                assert run.results.n_fills[row] == 0
                continue
            ref = run_trade(plan, bars, first_index=entry_index + 1, kind=kind)
            assert tuple(run.results.fills(row)) == ref.fills, (entry_index, ps.label)
            assert run.results.mfe_pct[row] == ref.mfe_pct
            assert run.results.mae_pct[row] == ref.mae_pct
            assert run.results.ambiguous[row] == ref.ambiguous_bars
            assert run.results.pnl_pct[row] == ref.pnl_pct
            compared += 1
    assert compared >= 100  # the file has enough history for most entries to plan


def test_entry_atr_is_wilder_over_closed_clock_aligned_15m_bars() -> None:
    """Checked against the engine's own ATR on bars aggregated here by hand."""
    from cockpit.engine.atr import wilder_atr

    market = load_market(SOL)
    entries = np.array([100, 226, 227, 5_000, 40_123], dtype=np.int64)
    got = entry_atrs(market, entries, "15m", 14)
    tf = 900_000
    for k, i in enumerate(entries.tolist()):
        closes_at = int(market.ts[i]) + 60_000
        buckets: dict[int, list[int]] = {}
        for j in range(i + 1):
            buckets.setdefault(int(market.ts[j]) // tf, []).append(j)
        keys = sorted(buckets)
        if int(market.ts[0]) % tf:
            keys = keys[1:]  # the first, partial bucket
        bars = [
            Candle(
                "SOL",
                "15m",
                key * tf,
                float(market.open[buckets[key][0]]),
                float(max(market.high[j] for j in buckets[key])),
                float(min(market.low[j] for j in buckets[key])),
                float(market.close[buckets[key][-1]]),
                0.0,
            )
            for key in keys
            if key * tf + tf <= closes_at
        ]
        want = wilder_atr(bars, 14) if len(bars) >= 14 else None
        if want is None:
            assert math.isnan(got[k]), i
        else:
            assert got[k] == want, i
    assert math.isnan(got[0])  # bar 100: not 14 closed 15m bars yet


def test_the_done_when_command(tmp_path: Path) -> None:
    """The issue's own command line, on the real file."""
    from cockpit.cli import main

    trades, report = tmp_path / "t.csv", tmp_path / "r.md"
    code = main(
        [
            "backtest",
            str(SOL),
            "--policy",
            "fixed,atr_scaled,quality_tiers",
            "--scores",
            "90,75,65,55",
            "--entries",
            "every:240:100",
            "--path",
            "closes",
            "--trades",
            str(trades),
            "--out",
            str(report),
        ]
    )
    assert code == 0
    rows = trades.read_text().splitlines()
    assert len(rows) > 600  # ~304 entries x 3 policies, less the refused
    assert "| quality_tiers |" in report.read_text()
