"""The intake: every signal stored first, then refused, held for the trader, or entered.

One path whatever the source (the webhook, a replay's signal file, a test): `receive` checks the
signal against the session (its symbols, the entry pause, the position already open on the
symbol), writes the `signals` row with the verdict, and only then acts. An accepted signal
waits on screen for Enter (`ask`, the default) or goes straight to the entry (`auto`); either
way the entry is `Session.open_position`, the ticket's path (policy plan, risk gate, one
position per symbol), and its outcome is written back to the row. Entries from signals run one
at a time, so a burst of signals for one symbol cannot pass the one-position check together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from cockpit.config import Settings
from cockpit.domain import PositionState, Side
from cockpit.execution.errors import EntryPending, OrderRejected
from cockpit.execution.events import LatestState
from cockpit.signals.payload import SignalIn
from state import signal_rows
from state.signal_rows import ENTERED, ENTERING, REFUSED, SKIPPED, WAITING, NewSignal
from state.store import Store

log = logging.getLogger(__name__)


class OpenPosition(Protocol):
    def __call__(
        self,
        symbol: str,
        side: Side,
        notional: float,
        leverage: float,
        who: str = "user",
        *,
        policy: str | None = None,
        quality_score: float | None = None,
        direction_bias: bool = False,
    ) -> Awaitable[PositionState]: ...


RaiseAlert = Callable[[str, str, str, str], object]
"""(rule, subject, level, text): cockpit.alerts.AlertCenter.fire."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the sender is told: an HTTP status and a JSON body."""

    status: int
    body: dict[str, object]


@dataclass(frozen=True, slots=True)
class WaitingSignal:
    """An accepted signal on screen (ask mode) until the trader enters or skips it."""

    signal_id: int
    signal: SignalIn
    notional: float
    received_ms: int

    @property
    def text(self) -> str:
        s = self.signal
        extras = [f"{k} {v}" for k, v in s.features.items() if k != "quality_score"]
        policy = s.policy or "default policy"
        lines = [
            f"{s.described}: {self.notional:g} USDT, {policy}",
            ", ".join(extras) if extras else "no other features",
        ]
        return "\n".join(lines)


