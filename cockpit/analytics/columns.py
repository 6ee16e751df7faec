"""The closed trades as columns (numpy arrays), built once per snapshot.

Issue 18 item 8: at 100k trades the snapshot spent most of its time in Python loops over
`TradeRecord`s (every attribution table, the runner statistics, the feature count each walked
the whole journal, calling a property per trade). Here each field is read once into an array,
and every later question is a mask or an index over those arrays.

Results stay exactly those of the loops they replace: the same float operations in the same
order. Where a loop summed with Python's `sum` (left to right), `seq_sum` sums left to right too
(`np.cumsum`; numpy's `sum` adds pairwise and can differ in the last bit); means and other numpy
reductions run over arrays holding the same values in the same order as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cockpit.analytics.trades import TradeRecord

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def seq_sum(values: Array) -> float:
    """Left-to-right sum, as Python's `sum` of the same floats (0.0 for none; never -0.0, as
    `sum` starting from 0 never is)."""
    if values.size == 0:
        return 0.0
    return float(np.cumsum(values)[-1]) + 0.0


def _floats(records: Sequence[TradeRecord], name: str) -> tuple[Array, Mask]:
    """A field that may be None: its values (None read as nan) and where it is known."""
    raw = [getattr(t, name) for t in records]
    known = np.fromiter((v is not None for v in raw), np.bool_, len(raw))
    values = np.fromiter((np.nan if v is None else v for v in raw), np.float64, len(raw))
    return values, known


@dataclass(frozen=True, slots=True, eq=False)
class TradeColumns:
    """Trades in the order given (the snapshot's: exit time, then id) as arrays."""

    records: tuple[TradeRecord, ...]
    net: Array
    realized: Array
    fees: Array
    entry_ts: Ints
    exit_ts: Ints
    long: Mask
    short: Mask
    side: tuple[str, ...]
    mfe: Array
    mfe_known: Mask
    quality: Array
    quality_known: Mask
    confidence: Array
    confidence_known: Mask
    atr: Array
    atr_known: Mask
    complete: Mask
    """Every Phase 6 feature known (`TradeRecord.has_complete_features`)."""

    @property
    def size(self) -> int:
        return len(self.records)

    def field(self, name: str) -> list[object]:
        """One field of every trade, as a list (categorical dimensions)."""
        return [getattr(t, name) for t in self.records]

    def take(self, index: Ints | Mask) -> TradeColumns:
        """The trades at `index` (positions, or a mask), in that order."""
        positions = np.flatnonzero(index) if index.dtype == np.bool_ else index
        return TradeColumns(
            records=tuple(self.records[i] for i in positions.tolist()),
            net=self.net[positions],
            realized=self.realized[positions],
            fees=self.fees[positions],
            entry_ts=self.entry_ts[positions],
            exit_ts=self.exit_ts[positions],
            long=self.long[positions],
            short=self.short[positions],
            side=tuple(self.side[i] for i in positions.tolist()),
            mfe=self.mfe[positions],
            mfe_known=self.mfe_known[positions],
            quality=self.quality[positions],
            quality_known=self.quality_known[positions],
            confidence=self.confidence[positions],
            confidence_known=self.confidence_known[positions],
            atr=self.atr[positions],
            atr_known=self.atr_known[positions],
            complete=self.complete[positions],
        )


_FEATURES = ("atr", "adx", "rsi", "volume_ratio", "price_position", "quality_score", "timeframe")


def columns(records: Sequence[TradeRecord]) -> TradeColumns:
    """The records' columns, in the records' order."""
    n = len(records)
    mfe, mfe_known = _floats(records, "mfe_pct")
    quality, quality_known = _floats(records, "quality_score")
    confidence, confidence_known = _floats(records, "confidence")
    atr, atr_known = _floats(records, "atr")
    complete = np.ones(n, dtype=np.bool_)
    for name in _FEATURES:
        complete &= np.fromiter((getattr(t, name) is not None for t in records), np.bool_, n)
    side = tuple(t.side for t in records)
    return TradeColumns(
        records=tuple(records),
        net=np.fromiter((t.net_pnl for t in records), np.float64, n),
        realized=np.fromiter((t.realized_pnl for t in records), np.float64, n),
        fees=np.fromiter((t.fees for t in records), np.float64, n),
        entry_ts=np.fromiter((t.entry_ts_ms for t in records), np.int64, n),
        exit_ts=np.fromiter((t.exit_ts_ms for t in records), np.int64, n),
        long=np.fromiter((s == "long" for s in side), np.bool_, n),
        short=np.fromiter((s == "short" for s in side), np.bool_, n),
        side=side,
        mfe=mfe,
        mfe_known=mfe_known,
        quality=quality,
        quality_known=quality_known,
        confidence=confidence,
        confidence_known=confidence_known,
        atr=atr,
        atr_known=atr_known,
        complete=complete,
    )


def exit_order(records: Sequence[TradeRecord]) -> list[TradeRecord]:
    """The records by exit time, then id (stable, as `sorted` with that key): the order the
    equity curve is built in. A journal read in that order is returned as it is."""
    n = len(records)
    exits = np.fromiter((t.exit_ts_ms for t in records), np.int64, n)
    ids = np.fromiter((t.id for t in records), np.int64, n)
    if n < 2:
        return list(records)
    later = exits[1:] > exits[:-1]
    tied = (exits[1:] == exits[:-1]) & (ids[1:] >= ids[:-1])
    if bool(np.all(later | tied)):
        return list(records)
    order = np.lexsort((ids, exits))  # stable, like sorted()
    return [records[i] for i in order.tolist()]


def as_columns(trades: Sequence[TradeRecord] | TradeColumns) -> TradeColumns:
    """Columns as they are, or records' columns in the records' order."""
    return trades if isinstance(trades, TradeColumns) else columns(trades)
