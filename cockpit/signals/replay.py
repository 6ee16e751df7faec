"""`cockpit replay FILE --signals SIGNALS.csv`: the same signals, fed at their timestamps.

A signals file is the webhook's JSON fields as CSV columns, plus the market time each signal
arrived: `ts_ms` (epoch milliseconds; `timestamp_ms` is taken too). Empty cells are absent
fields. Every line is read and checked before the replay starts (a bad line stops it with the
line number: nothing half-replayed). During the replay the session hands each signal to the
intake on the first tick at or after its time, and waits for its entry there, so the entry is
made at the price of that tick whatever the replay speed.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.signals.payload import NUMBER_FIELDS, Invalid, Malformed, SignalIn, read_signal

if TYPE_CHECKING:  # the file is read before the first frame; the intake (SQLAlchemy) after it
    from cockpit.signals.intake import SignalIntake


@dataclass(frozen=True, slots=True)
class TimedSignal:
    ts_ms: int
    signal: SignalIn


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_signals_csv(path: Path) -> list[TimedSignal]:
    """Every signal of the file in time order; ValueError naming the line of the first bad one."""
    if not path.is_file():
        raise FileNotFoundError(f"no such signals file: {path}")
    out: list[TimedSignal] = []
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        time_column = next((c for c in ("ts_ms", "timestamp_ms") if c in fields), None)
        if time_column is None:
            raise ValueError(f"{path.name}: needs a ts_ms column (epoch milliseconds)")
        for line, row in enumerate(reader, start=2):
            out.append(_timed(path.name, line, time_column, row))
    out.sort(key=lambda timed: timed.ts_ms)
    return out


def _timed(name: str, line: int, time_column: str, row: dict[str, str | None]) -> TimedSignal:
    where = f"{name} line {line}"
    raw_ts = (row.pop(time_column, None) or "").strip()
    if not raw_ts.isdigit():
        raise ValueError(f"{where}: {time_column} must be epoch milliseconds, got {raw_ts!r}")
    data: dict[str, object] = {}
    for key, value in row.items():
        if key is None or value is None or not value.strip():
            continue
        if key in NUMBER_FIELDS:
            try:
                data[key] = float(value)
            except ValueError:
                raise ValueError(f"{where}: {key} must be a number, got {value!r}") from None
        else:
            data[key] = value.strip()
    try:
        signal = read_signal(data)
    except (Malformed, Invalid) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return TimedSignal(int(raw_ts), signal)


class SignalSchedule:
    """The file's signals, handed to the intake as market time reaches them."""

    def __init__(self, signals: Sequence[TimedSignal], intake: SignalIntake, source: str) -> None:
        self._signals = list(signals)
        self._next = 0
        self._intake = intake
        self._source = source[:64]

    @property
    def due_ms(self) -> int | None:
        """When the next signal is due (market time), or None when all were fed."""
        if self._next >= len(self._signals):
            return None
        return self._signals[self._next].ts_ms

    async def deliver(self, market_ms: int) -> None:
        """Feed every signal due at `market_ms`, in file order, each entry awaited."""
        while self._next < len(self._signals) and self._signals[self._next].ts_ms <= market_ms:
            timed = self._signals[self._next]
            self._next += 1
            await self._intake.receive(timed.signal, self._source, inline=True)