class SignalIntake:
    """Stores, decides and carries out signals; `waiting` is what the UI shows (ask mode)."""

    def __init__(
        self,
        settings: Settings,
        symbols: list[str],
        open_position: OpenPosition,
        store: Callable[[], Store],
        latest: LatestState,
        positions_of: Callable[[str], tuple[PositionState, ...]],
        event: Callable[[str, str], None],
        clock: Callable[[], int],
        raise_alert: RaiseAlert,
    ) -> None:
        self.settings = settings
        self.symbols = symbols
        self._open = open_position
        self._store = store
        self._latest = latest
        self._positions_of = positions_of
        self._event = event
        self._clock = clock
        self._alert = raise_alert
        self.waiting: dict[int, WaitingSignal] = {}
        self._entry_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def mode(self) -> str:
        return self.settings.webhook.mode

    # ------------------------------------------------------------------ arrival
    async def receive(
        self, signal: SignalIn, source: str, refusal: str | None = None, *, inline: bool = False
    ) -> Verdict:
        """Store `signal` with its verdict, then act on it. `refusal` is a reason found before
        (a bad field): the signal is stored refused with it. `inline` (a replay) waits for an
        auto entry instead of answering first."""
        symbol = self._match_symbol(signal.symbol)
        if symbol is not None:
            signal = replace(signal, symbol=symbol)  # the session's spelling from here on
        status_code = 422
        if refusal is None and symbol is None:
            known = ", ".join(self.symbols)
            refusal = f"unknown symbol {signal.symbol}; this session trades {known}"
        elif refusal is None and symbol is not None:
            refusal = self._refusal(symbol, signal.side)
            status_code = 409 if refusal is not None else 202
        notional = signal.notional or self.settings.default_notional_usdt
        now = self._clock()
        status = REFUSED if refusal is not None else (WAITING if self.mode == "ask" else ENTERING)
        record, new = await signal_rows.add_signal(
            self._store(),
            NewSignal(
                ts_ms=now,
                external_id=signal.external_id,
                source=source[:64],
                symbol=symbol or signal.symbol,
                side=signal.side,
                accepted=refusal is None,
                status=status,
                reject_reason=refusal,
                notional=notional,
                policy=signal.policy,
                features=signal.features,
                payload_json=signal.payload_json,
            ),
        )
        if not new:
            return Verdict(
                409,
                {
                    "error": f"duplicate id {signal.external_id}: already received",
                    "signal_id": record.id,
                    "status": record.status,
                },
            )
        self._quality_alert(record.id, signal, refusal)
        if refusal is not None:
            self._event("warning", f"signal #{record.id} {signal.described} refused: {refusal}")
            return Verdict(status_code, {"error": refusal, "signal_id": record.id})
        accepted = replace(signal, notional=notional)
        if self.mode == "ask":
            self.waiting[record.id] = WaitingSignal(record.id, accepted, notional, now)
            self._event("info", f"signal #{record.id} {signal.described} waits: Enter to enter it")
        else:
            self._event("info", f"signal #{record.id} {signal.described} received: entering")
            entry = self._enter(record.id, accepted, f"signal #{record.id}")
            if inline:
                await entry
            else:
                self._spawn(entry)
        return Verdict(202, {"signal_id": record.id, "status": status})

    def _match_symbol(self, symbol: str) -> str | None:
        if symbol in self.symbols:
            return symbol
        folded = symbol.casefold()
        return next((s for s in self.symbols if s.casefold() == folded), None)

    def _refusal(self, symbol: str, side: Side) -> str | None:
        paused = self._latest.entries_paused
        if paused is not None:
            return f"entries are paused ({paused})"
        for pos in self._positions_of(symbol):
            if pos.closed:
                continue
            if pos.side is not side:
                return (
                    f"opposite side of the open {pos.side.value} {symbol} #{pos.trade_id}: "
                    "close it first"
                )
            return f"already {pos.side.value} {symbol} #{pos.trade_id}: one position per symbol"
        return None

    def _quality_alert(self, signal_id: int, signal: SignalIn, refusal: str | None) -> None:
        quality = signal.quality
        if quality is None or quality <= self.settings.alerts.quality_above:
            return
        outcome = f"refused: {refusal}" if refusal else "accepted"
        self._alert(
            "quality",
            f"signal #{signal_id}",
            "info",
            f"premium setup: signal #{signal_id} {signal.described} ({outcome})",
        )

    # ------------------------------------------------------------------ the trader's answer
    async def confirm(self, signal_id: int, who: str = "user") -> str:
        """Enter a waiting signal (Enter in ask mode); returns what became of it."""
        waiting = self.waiting.pop(signal_id, None)
        if waiting is None:
            return f"signal #{signal_id} is not waiting any more"
        age_s = (self._clock() - waiting.received_ms) / 1000
        if age_s > self.settings.webhook.ask_timeout_s:
            reason = f"not confirmed within {self.settings.webhook.ask_timeout_s:g} s"
            await self._decide(signal_id, SKIPPED, reason=reason)
            return f"signal #{signal_id} expired: {reason}"
        await self._decide(signal_id, ENTERING)
        return await self._enter(signal_id, waiting.signal, f"{who} (signal #{signal_id})")

    async def skip(self, signal_id: int, who: str = "user") -> None:
        """The trader said no to a waiting signal."""
        if self.waiting.pop(signal_id, None) is not None:
            await self._decide(signal_id, SKIPPED, reason=f"skipped by {who}")
            self._event("info", f"signal #{signal_id} skipped by {who}")

    async def expire(self) -> None:
        """Skip waiting signals older than the ask timeout (called about once a second)."""
        limit_ms = self.settings.webhook.ask_timeout_s * 1000
        now = self._clock()
        for signal_id, waiting in list(self.waiting.items()):
            if now - waiting.received_ms > limit_ms:
                self.waiting.pop(signal_id, None)
                reason = f"not confirmed within {self.settings.webhook.ask_timeout_s:g} s"
                await self._decide(signal_id, SKIPPED, reason=reason)
                self._event("info", f"signal #{signal_id} expired: {reason}")

    # ------------------------------------------------------------------ entry
    async def _enter(self, signal_id: int, signal: SignalIn, who: str) -> str:
        async with self._entry_lock:
            try:
                pos = await self._open(
                    signal.symbol,
                    signal.side,
                    signal.notional or self.settings.default_notional_usdt,
                    self.settings.default_leverage,
                    who,
                    policy=signal.policy,
                    quality_score=signal.quality,
                )
            except EntryPending as exc:
                await self._decide(signal_id, ENTERING, reason=str(exc), ab_group=exc.ab_group)
                return f"signal #{signal_id}: {exc}"
            except OrderRejected as exc:
                await self._decide(signal_id, REFUSED, reason=str(exc))
                return f"signal #{signal_id} refused: {exc}"
            except Exception as exc:  # anything else: recorded, never lost silently
                log.exception("entry of signal %s failed", signal_id)
                await self._decide(signal_id, REFUSED, reason=f"entry failed: {exc}")
                return f"signal #{signal_id} entry failed: {exc}"
        await self._decide(signal_id, ENTERED, trade_id=pos.trade_id)
        return f"signal #{signal_id} entered as #{pos.trade_id}"

    async def _decide(
        self,
        signal_id: int,
        status: str,
        *,
        reason: str | None = None,
        trade_id: int | None = None,
        ab_group: str | None = None,
    ) -> None:
        """Write where the signal stands; an entered one gets its trade's A/B group with it."""
        try:
            await signal_rows.decide_signal(
                self._store(),
                signal_id,
                status,
                self._clock(),
                reason=reason,
                trade_id=trade_id,
                ab_group=ab_group,
            )
        except Exception as exc:  # the decision stands; its row says less than it should
            log.warning("signal %s: outcome %s not written: %s", signal_id, status, exc)
            self._event("error", f"signal #{signal_id}: outcome {status} not written: {exc}")

    def _spawn(self, job: Awaitable[object]) -> None:
        async def run() -> None:
            await job

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        """Wait for the entries under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """At shutdown: entries under way finish; waiting signals are skipped."""
        await self.settled()
        for signal_id in list(self.waiting):
            self.waiting.pop(signal_id, None)
            with contextlib.suppress(Exception):
                await self._decide(signal_id, SKIPPED, reason="the session ended before an answer")
