"""Performance metrics over closed trades (numpy). Every formula is written out here once.

Inputs are net P&L per trade in USDT (see `cockpit.analytics.trades` for the convention), in the
order the trades closed. Ratios that are undefined (no trades, no losses, zero variance) are
None, shown as "n/a": never an inf or a NaN on a trader's screen.

Definitions (DESIGN.md section 7, following empyrical):

- win rate = wins / trades (a win is net P&L > 0; a trade at exactly 0 is neither win nor loss).
- average win = mean net P&L of the wins; average loss = mean net P&L of the losses (negative);
  win/loss ratio = average win / |average loss|.
- profit factor = sum of wins / |sum of losses|.
- expectancy = P(win) x average win + P(loss) x average loss: dollars expected per trade. It
  equals the average net P&L per trade (trades at 0 add nothing to either side).
- equity curve = cumulative net P&L after each closed trade, starting from 0 before the first.
  Drawdown = running peak (including that 0 start) minus the curve; max drawdown in $ is its
  largest value; in % it is measured on equity = starting equity + curve, relative to the running
  peak of that equity (the starting equity is a setting, `analytics.starting_equity_usdt`).
- Sharpe = mean(r) / std(r, ddof=1) x sqrt(periods per year); Sortino = mean(r) / DD x sqrt(...),
  with the downside deviation DD = sqrt(mean(min(r, 0)^2)) taken over all N periods (empyrical's
  `downside_risk` with a 0 target). Two variants:
    * per day: r = net P&L of each UTC calendar day from the first exit day to the last, days
      without a close counting as 0; annualised with 365 (crypto trades every day). Dollars
      instead of returns give the same ratio as returns on a constant account (both ratios are
      unchanged when every r is divided by the same capital), so no account size is needed.
    * per trade: r = net P&L of each trade, NOT annualised (labelled "per trade").
- Pearson correlation of the quality score with net P&L, with MFE, with the duration (exit -
  entry, minutes) and with the win (1 for net P&L > 0, else 0: the point-biserial r), over the
  scored trades,
  and Spearman's rank correlation (Pearson over average ranks, ties sharing their mean rank),
  each with its two-sided p-value from Student's t with n - 2 degrees of freedom,
  t = r sqrt((n - 2) / (1 - r^2)): the p-values scipy.stats.pearsonr and spearmanr give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.special import stdtr  # at import, on the main thread: see significance.py

from cockpit.analytics.columns import TradeColumns, columns, exit_order, seq_sum
from cockpit.analytics.exit_quality import ExitQuality, exit_quality
from cockpit.analytics.trades import TradeRecord

DAY_MS = 86_400_000
DAYS_PER_YEAR = 365
"""Crypto markets trade every calendar day: daily ratios annualise with sqrt(365)."""

# Relative size under which a standard deviation is rounding noise, not variance: the mean of
# [0.1, 0.1, 0.1] is not exactly 0.1 in floating point, and the resulting std of ~1e-17 would
# otherwise turn into a Sharpe ratio of 1e16.
_ZERO_SPREAD = 1e-9

Array = npt.NDArray[np.float64]


def as_array(values: Sequence[float] | Array) -> Array:
    return np.asarray(values, dtype=np.float64)


def _unit_scaled(values: Array) -> Array:
    """`values` divided by their largest magnitude: a ratio of moments does not change, and
    tiny P&Ls (1e-162) no longer underflow when squared, so a ratio never depends on size."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return values / scale if scale > 0.0 and math.isfinite(scale) else values


def _is_zero_spread(spread: float, values: Array) -> bool:
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return spread <= _ZERO_SPREAD * scale


# ------------------------------------------------------------------ wins and losses
def win_rate(pnls: Sequence[float] | Array) -> float | None:
    """Share of trades with net P&L > 0, as a fraction (0.5 = 50 %); None without trades."""
    values = as_array(pnls)
    if values.size == 0:
        return None
    return float(np.count_nonzero(values > 0) / values.size)


