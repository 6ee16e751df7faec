"""Bar lengths by name: ccxt-style timeframes (`"1m"`, `"15m"`, `"4h"`, `"1d"`) and back.

Imports nothing of ours, so the config (`[ledger] timeframe`) and the adapters (candle files,
aggregation) read them alike.
"""

from __future__ import annotations

import re

_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_TIMEFRAME_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in a ccxt-style timeframe such as ``"1m"``, ``"5m"``, ``"4h"``, ``"1d"``.

    Months are refused on purpose: they have no fixed length, and every aggregation here buckets
    on a fixed epoch grid.
    """
    match = _TIMEFRAME_RE.match(timeframe)
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"unknown timeframe {timeframe!r}: expected e.g. '1m', '5m', '1h', '1d'")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def timeframe_label(ms: int) -> str:
    """The shortest ccxt-style label for a bar length (inverse of `timeframe_ms`)."""
    if ms <= 0:
        raise ValueError(f"a timeframe must be positive, got {ms} ms")
    for unit in ("w", "d", "h", "m", "s"):
        if ms % _UNIT_MS[unit] == 0:
            return f"{ms // _UNIT_MS[unit]}{unit}"
    raise ValueError(f"{ms} ms is not a whole number of seconds")
