"""Settings: defaults from the roadmaps, overridden by a TOML file, then by COCKPIT_* env vars.

Every threshold the engine, the paper broker and the risk gate use lives here, so a trader can see
and change them in one place. Percentages are written as percent (1.5 means 1.5 %).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "cockpit"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def default_db_url() -> str:
    """SQLite file in the user data dir (created on first use)."""
    return f"sqlite+aiosqlite:///{default_data_dir() / 'cockpit.db'}"


class FixedPolicyConfig(BaseModel):
    """The `fixed` policy: today's strategy in the roadmap and the baseline for every comparison."""

    stop_loss_pct: float = Field(1.5, gt=0, lt=100)
    breakeven_trigger_pct: float = Field(0.5, gt=0)
    profit_lock_trigger_pct: float = Field(1.2, gt=0)
    profit_lock_pct: float = Field(0.4, ge=0)
    tp1_pct: float = Field(1.5, gt=0)
    tp1_fraction: float = Field(0.75, gt=0, le=1)
    tp2_pct: float = Field(3.0, gt=0)
    tp2_fraction: float = Field(0.25, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> FixedPolicyConfig:
        if self.tp1_fraction + self.tp2_fraction > 1.0 + 1e-9:
            raise ValueError("tp1_fraction + tp2_fraction must not exceed 1")
        if self.tp2_pct <= self.tp1_pct:
            raise ValueError("tp2_pct must be beyond tp1_pct")
        if self.profit_lock_pct >= self.profit_lock_trigger_pct:
            raise ValueError("profit_lock_pct must be below profit_lock_trigger_pct")
        return self


class PaperConfig(BaseModel):
    """Paper broker cost model. Fees and slippage in basis points of notional / price."""

    taker_fee_bps: float = Field(5.0, ge=0)
    slippage_bps: float = Field(2.0, ge=0)
    half_spread_bps: float = Field(1.0, ge=0)


class RiskLimits(BaseModel):
    """LIVE-SMALL hard limits (roadmap defaults). Enforced only in cockpit/risk.py."""

    max_notional_usdt: float = Field(50.0, gt=0)
    max_open_positions: int = Field(1, ge=1)
    max_leverage: float = Field(2.0, gt=0)
    entry_cooldown_s: float = Field(60.0, ge=0)
    daily_loss_limit_usdt: float | None = Field(None, gt=0)


class DemoConfig(BaseModel):
    """The offline simulated market used by `cockpit demo`."""

    symbol: str = "SOL-PERP"
    start_price: float = Field(150.0, gt=0)
    seed: int | None = None
    tick_interval_s: float = Field(1.0, gt=0)
    speed: float = Field(1.0, gt=0)


class Settings(BaseSettings):
    """All of the cockpit's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="COCKPIT_", env_nested_delimiter="__", extra="forbid"
    )

    db_url: str = Field(default_factory=default_db_url)
    policy: FixedPolicyConfig = Field(default_factory=FixedPolicyConfig)
    paper: PaperConfig = Field(default_factory=PaperConfig)
    risk: RiskLimits = Field(default_factory=RiskLimits)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    default_notional_usdt: float = Field(25.0, gt=0)
    default_leverage: float = Field(2.0, gt=0)
    ui_refresh_hz: float = Field(4.0, gt=0, le=30)
    state_flush_ms: int = Field(250, ge=0)

    @field_validator("db_url")
    @classmethod
    def _async_url(cls, value: str) -> str:
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = settings_cls.model_config.get("toml_file")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config_file` (default: the user config dir, if it exists), env, overrides."""
    path = config_file if config_file is not None else default_config_file()
    if config_file is not None and not path.exists():
        raise FileNotFoundError(f"config file not found: {path}")

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path if path.exists() else None)

    return _FromFile(**overrides)
