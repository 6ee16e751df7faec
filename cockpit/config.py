"""Settings: defaults from the roadmaps, overridden by a TOML file, then by COCKPIT_* env vars.

Every threshold the engine, the paper broker and the risk gate use lives here, so a trader can see
and change them in one place. Percentages are written as percent (1.5 means 1.5 %).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
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

from cockpit.ab_config import ABTests
from cockpit.config_outside import AlertsConfig, WebhookConfig
from cockpit.config_venues import DRIFT_CANDLE_SYMBOLS as DRIFT_CANDLE_SYMBOLS
from cockpit.config_venues import FEED_EXCHANGES as FEED_EXCHANGES
from cockpit.config_venues import DriftConfig as DriftConfig
from cockpit.config_venues import FeedConfig as FeedConfig
from cockpit.domain import check_account
from cockpit.ledger_config import LedgerConfig, check_ledger_sets
from cockpit.secret_scan import refuse_keys, refuse_keys_in_env, refuse_keys_in_toml_text

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


POLICY_NAMES: tuple[str, ...] = ("fixed", "atr_scaled", "quality_tiers")
"""The exit policies a position can be opened with (DESIGN.md section 2); `direction_bias` is
not one of them but a multiplier applied on top of any of them."""


class AtrConfig(BaseModel):
    """How the ATR behind `atr_scaled` and `quality_tiers` is measured.

    `baseline` is the "normal" ATR per base asset in quote currency (roadmap: 2.0 USD for SOL),
    on the same `timeframe` and `period`; atr_factor = ATR / baseline. A symbol without a
    baseline cannot use `atr_scaled` or `quality_tiers` (refused with a reason, never guessed).
    The factor is clamped to [factor_min, factor_max] so one freak bar cannot produce a 0.1 %
    stop or a 20 % target; the raw factor is stored with the plan as well.
    """

    period: int = Field(14, ge=1, le=500)
    timeframe: str = "15m"
    baseline: dict[str, float] = Field(default_factory=lambda: {"SOL": 2.0})
    factor_min: float = Field(0.25, gt=0)
    factor_max: float = Field(4.0, gt=0)

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        unit = value[-1:]
        count = value[:-1]
        if unit not in ("m", "h", "d") or not count.isdigit() or int(count) <= 0:
            raise ValueError(f"timeframe must look like 1m, 15m, 1h or 1d, got {value!r}")
        return value

    @field_validator("baseline")
    @classmethod
    def _positive_baselines(cls, value: dict[str, float]) -> dict[str, float]:
        for asset, atr in value.items():
            if not atr > 0:
                raise ValueError(f"baseline ATR for {asset} must be above 0, got {atr}")
        return {asset.upper(): atr for asset, atr in value.items()}

    @model_validator(mode="after")
    def _ordered_bounds(self) -> AtrConfig:
        if self.factor_min > self.factor_max:
            raise ValueError("atr.factor_min must not exceed atr.factor_max")
        return self


class QualityTier(BaseModel):
    """One band of signal quality scores and how a position in it exits (roadmap Phase 3).

    Targets are ATR multiples; `tp2_atr=None` means a single target; what TP1 and TP2 leave is
    the runner, which trails at `trail_atr` x ATR (None: no trailing). `stop_atr` replaces the
    `atr_scaled` stop with an ATR multiple when set.
    """

    name: str
    min_score: float = Field(ge=0, le=100)
    tp1_fraction: float = Field(gt=0, le=1)
    tp1_atr: float = Field(gt=0)
    tp2_fraction: float = Field(0.0, ge=0, le=1)
    tp2_atr: float | None = Field(None, gt=0)
    trail_atr: float | None = Field(None, gt=0)
    stop_atr: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> QualityTier:
        if self.tp1_fraction + self.tp2_fraction > 1.0 + 1e-9:
            raise ValueError(f"tier {self.name}: tp1_fraction + tp2_fraction exceeds 1")
        if self.tp2_atr is None and self.tp2_fraction:
            raise ValueError(f"tier {self.name}: tp2_fraction needs tp2_atr")
        if self.tp2_atr is not None and self.tp2_atr <= self.tp1_atr:
            raise ValueError(f"tier {self.name}: tp2_atr must be beyond tp1_atr")
        return self


def _roadmap_tiers() -> list[QualityTier]:
    return [
        QualityTier(
            name="high",
            min_score=80,
            tp1_fraction=0.50,
            tp1_atr=2.0,
            tp2_fraction=0.25,
            tp2_atr=4.0,
            trail_atr=2.5,
        ),
        QualityTier(
            name="medium",
            min_score=70,
            tp1_fraction=0.75,
            tp1_atr=1.5,
            tp2_fraction=0.25,
            tp2_atr=3.0,
        ),
        QualityTier(name="low", min_score=60, tp1_fraction=1.0, tp1_atr=1.0),
    ]


class QualityTiersConfig(BaseModel):
    """Quality tiers, best first by `min_score`; a score below every tier is refused."""

    tiers: list[QualityTier] = Field(default_factory=_roadmap_tiers, min_length=1)

    @model_validator(mode="after")
    def _distinct_bands(self) -> QualityTiersConfig:
        scores = [tier.min_score for tier in self.tiers]
        if len(set(scores)) != len(scores):
            raise ValueError("quality tiers must have distinct min_score values")
        self.tiers.sort(key=lambda tier: tier.min_score, reverse=True)
        return self

    @property
    def min_score(self) -> float:
        """Below this, no entry (roadmap: 60)."""
        return self.tiers[-1].min_score


class DirectionBiasConfig(BaseModel):
    """Target-distance multipliers per side when a position is opened with direction bias."""

    long_mult: float = Field(1.0, gt=0)
    short_mult: float = Field(1.2, gt=0)


class ExitsConfig(BaseModel):
    """Exit-engine choices that are not levels: the policy preselected in the order ticket.

    (The candle-input ambiguity rule, stop-first by default, is an argument of
    `engine.bars.bar_prices`; it becomes a setting with the backtest that reads candles.)
    """

    default_policy: str = "fixed"

    @field_validator("default_policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in POLICY_NAMES:
            raise ValueError(f"default_policy must be one of {', '.join(POLICY_NAMES)}")
        return value


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
    max_exposure_usdt: float | None = Field(None, gt=0)  # all symbols' open notional together


class GatesConfig(BaseModel):
    """Decision-gate thresholds, as the roadmaps state them (docs/analytics.md cites each one).

    `atr_min_cv_pct` and `runner_min_trades` are this project's reading of roadmap words that
    carry no number ("clear volatility variation", "30 trades minimum for confidence").
    `significance_alpha` is the p-value a gate that asks for significance must stay below (the
    quality gate: "statistical significance"); `significance_power` the power at which the gate
    says how many more trades the current effect needs (docs/analytics.md, "Significance").
    """

    phase2_min_atr_trades: int = Field(20, ge=1)
    atr_min: float = Field(0.5, ge=0)
    atr_max: float = Field(3.5, gt=0)
    atr_min_cv_pct: float = Field(20.0, ge=0)
    phase3_min_scored_trades: int = Field(30, ge=2)
    phase3_min_correlation: float = Field(0.3, ge=-1, le=1)
    significance_alpha: float = Field(0.05, gt=0, lt=1)
    significance_power: float = Field(0.8, gt=0, lt=1)
    phase4_min_trades: int = Field(50, ge=2)
    phase4_min_per_direction: int = Field(25, ge=1)
    phase4_min_edge: float = Field(3.0, gt=0)
    phase5_min_runner_pct: float = Field(30.0, ge=0, le=100)
    runner_min_trades: int = Field(30, ge=1)
    phase6_min_complete_trades: int = Field(100, ge=1)
    min_trades_significant: int = Field(30, ge=1)
    success_min_win_rate_pct: float = Field(50.0, ge=0, le=100)
    success_min_win_loss_ratio: float = Field(2.0, gt=0)
    success_min_profit_factor: float = Field(2.0, gt=0)
    p2_sharpe_improvement_pct: float = Field(20.0, gt=0)
    p2_drawdown_improvement_pct: float = Field(20.0, gt=0, lt=100)
    p2_win_rate_points: float = Field(10.0, gt=0)
    p2_win_rate_cap_pct: float = Field(65.0, gt=0, le=100)
    p2_profit_factor_improvement_pct: float = Field(25.0, gt=0)

    @model_validator(mode="after")
    def _ordered_atr_range(self) -> GatesConfig:
        if self.atr_min >= self.atr_max:
            raise ValueError("gates.atr_min must be below gates.atr_max")
        return self


class AnalyticsConfig(BaseModel):
    """What the analytics and the decision gates need beyond the trades themselves.

    `starting_equity_usdt` turns the $ drawdown into a % of equity. `baseline_end` splits the
    journal for the P2 win condition: trades entered before it are the baseline, the rest "now"
    (unset: the comparison waits for it). `runner_share_pct` and `missed_window_h` define the
    missed-profit estimate (the roadmap's 25 % runner, best price within the window after exit).
    `bootstrap_resamples` and `bootstrap_seed` define the 95 % intervals of win rate, profit
    factor and expectancy (a fixed seed: the same journal always gives the same interval).
    """

    starting_equity_usdt: float = Field(1000.0, gt=0)
    baseline_end: datetime | None = None
    runner_share_pct: float = Field(25.0, gt=0, le=100)
    missed_window_h: float = Field(24.0, gt=0)
    bootstrap_resamples: int = Field(1000, ge=100, le=100_000)
    bootstrap_seed: int = Field(0, ge=0)
    gates: GatesConfig = Field(default_factory=GatesConfig)

    @field_validator("baseline_end", mode="before")
    @classmethod
    def _date_is_midnight_utc(cls, value: object) -> object:
        """A TOML date (2025-11-01) means midnight UTC; a naive datetime is UTC too."""
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        return value

    @field_validator("baseline_end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def baseline_end_ms(self) -> int | None:
        return None if self.baseline_end is None else int(self.baseline_end.timestamp() * 1000)


class DemoConfig(BaseModel):
    """The offline simulated market used by `cockpit demo`."""

    symbol: str = "SOL-PERP"
    symbols: list[str] = Field(default_factory=list)  # several markets (cockpit/symbols.py)
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
    # The desk account this cockpit trades and writes for (venue + sub-account like "drift:1",
    # or "paper:<name>"): one cockpit per account on a shared PostgreSQL journal.
    account: str = "default"
    policy: FixedPolicyConfig = Field(default_factory=FixedPolicyConfig)
    atr: AtrConfig = Field(default_factory=AtrConfig)
    quality_tiers: QualityTiersConfig = Field(default_factory=QualityTiersConfig)
    direction_bias: DirectionBiasConfig = Field(default_factory=DirectionBiasConfig)
    exits: ExitsConfig = Field(default_factory=ExitsConfig)
    paper: PaperConfig = Field(default_factory=PaperConfig)
    risk: RiskLimits = Field(default_factory=RiskLimits)
    demo: DemoConfig = Field(default_factory=DemoConfig)
    feed: FeedConfig = Field(default_factory=FeedConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    ab: ABTests = Field(default_factory=list)  # [[ab]] A/B tests (cockpit/ab_config.py)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)  # cockpit/ledger_config.py
    _ledger_sets = field_validator("ledger")(check_ledger_sets)  # after [policy] etc.
    default_notional_usdt: float = Field(25.0, gt=0)
    default_leverage: float = Field(2.0, gt=0)
    ui_refresh_hz: float = Field(30.0, gt=0, le=60)  # at most; the screen redraws on change
    keymap: dict[str, str] = Field(default_factory=dict)
    """[keymap]: binding id -> key(s), e.g. long = "n" (ids: press ? in the cockpit)."""
    state_flush_ms: int = Field(250, ge=0)

    @field_validator("account")
    @classmethod
    def _account_name(cls, value: str) -> str:
        return check_account(value)

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


def _refuse_misplaced_keys(path: Path, overrides: dict[str, Any]) -> None:
    """A secret key in any raw setting is refused before pydantic sees it (cockpit/secret_scan.py):
    pydantic's errors would print the value back (``input_value=[171, 0, ...]``)."""
    refuse_keys(overrides, "the command line")
    refuse_keys_in_env(Settings.model_fields)
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return  # pydantic-settings reports it
        except tomllib.TOMLDecodeError:
            refuse_keys_in_toml_text(path.read_text(encoding="utf-8"), f"config file {path}")
            return  # not a key: pydantic-settings reports the line (never its text)
        refuse_keys(table, f"config file {path}")


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config_file` (default: the user config dir, if it exists), env, overrides.

    A value that looks like a secret key raises KeyInSettingError, naming the setting only."""
    path = config_file if config_file is not None else default_config_file()
    if config_file is not None and not path.exists():
        raise FileNotFoundError(f"config file not found: {path}")
    _refuse_misplaced_keys(path, overrides)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path if path.exists() else None)

    return _FromFile(**overrides)
