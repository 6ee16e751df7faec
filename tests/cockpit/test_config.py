"""Settings: roadmap defaults, overridden by the TOML file, then by COCKPIT_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cockpit.config import load_settings


def test_roadmap_defaults(tmp_path: Path) -> None:
    settings = load_settings(_empty(tmp_path))
    policy = settings.policy
    assert (policy.stop_loss_pct, policy.tp1_pct, policy.tp1_fraction) == (1.5, 1.5, 0.75)
    assert (policy.tp2_pct, policy.tp2_fraction) == (3.0, 0.25)
    assert (policy.breakeven_trigger_pct, policy.profit_lock_trigger_pct) == (0.5, 1.2)
    assert settings.risk.max_notional_usdt == 50.0
    assert settings.risk.max_leverage == 2.0


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "default_leverage = 1.5\n[policy]\ntp1_pct = 1.7\n[paper]\nslippage_bps = 1\n"
    )
    monkeypatch.setenv("COCKPIT_PAPER__SLIPPAGE_BPS", "3")
    settings = load_settings(config)
    assert settings.policy.tp1_pct == 1.7
    assert settings.default_leverage == 1.5
    assert settings.paper.slippage_bps == 3.0


def test_plain_sqlite_url_is_made_async(tmp_path: Path) -> None:
    settings = load_settings(_empty(tmp_path), db_url="sqlite:////tmp/x.db")
    assert settings.db_url == "sqlite+aiosqlite:////tmp/x.db"


@pytest.mark.parametrize(
    "toml",
    [
        "[policy]\ntp2_pct = 1.0\n",
        "[policy]\ntp1_fraction = 0.8\ntp2_fraction = 0.3\n",
        "[policy]\nstop_loss_pct = -1\n",
        "unknown_key = 1\n",
    ],
)
def test_inconsistent_settings_are_refused(tmp_path: Path, toml: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(ValidationError):
        load_settings(config)


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.toml"
    path.write_text("")
    return path
