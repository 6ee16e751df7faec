"""The seeded simulated market behind the demo: a regime-switching price process as ticks.

`simulated_ticks` is an endless tick iterator; `adapters.replay.simulated_market` plays it through
a `ReplayFeed` (with a warm-up history), so the demo runs the same path as a candle replay.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cockpit.domain import Tick

__all__ = ["REGIMES", "MarketSimulator", "Regime", "scale_tick", "simulated_ticks"]

SECONDS_PER_YEAR = 365 * 86_400  # crypto trades every day (DESIGN.md section 7 annualises with 365)


@dataclass(frozen=True, slots=True)
class Regime:
    """One volatility state of the simulated market."""

    name: str
    annual_vol: float
    """Annualised volatility of the diffusion (0.9 = 90 %)."""
    mean_minutes: float
    """Mean time spent in the regime before switching (the exit is memoryless, per tick)."""
    half_spread_bps: float
    jumps_per_hour: float


REGIMES: tuple[Regime, ...] = (
    Regime("calm", annual_vol=0.55, mean_minutes=90.0, half_spread_bps=0.5, jumps_per_hour=0.05),
    Regime("normal", annual_vol=0.90, mean_minutes=120.0, half_spread_bps=1.0, jumps_per_hour=0.15),
    Regime("volatile", annual_vol=1.50, mean_minutes=30.0, half_spread_bps=2.5, jumps_per_hour=0.5),
)
"""SOL-like: realised vol of SOL spans roughly 50-150 % a year between quiet and busy weeks."""

_REGIME_EXITS: tuple[tuple[float, ...], ...] = (
    (0.0, 0.85, 0.15),  # calm mostly wakes up into normal
    (0.6, 0.0, 0.4),
    (0.25, 0.75, 0.0),  # volatility mostly decays through normal
)
"""Row i: where the chain goes when it leaves regime i."""

_TREND_PCT_PER_HOUR = (0.2, 1.2)
_TREND_MEAN_MINUTES = 150.0
_JUMP_PCT = (0.4, 1.5)
_JUMP_REVERT_FRACTION = (0.3, 0.8)
_JUMP_REVERT_MINUTES = (2.0, 15.0)
_BLOCK = 4096


class MarketSimulator:
    """A seeded random price process with the features exits react to.

    Log price = a diffusion whose volatility follows a Markov chain over `REGIMES`, plus a slow
    trend whose sign flips at random (a few tenths of a percent to ~1 % an hour, a couple of hours
    long), plus occasional jumps of which a random part decays away again within minutes (spikes
    that wick through stops and partly come back). Working in log space keeps prices positive.

    Determinism: everything is drawn from one ``numpy.random.Generator(seed)`` in a fixed order,
    so a seed reproduces the path exactly. Normals and uniforms are drawn in blocks because scalar
    draws would dominate the cost of a tick.
    """

    def __init__(self, start_price: float, seed: int, interval_ms: int = 1000) -> None:
        if not (math.isfinite(start_price) and start_price > 0):
            raise ValueError(f"start_price must be positive, got {start_price}")
        if interval_ms <= 0:
            raise ValueError(f"interval_ms must be positive, got {interval_ms}")
        self._rng = np.random.default_rng(seed)
        self._dt_s = interval_ms / 1000.0
        self._log_base = math.log(start_price)
        self._overshoot = 0.0
        self._price = start_price  # exact at the start: exp(log(p)) need not round-trip
        self._decay = 1.0
        self._regime = 1
        self._trend = self._draw_trend(1.0 if self._rng.random() < 0.5 else -1.0)
        self._normals: list[float] = []
        self._uniforms: list[list[float]] = []
        self._cursor = _BLOCK

    @property
    def regime(self) -> Regime:
        return REGIMES[self._regime]

    @property
    def price(self) -> float:
        return self._price

    def _draw_trend(self, sign: float) -> float:
        pct_per_hour = float(self._rng.uniform(*_TREND_PCT_PER_HOUR))
        return sign * pct_per_hour / 100.0 / 3600.0

    def step(self) -> float:
        """Advance one interval and return the new mid price."""
        if self._cursor >= _BLOCK:
            self._normals = self._rng.standard_normal(_BLOCK).tolist()
            self._uniforms = self._rng.random((_BLOCK, 3)).tolist()
            self._cursor = 0
        z = self._normals[self._cursor]
        u_regime, u_trend, u_jump = self._uniforms[self._cursor]
        self._cursor += 1
        dt = self._dt_s

        if u_regime < dt / (REGIMES[self._regime].mean_minutes * 60.0):
            self._regime = int(self._rng.choice(len(REGIMES), p=_REGIME_EXITS[self._regime]))
        if u_trend < dt / (_TREND_MEAN_MINUTES * 60.0):
            self._trend = self._draw_trend(-1.0 if self._trend > 0 else 1.0)

        regime = REGIMES[self._regime]
        sigma = regime.annual_vol * math.sqrt(dt / SECONDS_PER_YEAR)
        self._log_base += self._trend * dt - 0.5 * sigma * sigma + sigma * z
        self._overshoot *= self._decay
        if u_jump < regime.jumps_per_hour * dt / 3600.0:
            sign = 1.0 if self._rng.random() < 0.5 else -1.0
            size = sign * float(self._rng.uniform(*_JUMP_PCT)) / 100.0 * regime.annual_vol / 0.9
            revert = float(self._rng.uniform(*_JUMP_REVERT_FRACTION))
            tau_s = float(self._rng.uniform(*_JUMP_REVERT_MINUTES)) * 60.0
            self._log_base += size * (1.0 - revert)
            self._overshoot += size * revert
            self._decay = math.exp(-dt / tau_s)
        self._price = math.exp(self._log_base + self._overshoot)
        return self._price

    def tick(self, symbol: str, ts_ms: int) -> Tick:
        """The current state as a tick with a regime-dependent bid/ask around the mid."""
        price = self.price
        half = REGIMES[self._regime].half_spread_bps / 1e4
        return Tick(
            symbol, ts_ms, price, bid=price * (1 - half), ask=price * (1 + half), source="simulated"
        )


def simulated_ticks(
    symbol: str, *, start_price: float, seed: int, start_ms: int, interval_ms: int = 1000
) -> Iterator[Tick]:
    """An endless simulated market (see `MarketSimulator`), one tick every `interval_ms`.

    The first tick is at `start_ms` at exactly `start_price`. Arguments are checked now, not on
    the first `next()`.
    """
    sim = MarketSimulator(start_price, seed, interval_ms)

    def run() -> Iterator[Tick]:
        ts = start_ms
        while True:
            yield sim.tick(symbol, ts)
            sim.step()
            ts += interval_ms

    return run()


def scale_tick(tick: Tick, factor: float) -> Tick:
    """`tick` with its prices times `factor`: the process is multiplicative, so a scaled path is
    another path of it (how `simulated_market` starts the live ticks at exactly its price)."""
    return Tick(
        tick.symbol,
        tick.ts_ms,
        tick.price * factor,
        bid=None if tick.bid is None else tick.bid * factor,
        ask=None if tick.ask is None else tick.ask * factor,
        source=tick.source,
    )
