"""A session on a paused replay feed with the webhook on 127.0.0.1 (an ephemeral port), and a
real aiohttp client to post to it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import PaperConfig, Settings
from cockpit.config_outside import AlertsConfig, WebhookConfig
from cockpit.domain import Candle, Tick
from cockpit.session import Session

SYMBOL = "SOL-PERP"
TOKEN = "s3cret-token-for-tests"
BAR_MS = 15 * 60_000
T0 = 1_750_000_000_000 - 1_750_000_000_000 % BAR_MS
NO_COSTS = PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def _history() -> list[Candle]:
    return [
        Candle(SYMBOL, "15m", T0 - (20 - i) * BAR_MS, 100.0, 101.0, 99.0, 100.0, 1.0)
        for i in range(20)
    ]


def _ticks(prices: list[float]) -> Iterator[Tick]:
    for i, p in enumerate(prices):
        yield Tick(SYMBOL, T0 + 1000 * (i + 1), p)


@dataclass
class Rig:
    session: Session
    feed: ReplayFeed
    db: Path
    clock: Clock
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        assert self.session.webhook is not None and self.session.webhook.port
        return f"http://127.0.0.1:{self.session.webhook.port}"

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else _json(body))
        async with self.http.post(self.url + path, data=data, headers=sent) as response:
            answer = await response.json(content_type=None)
            return response.status, answer

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute(sql))


def _json(body: Any) -> bytes:
    import json

    return json.dumps(body, ensure_ascii=False).encode()


@asynccontextmanager
async def rig(
    tmp_path: Path,
    *,
    mode: str = "auto",
    burst: int = 100,
    prices: list[float] | None = None,
    alerts: AlertsConfig | None = None,
    **overrides: Any,
) -> AsyncIterator[Rig]:
    db = tmp_path / "w.db"
    clock = Clock()
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{db}",
        paper=NO_COSTS,
        webhook=WebhookConfig(
            enabled=True,
            listen="127.0.0.1:0",
            mode=mode,
            token=SecretStr(TOKEN),
            token_env="COCKPIT_TEST_WEBHOOK_TOKEN_UNSET",
            burst=burst,
            rate_per_min=60,
        ),
        alerts=alerts or AlertsConfig(),
        **overrides,
    )
    feed = ReplayFeed(
        {SYMBOL: _ticks(prices or [100.0, 100.5, 101.0, 99.0, 98.0, 97.0])},
        speed=None,
        simulated=True,
        label="t",
        paused=True,
        candle_history={SYMBOL: _history()},
        start_ms=T0,
    )
    session = Session(settings, feed, PaperBroker(settings.paper), [SYMBOL], clock=clock)
    await session.start()
    try:
        await feed.step(1)
        async with aiohttp.ClientSession() as http:
            yield Rig(session, feed, db, clock, http)
    finally:
        await session.stop()


def signal(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": SYMBOL, "side": "long", "quality": 85, "strategy": "t"}
    body.update(fields)
    return body