def average_win(pnls: Sequence[float] | Array) -> float | None:
    values = as_array(pnls)
    wins = values[values > 0]
    return float(wins.mean()) if wins.size else None


def average_loss(pnls: Sequence[float] | Array) -> float | None:
    """Mean of the losing trades' net P&L: a negative number (None without losses)."""
    values = as_array(pnls)
    losses = values[values < 0]
    return float(losses.mean()) if losses.size else None


def _ratio(gain: float, loss: float) -> float | None:
    """gain / loss, or None when the loss is nothing next to the gain (the ratio would be
    infinite, or overflow: 748 / 4e-306): relative, so it never depends on position size."""
    if loss <= _ZERO_SPREAD * gain or loss == 0.0:
        return None
    return gain / loss


def win_loss_ratio(pnls: Sequence[float] | Array) -> float | None:
    """Average win / |average loss|; None unless there are both wins and losses."""
    win, loss = average_win(pnls), average_loss(pnls)
    if win is None or loss is None:
        return None
    return _ratio(win, abs(loss))


def profit_factor(pnls: Sequence[float] | Array) -> float | None:
    """Sum of wins / |sum of losses|; None without losses (it would be infinite)."""
    values = as_array(pnls)
    return _ratio(float(values[values > 0].sum()), float(-values[values < 0].sum()))


def expectancy(pnls: Sequence[float] | Array) -> float | None:
    """P(win) x average win + P(loss) x average loss, in $ per trade."""
    values = as_array(pnls)
    if values.size == 0:
        return None
    n = values.size
    wins, losses = values[values > 0], values[values < 0]
    win_part = wins.size / n * float(wins.mean()) if wins.size else 0.0
    loss_part = losses.size / n * float(losses.mean()) if losses.size else 0.0
    return win_part + loss_part


# ------------------------------------------------------------------ equity and drawdown
def equity_curve(pnls: Sequence[float] | Array) -> Array:
    """Cumulative net P&L after each trade (the curve starts at 0 before the first trade)."""
    return np.cumsum(as_array(pnls))


def drawdown_curve(pnls: Sequence[float] | Array) -> Array:
    """$ below the running peak after each trade (>= 0); the peak includes the 0 start."""
    curve = equity_curve(pnls)
    if curve.size == 0:
        return curve
    peaks = np.maximum.accumulate(np.concatenate(([0.0], curve)))[1:]
    return peaks - curve


@dataclass(frozen=True, slots=True)
class Drawdown:
    usd: float
    pct: float


def max_drawdown(pnls: Sequence[float] | Array, starting_equity: float) -> Drawdown | None:
    """Largest fall from a running peak: in $ of P&L, and in % of equity at that peak."""
    values = as_array(pnls)
    if values.size == 0:
        return None
    if not starting_equity > 0:
        raise ValueError("starting equity must be above 0")
    equity = starting_equity + np.concatenate(([0.0], np.cumsum(values)))
    peaks = np.maximum.accumulate(equity)
    usd = float(np.max(peaks - equity))
    pct = float(np.max((peaks - equity) / peaks)) * 100.0
    return Drawdown(usd=usd, pct=pct)


# ------------------------------------------------------------------ risk-adjusted
def sharpe_ratio(returns: Sequence[float] | Array, periods_per_year: float = 1.0) -> float | None:
    """mean / std (ddof=1) x sqrt(periods_per_year); None for fewer than 2 values or no spread."""
    values = _unit_scaled(as_array(returns))
    if values.size < 2:
        return None
    spread = float(np.std(values, ddof=1))
    if _is_zero_spread(spread, values):
        return None
    return float(np.mean(values)) / spread * math.sqrt(periods_per_year)


def downside_deviation(returns: Sequence[float] | Array) -> float | None:
    """sqrt(mean(min(r, 0)^2)) over ALL periods, gains counting as 0 (empyrical)."""
    values = as_array(returns)
    if values.size == 0:
        return None
    return float(np.sqrt(np.mean(np.minimum(values, 0.0) ** 2)))


