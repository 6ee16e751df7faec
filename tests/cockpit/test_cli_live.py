"""`cockpit --feed EXCHANGE --symbol SYMBOL` (or a [feed] section in the config) starts SHADOW on
live data; bad input is refused with one line and exit status 2, before any screen opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cli import build_parser, live_settings, main


def test_feed_and_symbol_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    args = build_parser().parse_args(
        ["--config", str(config), "--feed", "bybit", "--symbol", "ETH/USDT:USDT"]
    )
    settings = live_settings(args)
    assert settings is not None
    assert (settings.feed.exchange, settings.feed.symbol) == ("bybit", "ETH/USDT:USDT")
    assert settings.db_url.endswith("cockpit.db")  # the real journal, not demo.db


def test_a_feed_section_in_the_config_is_enough(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[feed]\nexchange = "binanceusdm"\nstale_after_s = 8\n')
    settings = live_settings(build_parser().parse_args(["--config", str(config)]))
    assert settings is not None
    assert settings.feed.symbol == "SOL/USDT:USDT" and settings.feed.stale_after_s == 8
    override = live_settings(
        build_parser().parse_args(["--config", str(config), "--symbol", "BTC/USDT:USDT"])
    )
    assert override is not None and override.feed.symbol == "BTC/USDT:USDT"
    assert override.feed.stale_after_s == 8


def test_without_feed_or_command_the_help_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    assert main(["--config", str(config)]) == 0
    assert "--feed EXCHANGE" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--feed", "nosuchexchange"], "ccxt.pro has no exchange 'nosuchexchange'"),
        (["--feed", "../../etc"], "ccxt.pro has no exchange"),
        (["--symbol", "SOLUSDT"], "ccxt perp symbol like SOL/USDT:USDT"),
    ],
)
def test_bad_feed_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    assert main(["--config", str(config), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_feed_setting_names_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[feed]\nstale_after_s = 30\nreconnect_after_s = 10\n")
    assert main(["--config", str(config)]) == 2
    assert "reconnect_after_s must not be below" in capsys.readouterr().err


def test_feed_does_not_combine_with_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--feed", "binanceusdm", "demo"])
    assert info.value.code == 2
    assert "without a COMMAND" in capsys.readouterr().err
