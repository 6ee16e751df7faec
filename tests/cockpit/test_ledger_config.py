"""`[ledger]` as a trader writes it: a bad value is refused when the settings load, in one line
with exit 2 (not a ledger that fails later in the background), and good ones reach the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.backtest.ledger import ledger_sets
from cockpit.backtest.ledger_window import LedgerWindow
from cockpit.cli import main
from cockpit.config import Settings, load_settings

GRID = """
[[set]]
policy = "atr_scaled"
tp1_pct = [1.0, 2.0]
"""


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("horizon_h = 0", "ledger.horizon_h: Input should be greater than 0"),
        ('horizon_h = "two days"', "ledger.horizon_h: Input should be a valid number"),
        ('timeframe = "7x"', "ledger.timeframe: Value error, unknown timeframe '7x'"),
        ('enabled = "sometimes"', "ledger.enabled: Input should be a valid boolean"),
        ('grid = "no-such-grid.toml"', "ledger.grid: Value error, no such grid file:"),
        ("windw = 3", "ledger.windw: Extra inputs are not permitted"),
        (
            '[[ledger.sets]]\npolicy = "fixed"\ntp1_pct = [1.0, 5.0]',
            "ledger: sets: set 1: tp2_pct must be beyond tp1_pct",
        ),
        (
            '[[ledger.sets]]\npolicy = "fixd"',
            "ledger: sets: set 1: unknown policy 'fixd' (fixed, atr_scaled, quality_tiers)",
        ),
        (
            '[[ledger.sets]]\npolicy = "fixed"\n[[ledger.sets]]\npolicy = "fixed"\ntp_1 = 1',
            "ledger: sets: set 2: unknown key 'tp_1' (known: policy, bias,",
        ),
        ("[[ledger.sets]]\ntp1_pct = 1.0", "ledger: sets: set 1: needs a policy"),
        (
            '[[ledger.sets]]\npolicy = "fixed"\nbias = "yes"',
            "ledger: sets: set 1: bias must be true or false, not 'yes'",
        ),
    ],
)
def test_a_bad_ledger_value_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    section: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(f"[ledger]\n{section}\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'j.db'}"
    assert main(["--config", str(config), "--db", db, "backtest", "--journal"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("cockpit: invalid settings: ") and message in err, err


def test_a_grid_file_that_is_wrong_inside_is_named_with_its_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ledger.toml").write_text('[[set]]\npolicy = "fixed"\ntp1_fraction = 0\n')
    config = tmp_path / "config.toml"
    config.write_text('[ledger]\ngrid = "ledger.toml"\n', encoding="utf-8")
    assert main(["--config", str(config), "backtest", "--journal"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "ledger: grid ledger.toml: set 1: tp1_fraction: Input should be greater than 0" in err


def test_the_sets_are_checked_against_the_configs_own_policy(tmp_path: Path) -> None:
    """A set changes only the keys it names: tp1_pct 4 is fine beside a [policy] tp2_pct of 6,
    and refused beside the default 3."""
    config = tmp_path / "config.toml"
    config.write_text(
        '[policy]\ntp2_pct = 6.0\n[ledger]\n[[ledger.sets]]\npolicy = "fixed"\ntp1_pct = 4.0\n'
    )
    assert len(load_settings(config).ledger.specs(load_settings(config))) == 1
    with pytest.raises(ValueError, match="tp2_pct must be beyond tp1_pct"):
        Settings(ledger={"sets": [{"policy": "fixed", "tp1_pct": 4.0}]})


def test_the_configured_grid_and_window_reach_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ledger.toml").write_text(GRID)
    config = tmp_path / "config.toml"
    config.write_text(
        "[ledger]\n"
        'grid = "ledger.toml"\nhorizon_h = 6\ntimeframe = "5m"\n'
        '[[ledger.sets]]\npolicy = "fixed"\ntp1_pct = [1.0, 1.5]\n',  # 1.5 is the config's own
        encoding="utf-8",
    )
    settings = load_settings(config)
    sets = ledger_sets(settings)
    assert [s.label for s in sets] == [
        "fixed",
        "atr_scaled",
        "quality_tiers",
        "atr_scaled tp1_pct=1",
        "atr_scaled tp1_pct=2",
        "fixed tp1_pct=1",  # tp1_pct=1.5 is the configured fixed set: run once
        "own plan, no overrides",
    ]
    assert len({s.key for s in sets}) == len(sets)
    window = LedgerWindow.of(settings.ledger)
    assert (window.timeframe, window.bar_ms, window.horizon_ms) == ("5m", 300_000, 6 * 3_600_000)
    # Another window gives other results: other keys than the default window's, for every set.
    default = {s.key for s in ledger_sets(Settings())}
    assert default.isdisjoint(s.key for s in sets)
    # The default window keeps the keys a ledger had before [ledger] existed.
    again = ledger_sets(Settings(ledger={"horizon_h": 48, "timeframe": "1m"}))
    assert {s.key for s in again} == default