def sortino_ratio(returns: Sequence[float] | Array, periods_per_year: float = 1.0) -> float | None:
    """mean / downside deviation x sqrt(periods_per_year); None without any losing period."""
    values = _unit_scaled(as_array(returns))
    if values.size < 2:
        return None
    downside = downside_deviation(values)
    # Exactly 0 only when no period lost: min(r, 0) involves no rounding, unlike the std.
    if downside is None or downside == 0.0:
        return None
    return float(np.mean(values)) / downside * math.sqrt(periods_per_year)


def daily_pnl(
    exit_ts_ms: Sequence[int] | npt.NDArray[np.int64], pnls: Sequence[float] | Array
) -> Array:
    """Net P&L per UTC calendar day from the first exit day to the last, 0 on days without one."""
    values = as_array(pnls)
    if values.size == 0:
        return values
    days = np.asarray(exit_ts_ms, dtype=np.int64) // DAY_MS
    first = int(days.min())
    out = np.zeros(int(days.max()) - first + 1, dtype=np.float64)
    np.add.at(out, days - first, values)
    return out


def pearson(x: Sequence[float] | Array, y: Sequence[float] | Array) -> float | None:
    """Pearson's r; None for fewer than 2 pairs or when either side has no spread."""
    xs, ys = _unit_scaled(as_array(x)), _unit_scaled(as_array(y))
    if xs.size != ys.size:
        raise ValueError("pearson needs two sequences of the same length")
    if xs.size < 2:
        return None
    dx, dy = xs - xs.mean(), ys - ys.mean()
    sx, sy = float(np.sqrt(np.sum(dx * dx))), float(np.sqrt(np.sum(dy * dy)))
    if _is_zero_spread(sx, xs) or _is_zero_spread(sy, ys):
        return None
    r = float(np.sum(dx * dy)) / (sx * sy)
    return max(-1.0, min(1.0, r))


