"""Seed 003 step 6, the rest of its analysis: "Symbol correlation during drawdowns" and
"Leverage exposure during drawdowns" (the 1 vs 2+ positions rule is in `portfolio.py`).

- A **pair** is two trades that were open at the same time (their [entry, exit) intervals
  intersect, as in `portfolio.overlapping`), the earlier entry first. Every pair counts,
  whatever the symbols; how many are of two different symbols is said beside it.
- A trade **closed in a drawdown** when its close left the equity curve (net P&L in exit order,
  from 0) below its running peak (`portfolio.in_drawdown`). A pair is **in a drawdown** when
  both of its trades closed in one, **outside** otherwise.
- Per set of pairs: Pearson's r (and Spearman's rho) between the earlier and the later trade's
  net P&L, with the number of pairs and the two-sided p-values of `metrics.correlation`.
- The two r are compared with Fisher's z: z = (atanh r_dd - atanh r_out) / sqrt(1/(n_dd - 3)
  + 1/(n_out - 3)), two-sided normal p (none below 4 pairs a set, or with |r| = 1).
- **Leverage**: the average leverage of the trades closed in a drawdown and of the others, with
  Welch's p (`ab.welch_p`).

Pairs share trades (a trade open beside two others is in two pairs), so the pairs are not
independent and the p-values read higher confidence than the journal holds: a pointer, not a
proof. At most `MAX_PAIRS` pairs are read; beyond that nothing is guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr  # on the main thread, with the module

from cockpit.analytics import fmt
from cockpit.analytics.ab import welch_p
from cockpit.analytics.columns import Ints, TradeColumns
from cockpit.analytics.metrics import Correlation, correlation, mean_or_none
from cockpit.analytics.portfolio import in_drawdown
from cockpit.config import GatesConfig

MAX_PAIRS = 1_000_000
"""Pairs read at most (16 MB of positions): a journal of positions all open at once has n²/2."""


@dataclass(frozen=True, slots=True)
class PortfolioCorrelation:
    in_drawdown: Correlation
    outside: Correlation
    difference_p: float | None
    """Fisher's z p-value of "r in drawdowns = r outside"."""
    cross_symbol_pairs: int
    leverage_in_drawdown: float | None
    leverage_outside: float | None
    leverage_p: float | None
    conclusion: str


def overlapping_pairs(cols: TradeColumns) -> tuple[Ints, Ints] | None:
    """Positions (into `cols`) of every pair open at once, earlier entry first; None for more
    than `MAX_PAIRS`."""
    opened = np.flatnonzero(cols.exit_ts > cols.entry_ts)  # an empty interval overlaps nothing
    order = opened[np.lexsort((opened, cols.exit_ts[opened], cols.entry_ts[opened]))]
    entry, exit_ = cols.entry_ts[order], cols.exit_ts[order]
    at = np.arange(order.size)
    counts = np.maximum(np.searchsorted(entry, exit_, side="left") - at - 1, 0)
    total = int(counts.sum())
    if total > MAX_PAIRS:
        return None
    first = np.repeat(at, counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    second = first + 1 + (np.arange(total) - starts)
    return order[first], order[second]


def _fisher_p(a: Correlation, b: Correlation) -> float | None:
    if a.r is None or b.r is None or a.n < 4 or b.n < 4 or max(abs(a.r), abs(b.r)) >= 1.0:
        return None
    z = (math.atanh(a.r) - math.atanh(b.r)) / math.sqrt(1.0 / (a.n - 3) + 1.0 / (b.n - 3))
    return float(2.0 * ndtr(-abs(z)))


def _said(c: Correlation) -> str:
    """ "r +0.62 (n 14, p 0.02)"."""
    r = fmt.NA if c.r is None else f"{c.r:+.2f}"
    return f"r {r} (n {c.n}, p {fmt.p_value(c.p)})"


def _conclusion(dd: Correlation, out: Correlation, p: float | None, cfg: GatesConfig) -> str:
    if dd.n + out.n == 0:
        return "no positions were open at the same time: no correlation to read"
    both = f"{_said(dd)} in drawdowns vs {_said(out)} outside"
    if p is None:
        return f"too few pairs to compare (4 a side needed): {both}"
    if p >= cfg.significance_alpha:
        return f"no significant difference in drawdowns: {both}, difference p {fmt.p_value(p)}"
    assert dd.r is not None and out.r is not None
    more = "more" if dd.r > out.r else "less"
    return (
        f"open positions move together {more} in drawdowns: {both}, difference p {fmt.p_value(p)}"
    )


def portfolio_correlation(cols: TradeColumns, cfg: GatesConfig) -> PortfolioCorrelation:
    """Seed 003 step 6's correlation and leverage during drawdowns (see the module)."""
    closed_in_dd = in_drawdown(cols)
    leverage = np.fromiter((t.leverage for t in cols.records), np.float64, cols.size)
    lev_dd, lev_out = leverage[closed_in_dd], leverage[~closed_in_dd]
    lev = (mean_or_none(lev_dd), mean_or_none(lev_out), welch_p(lev_out, lev_dd))
    pairs = overlapping_pairs(cols)
    if pairs is None:
        none = Correlation(0)
        said = f"more than {MAX_PAIRS:,} pairs of positions open at once: not read"
        return PortfolioCorrelation(none, none, None, 0, *lev, said)
    first, second = pairs
    dd = closed_in_dd[first] & closed_in_dd[second]
    symbols = np.asarray(cols.field("symbol"), dtype=object)
    cross = int(np.count_nonzero(symbols[first] != symbols[second]))
    x, y = cols.net[first], cols.net[second]
    in_dd, out = correlation(x[dd], y[dd]), correlation(x[~dd], y[~dd])
    p = _fisher_p(in_dd, out)
    return PortfolioCorrelation(in_dd, out, p, cross, *lev, _conclusion(in_dd, out, p, cfg))


def correlation_rows(result: PortfolioCorrelation) -> list[tuple[str, str, str, str, str]]:
    """Set of pairs, pairs, Pearson r (p), Spearman rho (p), average leverage of the trades
    closed there: the screen's and the report's table."""
    return [
        (
            name,
            str(c.n),
            fmt.NA if c.r is None else f"{c.r:+.2f} (p {fmt.p_value(c.p)})",
            fmt.NA if c.rho is None else f"{c.rho:+.2f} (p {fmt.p_value(c.rho_p)})",
            fmt.times(lev, 1),
        )
        for name, c, lev in (
            ("pairs in drawdowns", result.in_drawdown, result.leverage_in_drawdown),
            ("pairs outside", result.outside, result.leverage_outside),
        )
    ]


CORRELATION_COLUMNS = ("Positions open at once", "Pairs", "Pearson r", "Spearman rho", "Leverage")
