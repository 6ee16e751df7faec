"""The command line refuses bad input with one clear line and exit status 2, before any screen."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cockpit.cli import build_parser, main, parse_speed


def test_speed_words() -> None:
    assert parse_speed("max") is None
    assert parse_speed("MAX") is None
    assert parse_speed("10") == 10.0
    for bad in ("0", "-1", "fast"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_speed(bad)


def test_replay_of_a_missing_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--db", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "replay", str(tmp_path / "nope.csv")]
    )
    assert code == 2
    assert "no such candle file" in capsys.readouterr().err


def test_bad_config_value_is_refused_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[policy]\ntp1_fraction = 1.5\n")
    code = main(["--config", str(config), "demo"])
    assert code == 2
    err = capsys.readouterr().err
    assert "tp1_fraction" in err


def test_missing_config_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "none.toml"), "demo"]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_bad_speed_exits_with_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["demo", "--speed", "fast"])
    assert info.value.code == 2
    assert "speed must be a number or 'max'" in capsys.readouterr().err


@pytest.mark.usefixtures("headless_cli")
def test_malformed_candle_file_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The candle file is read after the first frame (it needs numpy, and seconds for a big
    file): its bad line is said on one line once the screen is closed, exit 2, no journal."""
    csv = tmp_path / "bad.csv"
    csv.write_text("1000,1,2,0.5,1.5,3\n61000,1,0.9,0.5,1.5,3\n")
    code = main(["--db", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "replay", str(csv)])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.csv:2" in err
    assert err.startswith("cockpit could not start: ") and err.count("\n") == 1
    assert not (tmp_path / "x.db").exists()
