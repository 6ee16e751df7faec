"""Hostile input files are refused quickly, with the line, and in bounded memory (issue 14).

A gzip bomb (a small file of a huge NUL stream), a big junk file and a file that is one endless
line used to be read (and gunzipped) whole before the first check: a 4 MB gzip of 1 GB of NULs
took 13.6 GB of memory. Both readers (candles for replays, journals for `cockpit import`) now
stream their file: the peak memory while refusing is measured with tracemalloc (deterministic,
not a timing) and must stay a small fraction of the file's uncompressed size.
"""

from __future__ import annotations

import gzip
import hashlib
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.csv_candles import CandleFileError, load_candles_csv
from adapters.trades_csv import TradesFileError, load_trades_csv

UNCOMPRESSED = 64 * 1024 * 1024  # 64 MiB of NULs: gzip makes ~64 KB of it
PEAK_LIMIT = 4 * 1024 * 1024  # what a refusal may hold: lines of at most 64 KiB, a few buffers


def gzip_bomb(path: Path) -> Path:
    chunk = b"\0" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(UNCOMPRESSED // len(chunk)):
            out.write(chunk)
    return path


def junk_lines(path: Path) -> Path:
    """Short lines of junk after a plausible first line: refused at line 2 (candles)."""
    with path.open("wb") as out:
        out.write(b"timestamp_ms,open,high,low,close,volume\n")
        line = b"x" * 70 + b"\n"
        out.write(line * (UNCOMPRESSED // len(line)))
    return path


def one_endless_line(path: Path) -> Path:
    with path.open("wb") as out:
        out.write(b"1" * UNCOMPRESSED)
    return path


def peak_while(read: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        read()
    except (CandleFileError, TradesFileError):
        pass
    else:
        raise AssertionError("the file was accepted")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("make", [gzip_bomb, one_endless_line], ids=["gzip-bomb", "endless"])
def test_candle_files_that_are_one_huge_line_are_refused_at_line_1(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    path = make(tmp_path / "c.csv.gz")
    with pytest.raises(CandleFileError, match="line longer than 1,000 characters") as info:
        load_candles_csv(path, "SOL-PERP")
    assert info.value.line == 1
    assert peak_while(lambda: load_candles_csv(path, "SOL-PERP")) < PEAK_LIMIT


def test_a_junk_candle_file_is_refused_at_line_2_in_bounded_memory(tmp_path: Path) -> None:
    path = junk_lines(tmp_path / "junk.csv")
    with pytest.raises(CandleFileError, match="expected 6 columns") as info:
        load_candles_csv(path, "SOL-PERP")
    assert info.value.line == 2
    assert peak_while(lambda: load_candles_csv(path, "SOL-PERP")) < PEAK_LIMIT


@pytest.mark.parametrize("make", [gzip_bomb, one_endless_line], ids=["gzip-bomb", "endless"])
def test_journals_that_are_one_huge_line_are_refused_in_bounded_memory(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    path = make(tmp_path / "trades.csv")
    with pytest.raises(TradesFileError, match="line longer than 65,536 characters") as info:
        load_trades_csv(path)
    assert [e.line for e in info.value.errors] == [1]
    assert peak_while(lambda: load_trades_csv(path)) < PEAK_LIMIT


def test_text_beyond_the_size_cap_is_refused_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size cap itself (512 MiB for candles) is lowered here so the test stays small."""
    import adapters.csv_candles as candles

    monkeypatch.setattr(candles, "MAX_FILE_CHARS", 1000)
    path = tmp_path / "c.csv"
    bars = [f"{60_000 * i},1,2,0.5,1.5,10" for i in range(100)]
    path.write_text("\n".join(bars) + "\n")
    with pytest.raises(CandleFileError, match="more than 1,000 characters of text") as info:
        load_candles_csv(path, "SOL-PERP")
    sizes = [len(bar) + 1 for bar in bars]
    over = next(i for i in range(len(sizes)) if sum(sizes[: i + 1]) > 1000)
    assert info.value.line == over + 1  # the line that crossed the cap


def test_a_gzipped_journal_reads_like_a_plain_one_with_the_file_digest(tmp_path: Path) -> None:
    text = (
        "symbol,side,entry_time,entry_price,exit_time,exit_price,size\n"
        "SOL-PERP,long,2025-01-01T00:00:00Z,100,2025-01-01T01:00:00Z,101,1\n"
    )
    plain = tmp_path / "t.csv"
    plain.write_text(text)
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    a, b = load_trades_csv(plain), load_trades_csv(packed)
    assert [t.pnl for t in a.trades] == [t.pnl for t in b.trades] == [1.0]
    assert a.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()
    assert b.sha256 == hashlib.sha256(packed.read_bytes()).hexdigest()
