"""Alerts to a Telegram chat through the Bot API's `sendMessage`, retried with backoff.

The bot token is part of the URL (`/bot<TOKEN>/sendMessage`), so no URL and no client error
text is ever logged or shown as it is: every message that leaves this module has the token
replaced by `***`. A 429 answer's `retry_after` is honoured (capped at `backoff_max_s`), a 5xx
or a network error backs off exponentially; a 4xx other than 429 is not retried (the request
itself is wrong: bad chat id, bad token). `send` returns what became of the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from cockpit.config_outside import TelegramConfig

if TYPE_CHECKING:  # imported when a sender is made: only a cockpit that sends pays for it
    import aiohttp

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # the Bot API's limit for one message


class TelegramSender:
    def __init__(
        self,
        config: TelegramConfig,
        token: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not token:
            raise ValueError("the Telegram bot token is empty")
        import aiohttp  # here, not at the top: aiohttp is ~10 % of the session's imports

        self._aiohttp = aiohttp
        self.config = config
        self._token = token
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()  # one message at a time: in order, and gentle on limits

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***")

    async def send(self, text: str) -> str:
        """Send `text`; returns `sent` or `failed: <why>` (token-free) after every retry."""
        async with self._lock:
            return await self._send(text[:MAX_TEXT])

    async def _send(self, text: str) -> str:
        cfg = self.config
        url = f"{cfg.api_url}/bot{self._token}/sendMessage"
        payload = {"chat_id": cfg.chat_id, "text": text, "disable_web_page_preview": True}
        delay = cfg.backoff_initial_s
        why = "not tried"
        for attempt in range(cfg.max_retries + 1):
            wait = delay
            try:
                status, answer = await self._post(url, payload)
            except (self._aiohttp.ClientError, TimeoutError) as exc:
                why = self._scrub(f"{type(exc).__name__}: {exc}") or "network error"
            else:
                if status == 200 and answer.get("ok") is True:
                    return "sent"
                description = str(answer.get("description") or f"HTTP {status}")
                why = self._scrub(f"{status} {description}")
                if status == 429:
                    params = answer.get("parameters")
                    retry_after = params.get("retry_after") if isinstance(params, dict) else None
                    if isinstance(retry_after, int | float) and retry_after > 0:
                        wait = max(wait, float(retry_after))
                elif status < 500:
                    log.warning("telegram refused an alert: %s", why)
                    return f"failed: {why}"
            if attempt == cfg.max_retries:
                break
            log.info("telegram send failed (%s); retry %d in %.1f s", why, attempt + 1, wait)
            await self._sleep(min(wait, cfg.backoff_max_s))
            delay = min(delay * 2, cfg.backoff_max_s)
        log.warning("telegram gave up after %d tries: %s", cfg.max_retries + 1, why)
        return f"failed: {why}"

    async def _post(self, url: str, payload: dict[str, object]) -> tuple[int, dict[str, object]]:
        if self._session is None:
            timeout = self._aiohttp.ClientTimeout(total=self.config.timeout_s)
            self._session = self._aiohttp.ClientSession(timeout=timeout)
        async with self._session.post(url, json=payload) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
            return response.status, answer if isinstance(answer, dict) else {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def build_sender(config: TelegramConfig | None, env: dict[str, str]) -> TelegramSender | None:
    """The sender `[alerts.telegram]` asks for; ValueError (naming the variable, never its
    value) when the token's environment variable is empty."""
    if config is None:
        return None
    token = env.get(config.token_env, "").strip()
    if not token:
        raise ValueError(f"[alerts.telegram] needs the bot token in ${config.token_env}")
    return TelegramSender(config, token)
