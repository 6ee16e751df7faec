"""Candle files: read plain or gzipped, header or not, and every broken row named by its line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from adapters.csv_candles import (
    CandleFileError,
    load_candles_csv,
    timeframe_label,
    timeframe_ms,
)
from cockpit.domain import Candle

HEADER = "timestamp_ms,open,high,low,close,volume\n"
T0 = 1_700_000_100_000
ROWS = [
    f"{T0},100.0,101.0,99.5,100.5,12.5",
    f"{T0 + 60_000},100.5,100.9,99.0,99.2,3",
    f"{T0 + 120_000},99.2,99.2,99.2,99.2,0",
]


def write(tmp_path: Path, lines: list[str], *, header: bool = True, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text((HEADER if header else "") + "\n".join(lines) + "\n")
    return path


def expect_error(path: Path, line: int | None, match: str) -> CandleFileError:
    with pytest.raises(CandleFileError, match=match) as info:
        load_candles_csv(path, "SOL-PERP")
    assert info.value.line == line
    assert info.value.path == path
    if line is not None:
        assert str(info.value).startswith(f"{path}:{line}: ")
    return info.value


EXPECTED = [
    Candle("SOL-PERP", "1m", T0, 100.0, 101.0, 99.5, 100.5, 12.5),
    Candle("SOL-PERP", "1m", T0 + 60_000, 100.5, 100.9, 99.0, 99.2, 3.0),
    Candle("SOL-PERP", "1m", T0 + 120_000, 99.2, 99.2, 99.2, 99.2, 0.0),
]


def test_plain_file_with_header(tmp_path: Path) -> None:
    assert load_candles_csv(write(tmp_path, ROWS), "SOL-PERP") == EXPECTED


def test_plain_file_without_header(tmp_path: Path) -> None:
    assert load_candles_csv(write(tmp_path, ROWS, header=False), "SOL-PERP") == EXPECTED


@pytest.mark.parametrize("header", [True, False])
def test_gzip_file(tmp_path: Path, header: bool) -> None:
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress(((HEADER if header else "") + "\n".join(ROWS)).encode()))
    assert load_candles_csv(path, "SOL-PERP") == EXPECTED


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "candles.dat"
    path.write_bytes(gzip.compress((HEADER + "\n".join(ROWS)).encode()))
    assert load_candles_csv(path, "SOL-PERP") == EXPECTED


def test_crlf_blank_lines_and_spaces_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    body = HEADER.replace(",", ", ") + "\r\n".join(r.replace(",", " , ") for r in ROWS) + "\r\n\r\n"
    path.write_text(body)
    assert load_candles_csv(path, "SOL-PERP") == EXPECTED


def test_timeframe_inferred_from_the_median_spacing_despite_gaps(tmp_path: Path) -> None:
    step = 300_000
    stamps = [T0, T0 + step, T0 + 2 * step, T0 + 18 * step, T0 + 19 * step]
    rows = [f"{ts},10,11,9,10.5,1" for ts in stamps]
    bars = load_candles_csv(write(tmp_path, rows), "SOL-PERP")
    assert {b.timeframe for b in bars} == {"5m"}


def test_explicit_timeframe_is_used_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path, ROWS)
    assert load_candles_csv(path, "X", timeframe="1m")[0].timeframe == "1m"
    with pytest.raises(CandleFileError, match=r"c.csv:3: .*not a whole number of 5m bars"):
        load_candles_csv(path, "X", timeframe="5m")
    with pytest.raises(CandleFileError, match="unknown timeframe"):
        load_candles_csv(path, "X", timeframe="1 month")


def test_a_row_off_the_grid_is_refused(tmp_path: Path) -> None:
    rows = [*ROWS, f"{T0 + 150_000},1,1,1,1,1"]
    expect_error(write(tmp_path, rows), 5, "not a whole number of 1m bars")


# --- every validation error, with its line number (line 1 is the header) ------------------------


@pytest.mark.parametrize(
    ("bad_row", "match"),
    [
        (f"{T0 + 180_000},1,2,0.5", "expected 6 columns"),
        (f"{T0 + 180_000},1,2,0.5,1,1,9", "expected 6 columns"),
        (f"{T0 + 180_000}.5,1,2,0.5,1,1", "timestamp_ms .* is not an integer"),
        (f"{T0 + 180_000},1,abc,0.5,1,1", "high 'abc' is not a number"),
        (f"{T0 + 180_000},1,2,0.5,1,nan", "volume 'nan' is not a finite number"),
        (f"{T0 + 180_000},1,2,0.5,inf,1", "close 'inf' is not a finite number"),
        (f"{T0 + 180_000},1,1.5,0.5,2,1", r"high 1.5 is below max\(open, close\) = 2.0"),
        (f"{T0 + 180_000},1,2,1.2,1.5,1", r"low 1.2 is above min\(open, close\) = 1.0"),
        (f"{T0 + 180_000},1,2,0,1,1", "prices must be positive"),
        (f"{T0 + 180_000},-1,2,-2,1,1", "prices must be positive"),
        (f"{T0 + 180_000},1,2,0.5,1,-3", "volume -3.0 is negative"),
        (f"{T0 + 120_000},1,2,0.5,1,1", "not after the previous bar's .* strictly increasing"),
        (f"{T0 + 60_000},1,2,0.5,1,1", "not after the previous bar's .*line 4"),
    ],
)
def test_bad_row_is_reported_with_its_line(tmp_path: Path, bad_row: str, match: str) -> None:
    expect_error(write(tmp_path, [*ROWS, bad_row, f"{T0 + 240_000},1,1,1,1,1"]), 5, match)


def test_bad_row_line_number_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, [ROWS[0], f"{T0 + 60_000},1,0.5,0.4,1,1"], header=False)
    expect_error(path, 2, "high 0.5 is below")


def test_unexpected_header(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("time,o,h,l,c,v\n" + "\n".join(ROWS))
    expect_error(path, 1, "unexpected header")


def test_empty_file(tmp_path: Path) -> None:
    expect_error(write(tmp_path, [], header=True), None, "no candles")


def test_single_bar_needs_an_explicit_timeframe(tmp_path: Path) -> None:
    path = write(tmp_path, ROWS[:1])
    expect_error(path, 2, "cannot infer the timeframe")
    assert len(load_candles_csv(path, "X", timeframe="1m")) == 1


def test_broken_gzip(tmp_path: Path) -> None:
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "\n".join(ROWS)).encode())[:-12])
    # read as a stream: the break is found where the data ends, on the last line
    expect_error(path, len((HEADER + "\n".join(ROWS)).splitlines()), "broken gzip")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_candles_csv(tmp_path / "nope.csv", "X")


@pytest.mark.parametrize(
    ("label", "ms"),
    [("1s", 1000), ("1m", 60_000), ("5m", 300_000), ("15m", 900_000), ("1h", 3_600_000),
     ("4h", 14_400_000), ("1d", 86_400_000), ("1w", 604_800_000)],
)  # fmt: skip
def test_timeframe_round_trip(label: str, ms: int) -> None:
    assert timeframe_ms(label) == ms
    assert timeframe_label(ms) == label


@pytest.mark.parametrize("bad", ["", "m", "0m", "1M", "1y", "-5m", "1.5h"])
def test_bad_timeframes(bad: str) -> None:
    with pytest.raises(ValueError):
        timeframe_ms(bad)
