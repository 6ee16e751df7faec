"""Reading a trader's journal of past trades (CSV), strictly, for `cockpit import`.

The imported trades feed the decision gates from day one, so a wrong value would move a gate: a
row is accepted whole or the file is refused. Every problem is reported as
``file:line: column: what is wrong``, all of them (up to `MAX_ERRORS`), not just the first, so a
trader fixes the file in one pass.

Format (docs/analytics.md has the full table): a header line naming the columns, in any order,
then one closed trade per line. Required: symbol, side, entry_time, entry_price, exit_time,
exit_price, size. Optional: pnl, fees, leverage, exit_reason, mfe_pct, mae_pct, tp2_price,
policy and the signal features (quality_score, atr, adx, rsi, volume_ratio, price_position,
confidence, regime, strategy, timeframe, ab_group). An empty cell is "not known". Times are ISO
8601 (a time without an offset is UTC) or integer epoch milliseconds. Prices in quote currency
(USDT), size in base units, pnl and fees in USDT, mfe_pct / mae_pct as price moves in percent of
entry (not ROE; MFE >= 0, MAE <= 0), confidence 0..1, quality_score 0..100.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from adapters.bounded_text import BoundedLines, TextLimitError

REQUIRED: Final = (
    "symbol",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "size",
)
OPTIONAL_NUMBERS: Final = (
    "pnl",
    "fees",
    "leverage",
    "mfe_pct",
    "mae_pct",
    "tp2_price",
    "quality_score",
    "atr",
    "adx",
    "rsi",
    "volume_ratio",
    "price_position",
    "confidence",
)
TEXT_LIMITS: Final = {
    "symbol": 64,
    "exit_reason": 64,
    "policy": 32,
    "regime": 32,
    "strategy": 64,
    "timeframe": 16,
    "ab_group": 32,
}
"""Text columns and their longest accepted value (the database's column sizes)."""
OPTIONAL_TEXT: Final = ("exit_reason", "policy", "regime", "strategy", "timeframe", "ab_group")
NUMERIC_FEATURES: Final = (
    "quality_score",
    "atr",
    "adx",
    "rsi",
    "volume_ratio",
    "price_position",
    "confidence",
)
TEXT_FEATURES: Final = ("regime", "strategy", "timeframe", "ab_group")
ALL_COLUMNS: Final = (*REQUIRED, *OPTIONAL_NUMBERS, *OPTIONAL_TEXT)

MAX_ERRORS = 50
# A journal row is a few hundred characters; 64 KiB allows long notes in quoted cells. 256 MiB
# is about a million trades: anything larger is not a trader's journal.
MAX_LINE_CHARS = 64 * 1024
MAX_FILE_CHARS = 256 * 1024 * 1024
# Percentage points of slack when checking MFE/MAE against the exit's own move (rounding in
# the trader's journal, typically to 0.01 %).
EXCURSION_SLACK_PCT = 0.011
# Epoch milliseconds of 1973-03-03: anything smaller is taken for epoch seconds and refused.
MIN_EPOCH_MS = 100_000_000_000


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str | None
    message: str

    def render(self, path: Path) -> str:
        where = f"{path}:{self.line}"
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


class TradesFileError(ValueError):
    """The file was refused; `errors` holds every problem found (capped at MAX_ERRORS)."""

    def __init__(self, path: Path, errors: list[RowError], more: int = 0) -> None:
        self.path = path
        self.errors = errors
        self.more = more
        lines = [e.render(path) for e in errors]
        if more:
            lines.append(f"... and {more} more errors")
        super().__init__("\n".join(lines))


@dataclass(frozen=True, slots=True)
class ImportedTrade:
    """One validated row: a closed trade as the journal describes it.

    `pnl` is the gross realized P&L in USDT: the file's value, or (exit - entry) x size for a
    long (mirrored for a short) when the column is empty; `pnl_given` says which.
    """

    line: int
    symbol: str
    side: str
    entry_ts_ms: int
    exit_ts_ms: int
    entry_price: float
    exit_price: float
    size: float
    pnl: float
    pnl_given: bool
    fees: float = 0.0
    leverage: float = 1.0
    exit_reason: str | None = None
    policy: str | None = None
    mfe_pct: float | None = None
    mae_pct: float | None = None
    tp2_price: float | None = None
    features: dict[str, float | str] = field(default_factory=dict)

    @property
    def natural_key(self) -> tuple[str, str, int, float]:
        """What makes a trade the same trade: symbol, side, entry time and entry price."""
        return (self.symbol, self.side, self.entry_ts_ms, self.entry_price)


@dataclass(frozen=True, slots=True)
class TradesFile:
    path: Path
    sha256: str
    trades: tuple[ImportedTrade, ...]


# ------------------------------------------------------------------ cell parsers
class _CellError(ValueError):
    pass


def parse_time(text: str) -> int:
    """ISO 8601 (no offset = UTC) or integer epoch milliseconds -> epoch ms."""
    if text.lstrip("-").isdigit():
        value = int(text)
        if value < MIN_EPOCH_MS:
            raise _CellError(
                f"{text!r} looks like epoch seconds; write epoch milliseconds or ISO 8601"
            )
        return value
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _CellError(
            f"{text!r} is not a time (ISO 8601 like 2025-10-31T14:05:00Z, or epoch ms)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _CellError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _CellError(f"{text!r} is not a finite number")
    return value


def _bounded(low: float | None, high: float | None, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = parse_number(text)
        if (low is not None and value < low) or (high is not None and value > high):
            raise _CellError(f"{value:g} is outside {what}")
        return value

    return parse


def _positive(text: str) -> float:
    value = parse_number(text)
    if value <= 0:
        raise _CellError(f"{value:g} must be above 0")
    return value


NUMBER_PARSERS: Final[dict[str, Callable[[str], float]]] = {
    "entry_price": _positive,
    "exit_price": _positive,
    "size": _positive,
    "pnl": parse_number,
    "fees": _bounded(0, None, "0 or more (fees paid, in USDT)"),
    "leverage": _bounded(1e-9, 1000, "(0, 1000]"),
    "mfe_pct": _bounded(0, None, "0 or more (best favorable move, % of entry)"),
    "mae_pct": _bounded(None, 0, "0 or less (worst adverse move as a negative %, e.g. -0.8)"),
    "tp2_price": _positive,
    "quality_score": _bounded(0, 100, "0..100"),
    "atr": _positive,
    "adx": _bounded(0, 100, "0..100"),
    "rsi": _bounded(0, 100, "0..100"),
    "volume_ratio": _bounded(0, None, "0 or more"),
    "price_position": parse_number,
    "confidence": _bounded(0, 1, "0..1 (0.72, not 72)"),
}


# ------------------------------------------------------------------ the file
def load_trades_csv(path: Path | str) -> TradesFile:
    """Every row of a journal file, validated; raises `TradesFileError` listing all problems.

    `FileNotFoundError` for a missing file. Rows that repeat an earlier row's symbol, side, entry
    time and entry price are refused as duplicates (the import's natural key).
    """
    path = Path(path)
    source = BoundedLines(path, max_line_chars=MAX_LINE_CHARS, max_chars=MAX_FILE_CHARS)
    reader = csv.reader(source.lines())
    errors = _Errors()
    header: list[str] | None = None
    trades: list[ImportedTrade] = []
    seen: dict[tuple[str, str, int, float], int] = {}
    for line, fields in _rows(reader, errors):
        if not any(cell.strip() for cell in fields):
            continue
        if header is None:
            header = _read_header(fields, line, errors)
            if header is None:
                break
            continue
        if len(fields) != len(header):
            errors.add(
                line, None, f"expected {len(header)} fields as in the header, got {len(fields)}"
            )
            continue
        trade = _read_row(dict(zip(header, (c.strip() for c in fields), strict=True)), line, errors)
        if trade is None:
            continue
        first = seen.setdefault(trade.natural_key, line)
        if first != line:
            errors.add(
                line,
                None,
                f"duplicate of line {first} (same symbol, side, entry_time and entry_price)",
            )
            continue
        trades.append(trade)
    if header is None and not errors.items:
        errors.add(1, None, f"empty file: expected a header line ({','.join(REQUIRED)},...)")
    elif header is not None and not trades and not errors.items:
        errors.add(reader.line_num or 1, None, "no trades in file (only a header)")
    if errors.items:
        raise TradesFileError(path, errors.items, errors.more)
    return TradesFile(path=path, sha256=source.sha256, trades=tuple(trades))


def _rows(reader: Any, errors: _Errors) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each record; a CSV syntax error ends the file with its line."""
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.add(reader.line_num or 1, None, f"not readable as CSV: {exc}")
            return
        except TextLimitError as exc:  # the file stops being readable: nothing after it is
            errors.add(exc.line or 1, None, exc.reason)
            return
        yield reader.line_num, fields


@dataclass
class _Errors:
    items: list[RowError] = field(default_factory=list)
    more: int = 0

    def add(self, line: int, column: str | None, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(RowError(line, column, message))
        else:
            self.more += 1


def _read_header(fields: list[str], line: int, errors: _Errors) -> list[str] | None:
    names = [cell.strip().lower() for cell in fields]
    ok = True
    for name in names:
        if name not in ALL_COLUMNS:
            errors.add(line, name or "(empty)", f"unknown column; known: {', '.join(ALL_COLUMNS)}")
            ok = False
    duplicates = sorted({n for n in names if names.count(n) > 1})
    for name in duplicates:
        errors.add(line, name, "column appears more than once")
        ok = False
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        errors.add(line, None, f"missing required column(s): {', '.join(missing)}")
        ok = False
    return names if ok else None


def _read_row(cells: dict[str, str], line: int, errors: _Errors) -> ImportedTrade | None:
    """Parse one row; every bad cell is reported, then None if any was bad."""
    before = len(errors.items) + errors.more
    numbers: dict[str, float] = {}
    for name, parse in NUMBER_PARSERS.items():
        text = cells.get(name, "")
        if not text:
            if name in REQUIRED:
                errors.add(line, name, "required, but empty")
            continue
        try:
            numbers[name] = parse(text)
        except _CellError as exc:
            errors.add(line, name, str(exc))
    times: dict[str, int] = {}
    for name in ("entry_time", "exit_time"):
        text = cells.get(name, "")
        if not text:
            errors.add(line, name, "required, but empty")
            continue
        try:
            times[name] = parse_time(text)
        except _CellError as exc:
            errors.add(line, name, str(exc))
    texts: dict[str, str] = {}
    for name, limit in TEXT_LIMITS.items():
        value = cells.get(name, "")
        if len(value) > limit:
            errors.add(line, name, f"longer than {limit} characters")
        elif value:
            texts[name] = value
    if not texts.get("symbol"):
        errors.add(line, "symbol", "required, but empty")
    side = cells.get("side", "").lower()
    if side not in ("long", "short"):
        errors.add(line, "side", f"{cells.get('side', '')!r} must be long or short")
    if len(errors.items) + errors.more > before:
        return None
    return _checked_trade(line, side, texts, numbers, times, errors)


def _checked_trade(
    line: int,
    side: str,
    texts: dict[str, str],
    numbers: dict[str, float],
    times: dict[str, int],
    errors: _Errors,
) -> ImportedTrade | None:
    """Rules across columns: time order, TP2 on the profit side, MFE/MAE vs the exit's move."""
    before = len(errors.items) + errors.more
    sign = 1 if side == "long" else -1
    entry, exit_, size = numbers["entry_price"], numbers["exit_price"], numbers["size"]
    if times["exit_time"] < times["entry_time"]:
        errors.add(line, "exit_time", "is before entry_time")
    tp2 = numbers.get("tp2_price")
    if tp2 is not None and sign * (tp2 - entry) <= 0:
        where = "above" if side == "long" else "below"
        errors.add(line, "tp2_price", f"{tp2:g} must be {where} the entry {entry:g} for a {side}")
    exit_move = 100.0 * sign * (exit_ - entry) / entry
    mfe, mae = numbers.get("mfe_pct"), numbers.get("mae_pct")
    if mfe is not None and mfe + EXCURSION_SLACK_PCT < exit_move:
        errors.add(
            line,
            "mfe_pct",
            f"{mfe:g} is below the exit's own move of {exit_move:+.2f}% "
            "(MFE is the best price move during the trade, in % of entry)",
        )
    if mae is not None and mae - EXCURSION_SLACK_PCT > min(0.0, exit_move):
        errors.add(
            line,
            "mae_pct",
            f"{mae:g} is above the exit's own move of {exit_move:+.2f}% "
            "(MAE is the worst price move during the trade, <= 0)",
        )
    if len(errors.items) + errors.more > before:
        return None
    pnl = numbers.get("pnl")
    features: dict[str, float | str] = {n: numbers[n] for n in NUMERIC_FEATURES if n in numbers}
    features.update({n: texts[n] for n in TEXT_FEATURES if n in texts})
    return ImportedTrade(
        line=line,
        symbol=texts["symbol"],
        side=side,
        entry_ts_ms=times["entry_time"],
        exit_ts_ms=times["exit_time"],
        entry_price=entry,
        exit_price=exit_,
        size=size,
        pnl=pnl if pnl is not None else sign * (exit_ - entry) * size,
        pnl_given=pnl is not None,
        fees=numbers.get("fees", 0.0),
        leverage=numbers.get("leverage", 1.0),
        exit_reason=texts.get("exit_reason"),
        policy=texts.get("policy"),
        mfe_pct=mfe,
        mae_pct=mae,
        tp2_price=tp2,
        features=features,
    )
