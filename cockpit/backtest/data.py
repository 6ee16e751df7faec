"""A candle file as arrays, the entry rule, and the ATR each entry would have had.

The file is read by `adapters.csv_candles.load_candles_csv` (strict: a bad row is an error that
names its line). ATR at an entry follows the lab's rule (docs/backtest.md): Wilder ATR(period)
over every closed bar of the ATR timeframe (15m by default) before the entry bar's close, bars
aligned to the clock, the first partial bucket dropped; a bar counts when it ends at or before
the entry bar's close. Fewer than `period` such bars: no ATR, the entry is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adapters.csv_candles import load_candles_csv, timeframe_ms
from cockpit.backtest.tables import F64, I64
from cockpit.domain import Candle
from cockpit.engine.atr import wilder_atr_series


@dataclass(frozen=True, slots=True)
class Market:
    """One candle file: bar open times (ms), OHLC, the bar length and the symbol it trades."""

    path: Path
    symbol: str
    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    bar_ms: int

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def symbol_of(path: Path) -> str:
    """The symbol a file name starts with (`SOLUSDT_binance-usdm-perp_1m_...` -> SOLUSDT)."""
    return path.name.split("_", 1)[0].split(".", 1)[0].upper()


def load_market(path: Path, symbol: str | None = None) -> Market:
    """Read and validate a candle file (CandleFileError names the bad line)."""
    if not path.is_file():
        raise FileNotFoundError(f"no such candle file: {path}")
    sym = symbol or symbol_of(path)
    bars = load_candles_csv(path, sym)
    return Market(
        path=path,
        symbol=sym,
        ts=np.array([b.ts_ms for b in bars], dtype=np.int64),
        open=np.array([b.open for b in bars], dtype=np.float64),
        high=np.array([b.high for b in bars], dtype=np.float64),
        low=np.array([b.low for b in bars], dtype=np.float64),
        close=np.array([b.close for b in bars], dtype=np.float64),
        bar_ms=timeframe_ms(bars[0].timeframe),
    )


_EVERY = re.compile(r"^every:(\d+)(?::(\d+))?$")


@dataclass(frozen=True, slots=True)
class EntryRule:
    """`every:N[:OFFSET]`: an entry at the close of bar OFFSET, OFFSET + N, ... (0-based)."""

    every: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> EntryRule:
        match = _EVERY.match(text.strip())
        if match is None:
            raise ValueError(f"--entries {text!r}: expected every:N or every:N:OFFSET")
        every, offset = int(match.group(1)), int(match.group(2) or 0)
        if every < 1:
            raise ValueError(f"--entries {text!r}: N must be at least 1")
        return cls(every, offset)

    def indices(self, market: Market) -> I64:
        """Entry bars with at least one bar after them; none is an error (outside the data)."""
        last = len(market) - 2
        if self.offset > last:
            raise ValueError(
                f"--entries every:{self.every}:{self.offset} is outside the data: "
                f"{market.path.name} has {len(market)} bars (0 to {len(market) - 1}) and an "
                "entry needs a bar after it"
            )
        return np.arange(self.offset, last + 1, self.every, dtype=np.int64)


def sides(kind: str, count: int) -> F64:
    """Side signs per entry: `alternate` (long first), `long` or `short`."""
    if kind == "alternate":
        return np.where(np.arange(count) % 2 == 0, 1.0, -1.0)
    if kind == "long":
        return np.ones(count)
    if kind == "short":
        return -np.ones(count)
    raise ValueError(f"--sides {kind!r}: alternate, long or short")


def parse_scores(text: str | None) -> list[float]:
    """`90,75,65,55` -> floats in 0-100 (cycled per entry)."""
    if text is None:
        return []
    out = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"--scores: {part.strip()!r} is not a number") from None
        if not (math.isfinite(value) and 0.0 <= value <= 100.0):
            raise ValueError(f"--scores: {part.strip()} is not between 0 and 100")
        out.append(value)
    return out


def higher_bars(market: Market, timeframe: str) -> list[Candle]:
    """The file's bars of `timeframe`, aligned to the clock, the first partial bucket dropped."""
    tf = timeframe_ms(timeframe)
    bucket = market.ts // tf
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    if market.ts[0] % tf != 0:
        starts = starts[1:]
    out: list[Candle] = []
    ends = np.r_[starts[1:], len(market)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        out.append(
            Candle(
                market.symbol,
                timeframe,
                int(bucket[a]) * tf,
                float(market.open[a]),
                float(market.high[a:b].max()),
                float(market.low[a:b].min()),
                float(market.close[b - 1]),
                0.0,
            )
        )
    return out


def entry_atrs(market: Market, entries: I64, timeframe: str, period: int) -> F64:
    """The ATR each entry would have seen (NaN where fewer than `period` bars had closed)."""
    tf = timeframe_ms(timeframe)
    bars = higher_bars(market, timeframe)
    series = np.array(wilder_atr_series(bars, period), dtype=np.float64)
    ends = np.array([b.ts_ms + tf for b in bars], dtype=np.int64)
    closes_at = market.ts[entries] + market.bar_ms
    closed = np.searchsorted(ends, closes_at, side="right")  # bars ending at or before
    out = np.full(entries.shape[0], math.nan)
    have = closed >= period
    out[have] = series[closed[have] - period]
    return out
