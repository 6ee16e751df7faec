"""Settings of what talks to the outside world: the signals webhook and the alerts.

Kept beside cockpit/config.py (which includes them as `[webhook]` and `[alerts]`) so that file
stays one readable page per concern.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

WEBHOOK_MODES: tuple[str, ...] = ("ask", "auto")


class WebhookConfig(BaseModel):
    """Signals in over HTTP (cockpit/signals/, README "Signals in through a webhook").

    Off until `enabled`; it listens on loopback unless `listen` names another address (a tunnel
    or reverse proxy in front is the way to reach it from outside). The token comes from the
    environment variable `token_env` first, then `token`; without one the webhook does not
    start. `ask` keeps an accepted signal on screen until the trader presses Enter (it expires
    after `ask_timeout_s`), `auto` enters it at once through the same path as the ticket. Each
    source (peer address) may send `burst` requests at once and `rate_per_min` on average.
    """

    enabled: bool = False
    listen: str = "127.0.0.1:8787"
    mode: str = "ask"
    token: SecretStr | None = None
    token_env: str = "COCKPIT_WEBHOOK_TOKEN"
    rate_per_min: float = Field(30.0, gt=0)
    burst: int = Field(10, ge=1)
    ask_timeout_s: float = Field(300.0, gt=0)

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in WEBHOOK_MODES:
            raise ValueError("webhook.mode must be ask or auto")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"webhook.listen must look like 127.0.0.1:8787, got {value!r}")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


ALERT_RULES: tuple[str, ...] = (
    "stop_hit",
    "tp_fill",
    "exit_failing",
    "feed_down",
    "mfe",
    "quality",
    "daily_loss",
    "account_lock",
)
"""Every alert rule (cockpit/alerts/rules.py says what each one watches)."""


class TelegramConfig(BaseModel):
    """Alerts to a Telegram chat through the Bot API. The bot token is read from the environment
    variable `token_env` (never from this file, never logged); `api_url` is for a relay or a
    local fake. A failed send is retried `max_retries` times, backing off from
    `backoff_initial_s` to `backoff_max_s` (a 429's retry_after is honoured up to that)."""

    chat_id: str
    token_env: str = "COCKPIT_TELEGRAM_TOKEN"
    api_url: str = "https://api.telegram.org"
    max_retries: int = Field(5, ge=0, le=20)
    backoff_initial_s: float = Field(1.0, gt=0)
    backoff_max_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(10.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"telegram.api_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/")


class AlertsConfig(BaseModel):
    """Which alerts are raised and where they go (README "Alerts").

    `rules` lists the rules in force (all by default). An alert is shown as a notification,
    written to the `alerts` table and, with `[alerts.telegram]`, sent to a chat; the same rule
    on the same subject (a trade, the feed) is not raised again within `cooldown_s`.
    """

    rules: list[str] = Field(default_factory=lambda: list(ALERT_RULES))
    feed_down_after_s: float = Field(30.0, gt=0)
    mfe_pct: float = Field(5.0, gt=0)
    quality_above: float = Field(90.0, ge=0, le=100)
    cooldown_s: float = Field(300.0, ge=0)
    bell: bool = False
    telegram: TelegramConfig | None = None

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ALERT_RULES))
        if unknown:
            raise ValueError(
                f"unknown alert rules: {', '.join(unknown)} (known: {', '.join(ALERT_RULES)})"
            )
        return value