def average_ranks(values: Sequence[float] | Array) -> Array:
    """Ranks 1..n, tied values sharing the mean of their ranks (scipy's rankdata "average")."""
    array = as_array(values)
    order = np.argsort(array, kind="mergesort")
    ordered = array[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    group = np.cumsum(starts)
    bounds = np.concatenate((np.flatnonzero(starts), [array.size]))
    ranks = np.empty(array.size, dtype=np.float64)
    ranks[order] = 0.5 * (bounds[group - 1] + bounds[group] + 1)
    return ranks


def correlation_p_value(r: float, n: int) -> float | None:
    """Two-sided p-value of a correlation r over n pairs (t test, n - 2 degrees of freedom);
    None below 3 pairs, where the test has no degrees of freedom."""
    if n < 3:
        return None
    if abs(r) >= 1.0:
        return 0.0
    t = abs(r) * math.sqrt((n - 2) / ((1.0 - r) * (1.0 + r)))
    return float(2.0 * stdtr(n - 2, -t))


@dataclass(frozen=True, slots=True)
class Correlation:
    """Pearson's r and Spearman's rho over `n` pairs, each with its two-sided p-value."""

    n: int
    r: float | None = None
    p: float | None = None
    rho: float | None = None
    rho_p: float | None = None


def correlation(x: Sequence[float] | Array, y: Sequence[float] | Array) -> Correlation:
    xs, ys = as_array(x), as_array(y)
    r = pearson(xs, ys)
    n = int(xs.size)
    if r is None:
        return Correlation(n)
    rho = pearson(average_ranks(xs), average_ranks(ys))
    return Correlation(
        n,
        r,
        correlation_p_value(r, n),
        rho,
        None if rho is None else correlation_p_value(rho, n),
    )


def mean_or_none(values: Sequence[float] | Array) -> float | None:
    array = as_array(values)
    return float(array.mean()) if array.size else None


# ------------------------------------------------------------------ runners
@dataclass(frozen=True, slots=True)
class RunnerStats:
    """How often trades ran past their TP2 level, and what was left on the table after exit.

    `with_mfe`: trades whose MFE is known; `beyond_tp2`: those whose MFE went beyond their TP2
    distance (the trade's own TP2, else the fixed policy's `tp2_pct`: `tp2_fallbacks` counts
    those). Missed profit: for each trade with candles recorded after its exit, a runner of
    `runner_share` x size held to the best price within the window after the exit (an upper
    bound: no trailing stop gives any of it back); None when no trade has such candles.
    """

    with_mfe: int
    beyond_tp2: int
    beyond_share: float | None
    avg_mfe_pct: float | None
    avg_tp2_distance_pct: float | None
    tp2_fallbacks: int
    tp2_exits: int
    avg_mfe_tp2_exits_pct: float | None
    missed_usd: float | None
    missed_trades: int
    no_candle_trades: int
    runner_share: float


def tp2_distance(trade: TradeRecord, fallback_tp2_pct: float) -> tuple[float, bool]:
    """The trade's TP2 distance in % of entry, and whether the fallback had to stand in."""
    own = trade.tp2_distance_pct
    return (own, False) if own is not None else (fallback_tp2_pct, True)


def missed_after_exit(trade: TradeRecord, runner_share: float) -> float | None:
    """$ a runner of `runner_share` x size would have added at the best price after exit."""
    best = trade.after_exit_high if trade.side == "long" else trade.after_exit_low
    if best is None:
        return None
    extra_move = max(0.0, trade.sign * (best - trade.exit_price))
    return extra_move * trade.size * runner_share


def runner_stats(
    trades: Sequence[TradeRecord] | TradeColumns, fallback_tp2_pct: float, runner_share: float
) -> RunnerStats:
    cols = trades if isinstance(trades, TradeColumns) else columns(trades)
    known = np.flatnonzero(cols.mfe_known)
    mfes = cols.mfe[known]
    own = [cols.records[i].tp2_distance_pct for i in known.tolist()]
    fell_back = np.fromiter((d is None for d in own), np.bool_, len(own))
    distances = as_array([fallback_tp2_pct if d is None else d for d in own])
    beyond = int(np.count_nonzero(mfes > distances))
    tp2_exit = np.fromiter((t.exit_reason == "tp2" for t in cols.records), np.bool_, cols.size)
    tp2_mfes = cols.mfe[tp2_exit & cols.mfe_known]
    missed = _missed(cols, runner_share)
    return RunnerStats(
        with_mfe=int(mfes.size),
        beyond_tp2=beyond,
        beyond_share=beyond / mfes.size if mfes.size else None,
        avg_mfe_pct=mean_or_none(mfes),
        avg_tp2_distance_pct=mean_or_none(distances),
        tp2_fallbacks=int(np.count_nonzero(fell_back)),
        tp2_exits=int(tp2_mfes.size),
        avg_mfe_tp2_exits_pct=mean_or_none(tp2_mfes),
        missed_usd=seq_sum(missed) if missed.size else None,
        missed_trades=int(missed.size),
        no_candle_trades=cols.size - int(missed.size),
        runner_share=runner_share,
    )


def _missed(cols: TradeColumns, runner_share: float) -> Array:
    """`missed_after_exit` of every trade that has candles after its exit, in order."""
    best = [t.after_exit_high if t.side == "long" else t.after_exit_low for t in cols.records]
    have = [i for i, b in enumerate(best) if b is not None]
    if not have:
        return np.empty(0)
    at = np.asarray(have, dtype=np.int64)
    records = cols.records
    found = as_array([b for b in best if b is not None])
    move = found - as_array([records[i].exit_price for i in have])
    move = np.where(cols.long[at], move, -move)
    extra = np.where(move > 0.0, move, 0.0)  # max(0.0, move): 0.0 unless strictly above
    sizes = as_array([records[i].size for i in have])
    return extra * sizes * runner_share


# ------------------------------------------------------------------ all of it
@dataclass(frozen=True, slots=True)
class Metrics:
    """Every number of the analytics screen's metrics panel, for one set of trades."""

    trades: int
    wins: int
    losses: int
    win_rate: float | None
    avg_win: float | None
    avg_loss: float | None
    win_loss_ratio: float | None
    profit_factor: float | None
    expectancy: float | None
    total_net: float
    total_gross: float
    total_fees: float
    avg_net: float | None
    max_drawdown: Drawdown | None
    sharpe_trade: float | None
    sortino_trade: float | None
    sharpe_daily: float | None
    sortino_daily: float | None
    days: int
    scored_trades: int
    quality_pnl: Correlation
    quality_mfe: Correlation
    runner: RunnerStats
    quality_duration: Correlation = Correlation(0)
    """Quality score vs how long the trade was open (exit - entry, in minutes)."""
    quality_win: Correlation = Correlation(0)
    """Quality score vs won (1) or not (0): the point-biserial correlation, Pearson over 0/1."""
    exits: ExitQuality = field(default_factory=lambda: ExitQuality(None, 0, None, 0, None))
    """MFE capture, R-multiples and SQN (exit_quality.py)."""

    @property
    def corr_quality_pnl(self) -> float | None:
        """Pearson's r of quality score and net P&L (the roadmap's "correlation coefficient")."""
        return self.quality_pnl.r

    @property
    def corr_quality_mfe(self) -> float | None:
        return self.quality_mfe.r


def by_exit_time(trades: Sequence[TradeRecord]) -> list[TradeRecord]:
    """The order the equity curve is built in: exit time, then id."""
    return exit_order(trades)


def compute_metrics(
    trades: Sequence[TradeRecord] | TradeColumns,
    *,
    starting_equity: float,
    fallback_tp2_pct: float,
    runner_share: float,
) -> Metrics:
    """The metrics of `trades` (records in any order, or columns already in exit order)."""
    cols = trades if isinstance(trades, TradeColumns) else columns(by_exit_time(trades))
    pnls = cols.net
    daily = daily_pnl(cols.exit_ts, pnls)
    scored = cols.quality_known
    scored_mfe = scored & cols.mfe_known
    quality = cols.quality[scored]
    return Metrics(
        trades=cols.size,
        wins=int(np.count_nonzero(pnls > 0)),
        losses=int(np.count_nonzero(pnls < 0)),
        win_rate=win_rate(pnls),
        avg_win=average_win(pnls),
        avg_loss=average_loss(pnls),
        win_loss_ratio=win_loss_ratio(pnls),
        profit_factor=profit_factor(pnls),
        expectancy=expectancy(pnls),
        total_net=float(pnls.sum()),
        total_gross=seq_sum(cols.realized),
        total_fees=seq_sum(cols.fees),
        avg_net=mean_or_none(pnls),
        max_drawdown=max_drawdown(pnls, starting_equity),
        sharpe_trade=sharpe_ratio(pnls),
        sortino_trade=sortino_ratio(pnls),
        sharpe_daily=sharpe_ratio(daily, DAYS_PER_YEAR),
        sortino_daily=sortino_ratio(daily, DAYS_PER_YEAR),
        days=int(daily.size),
        scored_trades=int(np.count_nonzero(scored)),
        quality_pnl=correlation(quality, pnls[scored]),
        quality_mfe=correlation(cols.quality[scored_mfe], cols.mfe[scored_mfe]),
        runner=runner_stats(cols, fallback_tp2_pct, runner_share),
        quality_duration=correlation(
            quality, (cols.exit_ts[scored] - cols.entry_ts[scored]) / 60_000
        ),
        quality_win=correlation(quality, np.where(pnls[scored] > 0, 1.0, 0.0)),
        exits=exit_quality(cols.records),
    )
