"""How sure the journal lets us be: trades still needed for a correlation, bootstrap intervals.

The seeds: "Statistical significance: high quality scores show measurably better outcomes",
"minimum 30 trades for confidence, 100+ for robust conclusions". The p-values themselves are in
`cockpit.analytics.metrics` (`correlation`); this module answers two follow-up questions.

- **Trades needed** for a correlation r to reach p < alpha (two-sided) with the given power, by
  Fisher's z approximation: n = ((z(1 - alpha/2) + z(power)) / atanh(|r|))^2 + 3, rounded up
  (85 trades for r = 0.3 at alpha 0.05 and power 0.8, the textbook figure). It assumes the
  correlation found so far is the true one; it is a planning figure, not a promise.
- **Bootstrap intervals**: `resamples` journals of n trades drawn with replacement from the n
  trades (numpy's PCG64 with a fixed seed, so the same journal always gives the same interval),
  each metric computed on each, and the 2.5th and 97.5th percentiles taken (the percentile
  method, numpy's "inverted_cdf": no interpolation). Win rate, profit factor, expectancy and the
  per-trade Sharpe ratio (mean / std with ddof 1, not annualised; a resample without spread has
  no Sharpe and is left out of the percentiles).

Both run where the analytics snapshot is built (a worker thread, on a close), never per tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Imported here, with the module, on the main thread (~0.5 s once): a first import inside the
# analytics worker thread would run scipy's dataclass code generation (compile) on that thread,
# which on CPython 3.11 can race with a parse on the main thread ("AST constructor recursion
# depth mismatch", seen in CI).
from scipy.special import ndtr, ndtri, stdtr

from cockpit.analytics.metrics import _ZERO_SPREAD, Array, as_array

CONFIDENCE = 0.95
_CHUNK_ELEMENTS = 250_000
"""Resampled trades drawn at once (2 MB of float64), whatever the journal's size. Small on
purpose: numpy's `Generator.integers` holds the GIL for the whole draw, and the snapshot is built
in a worker thread while the event loop wants the GIL back every few milliseconds."""


def trades_needed(r: float, *, alpha: float, power: float) -> int | None:
    """Trades for a correlation of size |r| to be significant at `alpha` (two-sided) with
    probability `power`; None for r = 0 (no number of trades is enough)."""
    if r == 0.0:
        return None
    if abs(r) >= 1.0:
        return 4  # the smallest n with a defined t test and a perfect correlation
    z = float(ndtri(1.0 - alpha / 2.0) + ndtri(power))
    return math.ceil((z / math.atanh(abs(r))) ** 2 + 3.0)


def trades_needed_for_rate(rate: float, target: float, *, alpha: float, power: float) -> int | None:
    """Trades for an observed rate (a win rate) to differ from `target` at `alpha` (two-sided)
    with probability `power`, by the normal approximation of the one-sample proportion test:
    n = ((z(1 - alpha/2) sqrt(t(1 - t)) + z(power) sqrt(r(1 - r))) / (r - t))^2, rounded up.
    None when the rate equals the target (no number of trades tells them apart)."""
    if rate == target or not 0.0 < target < 1.0:
        return None
    z_alpha, z_power = float(ndtri(1.0 - alpha / 2.0)), float(ndtri(power))
    spread = z_alpha * math.sqrt(target * (1.0 - target)) + z_power * math.sqrt(rate * (1.0 - rate))
    return math.ceil((spread / (rate - target)) ** 2)


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided interval; a bound is None where the resamples leave it undefined (a profit
    factor of resamples without a loss has no upper bound)."""

    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class BootstrapIntervals:
    """95 % percentile-bootstrap intervals; None below 2 trades (or, for the profit factor,
    without a losing trade: the estimate itself is undefined)."""

    win_rate: Interval | None = None
    profit_factor: Interval | None = None
    expectancy: Interval | None = None
    sharpe_trade: Interval | None = None
    resamples: int = 0
    seed: int = 0


def _bounds(samples: Array) -> Interval:
    tail = (1.0 - CONFIDENCE) / 2.0
    finite_or_inf = samples[~np.isnan(samples)]
    if finite_or_inf.size == 0:
        return Interval(None, None)
    low, high = np.quantile(finite_or_inf, [tail, 1.0 - tail], method="inverted_cdf")
    return Interval(
        float(low) if math.isfinite(low) else None, float(high) if math.isfinite(high) else None
    )


