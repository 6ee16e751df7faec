"""The whole LIVE-SMALL path offline: a real Session on a real SQLite file, the real DriftBroker
and DriftOracleFeed on a real DriftClient whose chain is tests/fakes/drift_harness.py.

The oracle feed is the session's feed, as in `cockpit --venue drift`: the test moves the oracle
(`price`), lets the feed poll once, and the session handles that tick before `price` returns.
`settle` runs one pass of the venue poll loop (placed orders, venue exits) and waits for the
stop sync it starts beside it, the same pass the loop runs every `drift.poll_interval_s`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

from adapters.drift import PRICE_PRECISION, DriftBroker, DriftOracleFeed
from adapters.drift.wallet import Wallet, wallet_from_text
from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import DriftConfig, PaperConfig, Settings
from cockpit.domain import Candle
from cockpit.live_venue import LiveVenue
from cockpit.session import Session
from cockpit.session_builds import drift_keeper
from tests.fakes.drift_harness import CLOSED_RPC, Harness, make_harness
from tests.waiting import CEILING_S

SYMBOL = "SOL-PERP"
BAR_MS = 15 * 60_000
T0 = 1_750_000_000_000 - 1_750_000_000_000 % BAR_MS


def bars_with_atr(atr: float, around: float = 150.0, n: int = 45) -> list[Candle]:
    """15m bars ending at T0 whose true range is `atr` each: Wilder's ATR is exactly `atr`."""
    half = atr / 2
    return [
        Candle(
            SYMBOL, "15m", T0 - (n - i) * BAR_MS, around, around + half, around - half, around, 1
        )
        for i in range(n)
    ]


class PollGate:
    """The oracle feed's sleep: the feed polls once per `release`, and `release` returns once
    the session has handled what that poll produced and the feed is back asleep."""

    def __init__(self) -> None:
        self._go = asyncio.Event()
        self._back = asyncio.Event()

    async def sleep(self, _seconds: float) -> None:
        self._back.set()
        await self._go.wait()
        self._go.clear()

    async def release(self) -> None:
        self._back.clear()
        self._go.set()
        await asyncio.wait_for(self._back.wait(), CEILING_S)

    async def first(self) -> None:
        await asyncio.wait_for(self._back.wait(), CEILING_S)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def new_wallet() -> Wallet:
    return wallet_from_text(json.dumps(list(bytes(Keypair()))), where="test")


@dataclass
class Rig:
    db: Path
    h: Harness
    session: Session
    clock: Clock
    gate: PollGate
    wallet: Wallet

    @property
    def venue(self) -> LiveVenue:
        assert self.session.venue is not None
        return self.session.venue

    async def price(self, p: float, *, advance_ms: int = 1000) -> None:
        """The oracle moves to `p` (resting triggers through it fire, as a keeper fires them);
        the feed polls once and the session handles the tick."""
        self.clock.now += advance_ms
        self.h.set_oracle(p)
        await self.gate.release()
        await self.venue.idle()

    async def settle(self) -> None:
        """One pass of the poll loop, then whatever it gave the worker (stops, cancels)."""
        await self.venue.poll_once()
        await self.venue.idle()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute(sql))

    def chain_stops(self) -> list[tuple[int, float]]:
        """(user_order_id, trigger) of every resting trigger order on the fake chain."""
        return [
            (int(o.user_order_id), int(o.trigger_price) / PRICE_PRECISION)
            for o in self.h.chain.open_orders()
            if type(o.order_type).__name__ == "TriggerMarket"
        ]

    def chain_size(self) -> float:
        return self.h.chain.base() / 1e9

    def ixs(self) -> list[str]:
        return [ix.name for ix in self.h.sender.drift_ixs()]

    def events(self) -> list[str]:
        return [e.text for e in self.session.latest.events]


