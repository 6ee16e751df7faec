"""Settings: defaults from the roadmaps, overridden by a TOML file, then by COCKPIT_* env vars.

Every threshold the engine, the paper broker and the risk gate use lives here, so a trader can see
and change them in one place. Percentages are written as percent (1.5 means 1.5 %).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

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
from cockpit.domain import check_account
from cockpit.secret_scan import refuse_keys, refuse_keys_in_env, refuse_keys_in_toml_text
from cockpit.symbols import check_symbol_list, perp_symbol

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


FEED_EXCHANGES: tuple[str, ...] = ("binanceusdm", "bybit")
"""Exchanges the live feed is tested against (tests/fakes/); other ccxt.pro ids may work."""


class FeedConfig(BaseModel):
    """The live mainnet feed of SHADOW mode (adapters/ccxt_feed.py, docs/feeds.md).

    `trigger` is the price the exit engine acts on: `mark` (what venues trigger stops on,
    DESIGN.md section 2) where the exchange streams it, else `last` (trades). A feed without a
    price for `stale_after_s` is stale: the engine takes no automatic action on its prices;
    after `reconnect_after_s` without one the sockets are dropped and reopened (a dead socket
    is often noticed late by the exchange client). Reconnects back off exponentially from
    `backoff_initial_s` to `backoff_max_s` (with jitter); after `down_after_failures` failed
    attempts in a row the feed shows as down, and keeps retrying. Bid/ask older than
    `book_max_age_s` is not used for paper fills. `origin` replaces the exchange's REST and
    websocket hosts (e.g. ``http://127.0.0.1:8080`` for a local fake or a relay).
    """

    exchange: str = "binanceusdm"
    symbol: str = "SOL/USDT:USDT"
    symbols: list[str] = Field(default_factory=list)
    """Several symbols in one session (cockpit/symbols.py); empty: `symbol` alone."""
    trigger: str = "mark"
    stale_after_s: float = Field(5.0, gt=0)
    reconnect_after_s: float = Field(20.0, gt=0)
    backoff_initial_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
    down_after_failures: int = Field(3, ge=1)
    book_max_age_s: float = Field(2.0, gt=0)
    backfill_minutes: int = Field(240, ge=0, le=10_080)
    request_timeout_s: float = Field(10.0, gt=0)
    origin: str | None = None

    @field_validator("trigger")
    @classmethod
    def _known_trigger(cls, value: str) -> str:
        if value not in ("mark", "last"):
            raise ValueError("trigger must be mark or last")
        return value

    @field_validator("symbol")
    @classmethod
    def _perp_symbol(cls, value: str) -> str:
        return perp_symbol(value)

    @field_validator("symbols")
    @classmethod
    def _perp_symbols(cls, value: list[str]) -> list[str]:
        return [perp_symbol(s) for s in check_symbol_list(value, "feed.symbols")]

    @property
    def symbol_list(self) -> list[str]:
        return list(self.symbols) or [self.symbol]

    @field_validator("origin")
    @classmethod
    def _origin_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"origin must start with http:// or https://, got {value!r}")
        return None if value is None else value.rstrip("/")

    @model_validator(mode="after")
    def _ordered(self) -> FeedConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("feed.backoff_max_s must not be below feed.backoff_initial_s")
        if self.reconnect_after_s < self.stale_after_s:
            raise ValueError("feed.reconnect_after_s must not be below feed.stale_after_s")
        return self


DRIFT_CANDLE_SYMBOLS: dict[str, str] = {
    "SOL-PERP": "SOL/USDT:USDT",
    "BTC-PERP": "BTC/USDT:USDT",
    "ETH-PERP": "ETH/USDT:USDT",
}
"""The ccxt symbol whose candles stand for a Drift market's in the ATR (Drift serves none);
`drift.candle_symbols` adds to it or overrides it."""


class DriftConfig(BaseModel):
    """LIVE-SMALL on Drift through driftpy (adapters/drift/, docs/drift.md).

    The wallet comes from a Solana CLI keypair file (`keypair_path`, mode 600) or, when no path
    is set, from the environment variable named by `keypair_env` (a JSON array or base58); the
    key itself never appears in this file. `markets` maps the cockpit's symbols to Drift perp
    market indexes: these markets and every market the sub-account touches are polled (no
    getProgramAccounts); each configured name is checked against driftpy's market table at
    start (adapters/drift/market_names.py). `candle_symbols` maps a market to the `[feed]`
    exchange's symbol whose bars give its ATR (DRIFT_CANDLE_SYMBOLS plus what the config adds; a
    market without one has no ATR, no guessed symbol). A transaction is signed once and
    rebroadcast until it is confirmed or `send_deadline_s` has passed; one that could not be sent
    at all is tried `max_retries` times, backing off from `backoff_initial_s` to
    `backoff_max_s`; a landed transaction's error is a rejection with the program's reason. An
    order is "placed" until the account shows its fill, waited for at most `confirm_timeout_s`
    per call; the session then keeps it "placed", never sends it again, and ends it after
    `unconfirmed_expiry_s` once its transaction can no longer land (its blockhash expired).
    `taker_fee_bps` estimates the fee of a close until fills are read from Drift's event records.
    A stop that cannot be put on chain is retried every
    `stop_retry_s` (the engine's software stop protects the position meanwhile); a price
    through a stop that is on chain is left to the venue for `stop_grace_s` before the software
    stop closes at market.
    """

    rpc_url: str = "https://api.mainnet-beta.solana.com"
    env: str = "mainnet"
    keypair_path: Path | None = None
    keypair_env: str | None = "COCKPIT_DRIFT_KEYPAIR"
    markets: dict[str, int] = Field(default_factory=lambda: {"SOL-PERP": 0})
    sub_account_id: int = Field(0, ge=0)
    poll_interval_s: float = Field(1.0, gt=0)
    stale_after_s: float = Field(10.0, gt=0)
    confirm_timeout_s: float = Field(20.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(10.0, gt=0)
    taker_fee_bps: float = Field(3.5, ge=0)
    candle_symbols: dict[str, str] = Field(default_factory=lambda: dict(DRIFT_CANDLE_SYMBOLS))
    stop_retry_s: float = Field(5.0, gt=0)
    stop_grace_s: float = Field(5.0, ge=0)
    unconfirmed_expiry_s: float = Field(90.0, gt=0)
    # Sending (adapters/drift/sender.py, docs/drift.md): each transaction asks for
    # `compute_unit_limit` compute units at a priority fee per unit of
    # `priority_fee_micro_lamports`, or, with `priority_fee_percentile`, that percentile of the
    # recent prioritization fees (never below the fixed fee, never above the max). The same
    # signed transaction is rebroadcast every `rebroadcast_s` and its status read every
    # `signature_poll_s` until it is confirmed or `send_deadline_s` has passed.
    compute_unit_limit: int = Field(600_000, ge=10_000, le=1_400_000)
    priority_fee_micro_lamports: int = Field(10_000, ge=0)
    priority_fee_percentile: float | None = Field(None, ge=0, le=100)
    priority_fee_max_micro_lamports: int = Field(2_000_000, ge=0)
    send_deadline_s: float = Field(20.0, gt=0)
    rebroadcast_s: float = Field(2.0, gt=0)
    signature_poll_s: float = Field(1.0, gt=0)
    # The RPC (adapters/drift/rpc_health.py): requests per 10 s the RPC allows (shown against
    # what is sent, in the feed status), and how accounts are read: "polling" (one batched
    # read per poll_interval_s) or "websocket" (account subscriptions, driftpy's).
    rpc_limit_per_10s: int = Field(100, gt=0)
    account_subscription: Literal["polling", "websocket"] = "polling"

    @field_validator("rpc_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"drift.rpc_url must start with http:// or https://, got {value!r}")
        return value

    @field_validator("env")
    @classmethod
    def _known_env(cls, value: str) -> str:
        if value not in ("mainnet", "devnet"):
            raise ValueError("drift.env must be mainnet or devnet")
        return value

    @field_validator("candle_symbols")
    @classmethod
    def _over_the_default_table(cls, value: dict[str, str]) -> dict[str, str]:
        """A configured entry adds to or replaces one of DRIFT_CANDLE_SYMBOLS; "" removes it."""
        for market, theirs in value.items():
            if theirs and ("/" not in theirs or ":" not in theirs):
                raise ValueError(
                    f"drift.candle_symbols.{market} must be a ccxt perp symbol like "
                    f'SOL/USDT:USDT (or "" for none), got {theirs!r}'
                )
        return {**DRIFT_CANDLE_SYMBOLS, **value}

    @model_validator(mode="after")
    def _ordered(self) -> DriftConfig:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("drift.backoff_max_s must not be below drift.backoff_initial_s")
        if not self.markets:
            raise ValueError("drift.markets must name at least one perp market")
        if self.priority_fee_max_micro_lamports < self.priority_fee_micro_lamports:
            raise ValueError(
                "drift.priority_fee_max_micro_lamports must not be below "
                "drift.priority_fee_micro_lamports"
            )
        if self.unconfirmed_expiry_s <= self.send_deadline_s:
            raise ValueError(
                "drift.unconfirmed_expiry_s must be above drift.send_deadline_s (an order is "
                "given up only after its last send stopped waiting)"
            )
        return self


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
