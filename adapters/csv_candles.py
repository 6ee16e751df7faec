"""Reading OHLCV candle files, strictly, and the timeframe vocabulary the replay feed speaks.

A candle file drives replays and backtests whose numbers a trader will act on, so a malformed row
is an error that names the file, the line and what is wrong, never a silently skipped bar: one
inverted high/low would otherwise turn into a phantom stop-out far away from where it is read.

Format: ``timestamp_ms,open,high,low,close,volume`` (bar open time in UTC epoch milliseconds,
volume in base units), one bar per line, optionally gzip-compressed (detected from the content,
not the file name), with or without that exact header line. Gaps (missing bars) are allowed since
real exchange data has them; timestamps must be strictly increasing and on the timeframe's grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from statistics import median

from adapters.bounded_text import BoundedLines, TextLimitError
from cockpit.domain import Candle
from cockpit.timeframes import timeframe_label as timeframe_label
from cockpit.timeframes import timeframe_ms as timeframe_ms

HEADER = ("timestamp_ms", "open", "high", "low", "close", "volume")

# A candle line is ~60 characters; 1,000 leaves room for any precision. 512 MiB of text is
# ~7 million bars, over 13 years of 1m bars: anything larger is not one market's candle file.
MAX_LINE_CHARS = 1_000
MAX_FILE_CHARS = 512 * 1024 * 1024


class CandleFileError(ValueError):
    """A candle file that cannot be trusted; `str()` reads ``path:line: what is wrong``."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {reason}")


def _parse_price(path: Path, line: int, name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CandleFileError(path, line, f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CandleFileError(path, line, f"{name} {text!r} is not a finite number")
    return value


def _parse_row(
    path: Path, line: int, fields: list[str]
) -> tuple[int, float, float, float, float, float]:
    if len(fields) != len(HEADER):
        raise CandleFileError(
            path, line, f"expected {len(HEADER)} columns ({','.join(HEADER)}), got {len(fields)}"
        )
    ts_text = fields[0].strip()
    try:
        ts = int(ts_text)
    except ValueError:
        raise CandleFileError(
            path, line, f"timestamp_ms {ts_text!r} is not an integer (epoch milliseconds)"
        ) from None
    o, h, lo, c, v = (
        _parse_price(path, line, name, text.strip())
        for name, text in zip(HEADER[1:], fields[1:], strict=True)
    )
    if min(o, h, lo, c) <= 0:
        raise CandleFileError(path, line, f"prices must be positive (o={o} h={h} l={lo} c={c})")
    if v < 0:
        raise CandleFileError(path, line, f"volume {v} is negative")
    if h < max(o, c):
        raise CandleFileError(path, line, f"high {h} is below max(open, close) = {max(o, c)}")
    if lo > min(o, c):
        raise CandleFileError(path, line, f"low {lo} is above min(open, close) = {min(o, c)}")
    return ts, o, h, lo, c, v


def _is_header(fields: list[str]) -> bool:
    """A first line whose first field is not a number is meant as a header."""
    try:
        float(fields[0])
    except ValueError:
        return True
    return False


def load_candles_csv(path: Path | str, symbol: str, timeframe: str | None = None) -> list[Candle]:
    """Every bar of a candle file, validated row by row (see the module docstring for the format).

    `timeframe` is inferred from the median spacing of the timestamps when not given (the median
    so that a few gaps do not change it). Every spacing must be a whole number of bars, which
    catches a wrong `timeframe` or a file that mixes bar sizes.

    Raises `CandleFileError` for the first problem found, `FileNotFoundError` for a missing file.
    """
    path = Path(path)
    rows: list[tuple[int, float, float, float, float, float]] = []
    lines: list[int] = []
    first_line = True
    try:
        for line_no, stripped, fields in _lines(path):
            if first_line:
                first_line = False
                if _is_header(fields):
                    names = tuple(field.strip().lower() for field in fields)
                    if names != HEADER:
                        raise CandleFileError(
                            path,
                            line_no,
                            f"unexpected header {stripped!r}, expected {','.join(HEADER)}",
                        )
                    continue
            row = _parse_row(path, line_no, fields)
            if rows and row[0] <= rows[-1][0]:
                raise CandleFileError(
                    path,
                    line_no,
                    f"timestamp {row[0]} is not after the previous bar's {rows[-1][0]} "
                    f"(line {lines[-1]}): timestamps must be strictly increasing",
                )
            rows.append(row)
            lines.append(line_no)
    except TextLimitError as exc:
        raise CandleFileError(path, exc.line, exc.reason) from None
    return _validated(path, symbol, timeframe, rows, lines)


def _lines(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, stripped text, fields) of every non-empty line, streamed."""
    reader = BoundedLines(path, max_line_chars=MAX_LINE_CHARS, max_chars=MAX_FILE_CHARS)
    for line_no, line in reader:
        stripped = line.strip()
        if stripped:
            yield line_no, stripped, stripped.split(",")


def _validated(
    path: Path,
    symbol: str,
    timeframe: str | None,
    rows: list[tuple[int, float, float, float, float, float]],
    lines: list[int],
) -> list[Candle]:
    """The bars once every row parsed: the timeframe inferred or checked against the grid."""
    if not rows:
        raise CandleFileError(path, None, "no candles in file")
    if timeframe is None:
        if len(rows) < 2:
            raise CandleFileError(
                path, lines[0], "cannot infer the timeframe from a single bar: pass timeframe="
            )
        spacing = int(median(b[0] - a[0] for a, b in pairwise(rows)))
        try:
            timeframe = timeframe_label(spacing)
        except ValueError:
            raise CandleFileError(
                path, None, f"median bar spacing {spacing} ms is not a usable timeframe"
            ) from None
    try:
        tf_ms = timeframe_ms(timeframe)
    except ValueError as exc:
        raise CandleFileError(path, None, str(exc)) from None
    for i in range(1, len(rows)):
        gap = rows[i][0] - rows[i - 1][0]
        if gap % tf_ms:
            raise CandleFileError(
                path,
                lines[i],
                f"timestamp {rows[i][0]} is {gap} ms after the previous bar, "
                f"not a whole number of {timeframe} bars",
            )
    return [Candle(symbol, timeframe, ts, o, h, lo, c, v) for ts, o, h, lo, c, v in rows]