def _resample_sums(
    values: Array,
    scale: float,
    picks: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    drawn: Array,
    spare: Array,
    n: int,
) -> tuple[npt.NDArray[np.intp], Array, Array, Array]:
    """Wins, gain sum, loss sum and Sharpe of each resample (row of `picks`).

    The same float operations, in the same order, as the plain expressions they replace
    (`np.maximum(drawn, 0).sum(1)`, `np.maximum(-drawn, 0).sum(1)`, `scaled.std(1, ddof=1)`,
    `scaled.mean(1)`, `np.max(np.abs(scaled), 1)`), so the intervals are the same to the bit,
    in two reused buffers: fewer passes over the resamples and no allocation per chunk.
    `max(d, 0) - d` is `max(-d, 0)` exactly; `values[picks] / scale` is `(values / scale)[picks]`
    exactly; numpy's std is mean, deviations squared, summed, divided by n - 1, square root
    (`numpy/core/_methods._var`), with the mean it also returns. The picks are in range, so
    `mode="clip"` changes nothing but lets `take` write into `out` without a buffer.
    """
    # np.take lets go of the GIL; values[picks] does not
    np.take(values, picks, out=drawn, mode="clip")
    wins = np.count_nonzero(drawn > 0, axis=1)
    positive = np.maximum(drawn, 0.0, out=spare)
    gains = positive.sum(axis=1)
    losses = np.subtract(positive, drawn, out=spare).sum(axis=1)
    # scale-free, as metrics.sharpe_ratio: no underflow
    scaled = np.true_divide(drawn, scale, out=drawn) if scale != 1.0 else drawn
    biggest = np.maximum(scaled.max(axis=1), -scaled.min(axis=1))
    mean = scaled.sum(axis=1, keepdims=True)
    np.true_divide(mean, n, out=mean)
    deviations = np.subtract(scaled, mean, out=spare)
    np.multiply(deviations, deviations, out=deviations)
    spread = deviations.sum(axis=1)
    np.true_divide(spread, n - 1, out=spread)
    np.sqrt(spread, out=spread)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean[:, 0] / spread
    ratio[spread <= _ZERO_SPREAD * biggest] = np.nan
    return wins, gains, losses, ratio


def bootstrap_intervals(
    pnls: Sequence[float] | Array, *, resamples: int, seed: int
) -> BootstrapIntervals:
    values = as_array(pnls)
    n = int(values.size)
    if n < 2:
        return BootstrapIntervals(resamples=resamples, seed=seed)
    rng = np.random.default_rng(seed)
    wins, gain_sums, loss_sums, sharpes = (np.empty(resamples) for _ in range(4))
    biggest = float(np.max(np.abs(values)))
    scale = biggest if biggest > 0.0 and math.isfinite(biggest) else 1.0
    chunk = max(1, _CHUNK_ELEMENTS // n)
    drawn = np.empty((min(chunk, resamples), n))
    spare = np.empty_like(drawn)
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        done = slice(start, start + rows)
        # int32 draws are the int64 draws (the same bounded 32-bit stream), at half the memory
        picks = rng.integers(0, n, size=(rows, n), dtype=np.int32 if n < 2**31 else np.int64)
        wins[done], gain_sums[done], loss_sums[done], sharpes[done] = _resample_sums(
            values, scale, picks, drawn[:rows], spare[:rows], n
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = gain_sums / loss_sums  # no loss: inf (no upper bound), nothing at all: nan
    return BootstrapIntervals(
        win_rate=_bounds(wins / n),
        profit_factor=_bounds(factors) if bool((values < 0).any()) else None,
        expectancy=_bounds((gain_sums - loss_sums) / n),
        sharpe_trade=_bounds(sharpes),
        resamples=resamples,
        seed=seed,
    )


def rate_p_value(rate: float, target: float, n: int) -> float | None:
    """Two-sided p of "the true rate is `target`" for a rate observed over n trades (the
    one-sample proportion z test, z = (rate - target) / sqrt(target (1 - target) / n))."""
    if n < 1 or not 0.0 < target < 1.0:
        return None
    z = (rate - target) / math.sqrt(target * (1.0 - target) / n)
    return float(2.0 * ndtr(-abs(z)))


def profit_factor_test(
    pnls: Sequence[float] | Array, threshold: float, *, alpha: float, power: float
) -> tuple[float | None, int | None]:
    """(p, trades still needed) for a profit factor against `threshold`.

    PF > t exactly when the mean of y = gain - t x loss per trade is above 0 (gain = max(pnl, 0),
    loss = max(-pnl, 0)), so "is the PF different from t" is a one-sample t test of y against 0:
    p two-sided with n - 1 degrees of freedom, and while p >= alpha the trades the current mean
    of y needs at power `power`: n = ((z(1 - alpha/2) + z(power)) s_y / mean_y)^2, minus n.
    (None, None) below 2 trades or without spread; the count is None once p < alpha.
    """
    values = as_array(pnls)
    n = int(values.size)
    if n < 2:
        return None, None
    y = np.maximum(values, 0.0) - threshold * np.maximum(-values, 0.0)
    spread = float(np.std(y, ddof=1))
    if spread <= _ZERO_SPREAD * float(np.max(np.abs(y))):
        return None, None
    mean = float(np.mean(y))
    p = float(2.0 * stdtr(n - 1, -abs(mean) / (spread / math.sqrt(n))))
    if p < alpha or mean == 0.0:
        return p, None
    z = float(ndtri(1.0 - alpha / 2.0) + ndtri(power))
    return p, max(1, math.ceil((z * spread / mean) ** 2) - n)
