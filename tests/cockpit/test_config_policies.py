"""Policy settings: the README's example file is valid and equals the defaults; bad tiers and
ATR settings are refused with the setting's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from cockpit.config import Settings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_config_example_loads_and_matches_the_defaults(tmp_path: Path) -> None:
    block, *sections = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)
    for i, section in enumerate(sections):  # the webhook and alerts sections load as they are
        (tmp_path / f"section{i}.toml").write_text(section)
        load_settings(tmp_path / f"section{i}.toml")
    path = tmp_path / "config.toml"
    path.write_text(block)
    loaded = load_settings(path)
    defaults = Settings()
    assert loaded.quality_tiers == defaults.quality_tiers
    assert loaded.atr == defaults.atr
    assert loaded.direction_bias == defaults.direction_bias
    assert loaded.exits == defaults.exits
    assert loaded.policy == defaults.policy


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"atr": {"timeframe": "15 minutes"}}, "timeframe must look like"),
        ({"atr": {"baseline": {"SOL": 0}}}, "baseline ATR for SOL must be above 0"),
        ({"atr": {"factor_min": 3, "factor_max": 2}}, "factor_min must not exceed"),
        ({"exits": {"default_policy": "yolo"}}, "default_policy must be one of"),
        (
            {
                "quality_tiers": {
                    "tiers": [
                        {"name": "a", "min_score": 60, "tp1_fraction": 1, "tp1_atr": 1},
                        {"name": "b", "min_score": 60, "tp1_fraction": 1, "tp1_atr": 2},
                    ]
                }
            },
            "distinct min_score",
        ),
        (
            {
                "quality_tiers": {
                    "tiers": [
                        {
                            "name": "a",
                            "min_score": 60,
                            "tp1_fraction": 0.5,
                            "tp1_atr": 2,
                            "tp2_fraction": 0.5,
                            "tp2_atr": 1,
                        },
                    ]
                }
            },
            "tp2_atr must be beyond tp1_atr",
        ),
    ],
)
def test_bad_policy_settings_are_refused(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings.model_validate(override)


def test_tiers_are_sorted_best_first_and_baselines_uppercased() -> None:
    settings = Settings.model_validate(
        {
            "atr": {"baseline": {"sol": 2.0, "eth": 30.0}},
            "quality_tiers": {
                "tiers": [
                    {"name": "low", "min_score": 60, "tp1_fraction": 1, "tp1_atr": 1},
                    {"name": "high", "min_score": 85, "tp1_fraction": 1, "tp1_atr": 2},
                ]
            },
        }
    )
    assert [t.name for t in settings.quality_tiers.tiers] == ["high", "low"]
    assert settings.quality_tiers.min_score == 60
    assert settings.atr.baseline == {"SOL": 2.0, "ETH": 30.0}
