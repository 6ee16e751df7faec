"""The trade journal reader: good files load, broken ones are refused with every problem listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.trades_csv import (
    MAX_ERRORS,
    REQUIRED,
    TradesFileError,
    load_trades_csv,
    parse_time,
)

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"
HEADER = ",".join(REQUIRED)
GOOD_ROW = "SOL-PERP,long,2025-10-31T14:05:00Z,182.73,2025-10-31T18:00:00Z,186.56,0.5"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "trades.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def refused(path: Path) -> TradesFileError:
    with pytest.raises(TradesFileError) as info:
        load_trades_csv(path)
    return info.value


def test_the_sample_journal_loads() -> None:
    journal = load_trades_csv(SAMPLE)
    assert len(journal.trades) >= 50
    assert {t.side for t in journal.trades} == {"long", "short"}
    assert len(journal.sha256) == 64


def test_a_minimal_row_computes_gross_pnl_from_prices(tmp_path: Path) -> None:
    journal = load_trades_csv(write(tmp_path, HEADER, GOOD_ROW))
    (trade,) = journal.trades
    assert trade.line == 2
    # long: (186.56 - 182.73) x 0.5 = 1.915
    assert trade.pnl == pytest.approx(1.915)
    assert not trade.pnl_given
    assert trade.entry_ts_ms == 1_761_919_500_000  # 2025-10-31 14:05:00 UTC
    assert (trade.fees, trade.leverage, trade.mfe_pct, trade.features) == (0.0, 1.0, None, {})


def test_optional_columns_in_any_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "quality_score,side,symbol,size,exit_price,exit_time,entry_price,entry_time,pnl,fees,"
        "mfe_pct,mae_pct,tp2_price,confidence,regime,exit_reason",
        "88,SHORT,SOL-PERP,2,99,1761930000000,100,1761919500000,2.1,0.2,1.5,-0.3,97,0.74,"
        "trending,tp1",
    )
    (trade,) = load_trades_csv(path).trades
    assert trade.side == "short"
    assert (trade.pnl, trade.pnl_given, trade.fees) == (2.1, True, 0.2)
    assert (trade.mfe_pct, trade.mae_pct, trade.tp2_price) == (1.5, -0.3, 97.0)
    assert trade.features == {"quality_score": 88.0, "confidence": 0.74, "regime": "trending"}
    assert trade.exit_reason == "tp1"


def test_every_bad_cell_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + ",confidence,mfe_pct",
        GOOD_ROW + ",0.7,2.5",
        "SOL-PERP,up,2025-10-31T14:05:00Z,abc,2025-10-31T18:00:00Z,186.56,0.5,72,",
        "SOL-PERP,long,yesterday,182.73,2025-10-31T18:00:00Z,186.56,-1,0.5,",
        GOOD_ROW + ",0.7,0.5",
    )
    error = refused(path)
    rendered = str(error).splitlines()
    assert rendered == [
        f"{path}:3: entry_price: 'abc' is not a number",
        f"{path}:3: confidence: 72 is outside 0..1 (0.72, not 72)",
        f"{path}:3: side: 'up' must be long or short",
        f"{path}:4: size: -1 must be above 0",
        f"{path}:4: entry_time: 'yesterday' is not a time "
        "(ISO 8601 like 2025-10-31T14:05:00Z, or epoch ms)",
        # line 5: the exit moved +2.10 % (182.73 -> 186.56), so the best move cannot be 0.5 %
        f"{path}:5: mfe_pct: 0.5 is below the exit's own move of +2.10% "
        "(MFE is the best price move during the trade, in % of entry)",
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "symbol,side,entry_time,entry_price,exit_time,exit_price",
            "missing required column(s): size",
        ),
        (HEADER + ",qualty_score", "qualty_score: unknown column"),
        (HEADER + ",size", "size: column appears more than once"),
    ],
)
def test_header_problems_are_reported_on_line_1(tmp_path: Path, header: str, message: str) -> None:
    error = refused(write(tmp_path, header, GOOD_ROW))
    assert error.errors[0].line == 1
    assert message in str(error)


def test_cross_column_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + ",tp2_price,mae_pct",
        "SOL-PERP,long,2025-10-31T14:05:00Z,100,2025-10-31T13:00:00Z,101,1,,",
        "SOL-PERP,short,2025-10-31T14:05:00Z,100,2025-10-31T15:00:00Z,101,1,103,",
        "SOL-PERP,long,2025-10-31T16:05:00Z,100,2025-10-31T17:00:00Z,98,1,,-1.0",
    )
    assert [(e.line, e.column) for e in refused(path).errors] == [
        (2, "exit_time"),  # before the entry
        (3, "tp2_price"),  # a short's TP2 is below its entry
        (4, "mae_pct"),  # exited at -2 %, so the worst move was at least -2 %, not -1 %
    ]


def test_duplicate_rows_are_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, HEADER, GOOD_ROW, GOOD_ROW))
    assert [(e.line, e.message) for e in error.errors] == [
        (3, "duplicate of line 2 (same symbol, side, entry_time and entry_price)")
    ]


def test_epoch_seconds_are_refused_instead_of_misread() -> None:
    assert parse_time("1761919500000") == 1_761_919_500_000
    assert parse_time("2025-10-31T15:05:00+01:00") == 1_761_919_500_000
    assert parse_time("2025-10-31 14:05:00") == 1_761_919_500_000  # no offset: UTC
    with pytest.raises(ValueError, match="epoch seconds"):
        parse_time("1761919500")


def test_errors_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    bad = "SOL-PERP,long,2025-10-31T14:05:00Z,182.73,2025-10-31T18:00:00Z,186.56,0"
    error = refused(write(tmp_path, HEADER, *[bad] * (MAX_ERRORS + 7)))
    assert len(error.errors) == MAX_ERRORS
    assert error.more == 7
    assert str(error).endswith("... and 7 more errors")


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    assert "empty file" in str(refused(write(tmp_path, "")))
    assert "no trades in file" in str(refused(write(tmp_path, HEADER)))


def test_wrong_field_count(tmp_path: Path) -> None:
    error = refused(write(tmp_path, HEADER, GOOD_ROW + ",extra"))
    assert str(error) == f"{tmp_path / 'trades.csv'}:2: expected 7 fields as in the header, got 8"
