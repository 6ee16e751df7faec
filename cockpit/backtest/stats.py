"""Per parameter set: the seeds' comparison figures and the runner and exit statistics.

All P&L here is in percent of the entry notional, one equal-sized position per trade (the
kernel's `pnl_pct`), so trades of different prices add up. Fees are the paper broker's taker fee
on the entry and on every exit fill's notional. Max drawdown is peak to trough of the running
sum of gross P&L in entry order, starting from 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cockpit.backtest import kernel
from cockpit.backtest.kernel import REASONS
from cockpit.backtest.run import Run
from cockpit.backtest.tables import CANDLES, F64, I64, SparseTables, sparse_tables, window_extremes

MISSED_WINDOW = 60
"""Bars after the last exit searched for the profit the trade left behind."""
E_RATIO_BARS = (5, 20, 60)


@dataclass(frozen=True, slots=True)
class SetStats:
    """One parameter set's figures (None where there is nothing to divide by)."""

    label: str
    policy: str
    trades: int
    refused: int
    win_rate_pct: float | None
    total_pct: float
    avg_pct: float | None
    total_net_pct: float
    avg_net_pct: float | None
    profit_factor: float | None
    max_drawdown_pct: float
    exits: dict[str, int]
    beyond_last_target: int
    avg_mfe_tp2_exits_pct: float | None
    avg_missed_pct: float | None
    mfe_capture_pct: float | None
    avg_r: float | None
    sqn: float | None
    ambiguous_trades: int
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def beyond_share_pct(self) -> float | None:
        return 100.0 * self.beyond_last_target / self.trades if self.trades else None


def _safe_mean(x: F64) -> float | None:
    return float(np.mean(x)) if x.size else None


def max_drawdown(pnl: F64) -> float:
    """Largest fall of the running sum from its running peak (the peak starts at 0)."""
    if pnl.size == 0:
        return 0.0
    equity = np.concatenate([[0.0], np.cumsum(pnl)])
    return float(np.max(np.maximum.accumulate(equity) - equity))


def set_stats(run: Run, s: int, fee_bps: float) -> SetStats:
    """The figures of set `s` of `run`."""
    ps = run.sets[s]
    n_sets = len(run.sets)
    idx = np.arange(len(run.entries)) * n_sets + s
    rows = run.rows[idx]
    res = run.results
    taken = ~np.isnan(rows[:, kernel.ENTRY])
    idx = idx[taken]
    rows = rows[taken]
    pnl = res.pnl_pct[idx]
    n = int(idx.size)
    entry = rows[:, kernel.ENTRY]
    sign = rows[:, kernel.SIGN]
    nf = res.n_fills[idx].astype(np.int64)
    used = np.arange(kernel.MAX_FILLS)[None, :] < nf[:, None]
    frac = np.where(used, res.fill_frac[idx], 0.0)
    price = np.where(used, res.fill_price[idx], 0.0)
    fees = fee_bps / 100.0 * (1.0 + np.sum(frac * price, axis=1) / entry)
    net = pnl - fees
    wins, losses = pnl[pnl > 0.0].sum(), -pnl[pnl < 0.0].sum()
    reasons = res.fill_reason[idx]
    exits = {
        name: int(np.sum(np.any(used & (reasons == code), axis=1)))
        for code, name in enumerate(REASONS)
    }
    last_target = np.where(np.isnan(rows[:, kernel.TP2]), rows[:, kernel.TP1], rows[:, kernel.TP2])
    last_target_pct = 100.0 * (sign * (last_target - entry) / entry)
    mfe = res.mfe_pct[idx]
    beyond = int(np.sum(mfe >= last_target_pct))
    tp2_exit = np.any(used & (reasons == kernel.R_TP2), axis=1)
    risk_pct = 100.0 * (sign * (entry - rows[:, kernel.STOP]) / entry)
    r_mult = pnl / risk_pct
    sqn = None
    if n >= 2 and float(np.std(r_mult, ddof=1)) > 0.0:
        sqn = math.sqrt(n) * float(np.mean(r_mult)) / float(np.std(r_mult, ddof=1))
    return SetStats(
        label=ps.label,
        policy=ps.policy,
        trades=n,
        refused=int(np.sum(~taken)),
        win_rate_pct=100.0 * float(np.mean(pnl > 0.0)) if n else None,
        total_pct=float(pnl.sum()),
        avg_pct=_safe_mean(pnl),
        total_net_pct=float(net.sum()),
        avg_net_pct=_safe_mean(net),
        profit_factor=float(wins / losses) if losses > 0.0 else None,
        max_drawdown_pct=max_drawdown(pnl),
        exits=exits,
        beyond_last_target=beyond,
        avg_mfe_tp2_exits_pct=_safe_mean(mfe[tp2_exit]),
        avg_missed_pct=_missed(run, idx, sign, entry, nf),
        mfe_capture_pct=(100.0 * float(pnl.sum() / mfe.sum())) if mfe.sum() > 0.0 else None,
        avg_r=_safe_mean(r_mult),
        sqn=sqn,
        ambiguous_trades=int(np.sum(res.ambiguous[idx] > 0)),
    )


def _candle_tables(run: Run) -> SparseTables:
    m = run.market
    return sparse_tables(m.open, m.high, m.low, m.close, CANDLES)


def _missed(run: Run, idx: I64, sign: F64, entry: F64, nf: I64) -> float | None:
    """Average favorable move left after the last exit: the best price of the next
    MISSED_WINDOW candles beyond the last fill's price, in % of entry, 0 if none (trades that
    ran to the end of the data have no after)."""
    if idx.size == 0:
        return None
    res = run.results
    last = nf - 1
    last_bar = res.fill_bar[idx, last]
    last_price = res.fill_price[idx, last]
    ended = res.fill_reason[idx, last] == kernel.R_END
    n = len(run.market)
    starts = np.minimum(last_bar + 1, n)
    ends = np.minimum(last_bar + 1 + MISSED_WINDOW, n)
    mx, mn = window_extremes(_candle_tables(run), starts, ends)
    best = np.where(sign > 0.0, mx, mn)
    move = 100.0 * (sign * (best - last_price) / entry)
    ok = ~ended & ~np.isnan(move)
    return _safe_mean(np.maximum(move[ok], 0.0))


def e_ratios(run: Run) -> dict[int, float | None]:
    """Edge ratio of the entries after N bars: mean(MFE/ATR) / mean(MAE/ATR), per N.

    Independent of the exit policy (it measures the entries); entries without an ATR are left
    out. Above 1: the entries move more for than against within N bars.
    """
    m = run.market
    atr = run.trades.atr
    ok = ~np.isnan(atr)
    entries = run.entries[ok]
    sign = run.trades.sign[ok]
    price = run.trades.entry[ok]
    tables = _candle_tables(run)
    out: dict[int, float | None] = {}
    for bars in E_RATIO_BARS:
        starts = entries + 1
        ends = np.minimum(starts + bars, len(m))
        mx, mn = window_extremes(tables, starts, ends)
        fav = np.where(sign > 0.0, mx - price, price - mn)
        adv = np.where(sign > 0.0, price - mn, mx - price)
        have = ~np.isnan(fav)
        mfe = np.maximum(fav[have], 0.0) / atr[ok][have]
        mae = np.maximum(adv[have], 0.0) / atr[ok][have]
        denom = float(np.mean(mae)) if mae.size else 0.0
        out[bars] = float(np.mean(mfe)) / denom if denom > 0.0 else None
    return out