def drift_config(**over: Any) -> DriftConfig:
    values: dict[str, Any] = {
        "rpc_url": CLOSED_RPC,
        "confirm_timeout_s": 5,
        "poll_interval_s": 3600,
        "stop_retry_s": 5,
        "stop_grace_s": 5,
        "unconfirmed_expiry_s": 90,
    }
    values.update(over)
    return DriftConfig(**values)


async def open_rig(
    db: Path,
    *,
    wallet: Wallet | None = None,
    config: DriftConfig | None = None,
    atr: float | None = 2.0,
    oracle: float = 150.0,
    prepare: Any = None,
    poll_loop: bool = False,
    connected: bool = True,
) -> Rig:
    """Build and start the rig; `prepare(harness)` edits the chain before the session starts
    (positions or stops that were there before the cockpit).

    Without `poll_loop` the session's venue poll loop is stopped right after the start and the
    test runs each pass itself (`settle`), so what happens between two passes is the test's
    choice; with it, the loop runs as in the app. Without `connected` the client has loaded
    nothing and the session's start connects it (reading the account first), as in the app."""
    wallet = wallet or new_wallet()
    cfg = config or drift_config()
    h = make_harness(wallet, config=cfg, oracle_price=oracle, connected=connected)
    if prepare is not None:
        prepare(h)
        if connected:
            h.markets._load()
    return await _start(db, h, wallet, cfg, Clock(T0), atr, poll_loop)


async def restart(rig: Rig, *, poll_loop: bool = False) -> Rig:
    """Stop the cockpit and start a new one on the same database and the same chain: a new
    broker that remembers nothing, as after quitting (or a crash, with `stop` skipped)."""
    await rig.session.stop()
    rig.h.markets._load()  # stop() unsubscribed the client; a new cockpit subscribes anew
    rig.h.sender.install(rig.h.client.connection)  # and closed its RPC connection
    return await _start(rig.db, rig.h, rig.wallet, rig.h.config, rig.clock, 2.0, poll_loop)


def build_session(
    db: Path, h: Harness, wallet: Wallet, cfg: DriftConfig, clock: Clock, atr: float | None
) -> tuple[Session, PollGate]:
    """A Session wired as `cockpit --venue drift` wires it, on the offline chain; not started
    (a CockpitApp starts it, or `_start` does)."""

    async def sleep(seconds: float) -> None:  # the broker's back-off: recorded, not slept
        h.sleeps.append(seconds)
        clock.now += int(seconds * 1000)

    connected = h.broker._connected
    h.broker = DriftBroker(h.client, cfg, lookup_tables=[], clock=clock, sleep=sleep)
    h.broker._connected = connected
    gate = PollGate()
    theirs = cfg.candle_symbols[SYMBOL]  # the ATR's bars come under the exchange's symbol
    history = ReplayFeed(
        {theirs: iter(())},
        speed=None,
        simulated=False,
        label="history",
        candle_history={theirs: bars_with_atr(atr)} if atr is not None else None,
    )
    feed = DriftOracleFeed(
        h.client,
        cfg,
        clock=clock,
        sleep=gate.sleep,
        candle_source=history,
        rpc=h.broker.rpc,
        loader=h.broker.loader_watch,
    )
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{db}",
        drift=cfg,
        paper=PaperConfig(taker_fee_bps=0, slippage_bps=0, half_spread_bps=0),
    )
    session = Session(
        settings,
        feed,
        PaperBroker(settings.paper),
        [SYMBOL],
        live_broker=h.broker,
        keeper=drift_keeper,
        wallet=wallet.short,
        clock=clock,
    )
    return session, gate


async def _start(
    db: Path,
    h: Harness,
    wallet: Wallet,
    cfg: DriftConfig,
    clock: Clock,
    atr: float | None,
    poll_loop: bool,
) -> Rig:
    session, gate = build_session(db, h, wallet, cfg, clock, atr)
    await session.start()
    await session.venue_tried()
    if not poll_loop:
        for task in session._tasks:
            if task.get_name().startswith("venue:"):
                task.cancel()
    await gate.first()
    return Rig(db, h, session, clock, gate, wallet)
