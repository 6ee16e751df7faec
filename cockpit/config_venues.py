"""The market-data and venue sections of the settings: `[feed]` (SHADOW on live data through
ccxt.pro) and `[drift]` (Drift perps). Split from cockpit/config.py, which re-exports them, so
each settings module stays small; the same validation rules apply (pydantic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from cockpit.symbols import check_symbol_list, perp_symbol

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
