"""The mode state machine and the only gate for risk-increasing orders (DESIGN.md section 3).

Whoever asks for an entry (the order ticket, a webhook later, a test) goes through
`RiskGate.check_entry`; nothing else in the code decides on limits. Exits are reduce-only and are
never blocked. Pure: no I/O, no clock (times come in as arguments), so every boundary is testable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cockpit.config import RiskLimits
from cockpit.domain import Mode, Side

DAY_MS = 86_400_000
LIVE_WORD = "LIVE"
NO_LIVE_VENUE = "no live venue in this session: LIVE-SMALL needs `cockpit --venue drift`"
"""Why LIVE-SMALL is refused on the demo, a replay or a ccxt feed: their only venue is paper."""


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """A request to open (increase risk). Notional is the position's value in USDT, not margin."""

    symbol: str
    side: Side
    notional_usdt: float
    leverage: float
    who: str


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """`allowed` is the verdict; `reason` explains a refusal or, in SHADOW, a would-be refusal."""

    allowed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ModeChange:
    """A mode switch, with the limits in force frozen as JSON for the audit row."""

    from_mode: Mode
    to_mode: Mode
    who: str
    reason: str
    ts_ms: int
    limits_json: str


class ModeRefused(Exception):
    """A mode switch was refused; the message says why, in a trader's words."""


class RiskGate:
    """Mode (always SHADOW at start) plus the LIVE-SMALL limits and the state they need."""

    def __init__(self, limits: RiskLimits) -> None:
        self._limits = limits
        self._mode = Mode.SHADOW
        self._last_entry_ms: int | None = None
        self._loss_day: int | None = None
        self._day_realized = 0.0

    @property
    def mode(self) -> Mode:
        """Read-only: the mode changes only through `enter_live` / `leave_live`, which audit it."""
        return self._mode

    @property
    def limits(self) -> RiskLimits:
        """The limits in force, for display and for the snapshot stored with each mode change."""
        return self._limits

    # ------------------------------------------------------------------ orders
    def check_entry(
        self,
        request: EntryRequest,
        *,
        open_positions: int,
        now_ms: int,
        open_notional_usdt: float = 0.0,
    ) -> RiskDecision:
        """Refuse (LIVE-SMALL) or flag (SHADOW) an entry that would break a limit.

        With several symbols in a session (issue 16 item 5) the limits are the session's, not
        each symbol's: `open_positions` and `open_notional_usdt` count the venue's open positions
        on every symbol, so three symbols do not triple the risk. One position per symbol is the
        venue's netting rule (cockpit/execution/book.py), not a limit: it holds in every mode."""
        for value, name in ((request.notional_usdt, "notional"), (request.leverage, "leverage")):
            if not (math.isfinite(value) and value > 0):
                return RiskDecision(False, f"{name} {value} is not a positive number")
        broken = self._broken_limit(request, open_positions, now_ms)
        if broken is None:
            broken = self._exposure_broken(request, open_notional_usdt)
        if broken is None:
            return RiskDecision(True)
        if self._mode is Mode.LIVE_SMALL:
            return RiskDecision(False, broken)
        return RiskDecision(True, f"would be refused in LIVE-SMALL: {broken}")

    def _broken_limit(self, request: EntryRequest, open_positions: int, now_ms: int) -> str | None:
        """The first limit the entry would break, in a trader's words, or None if it fits them all.

        Computed the same way in both modes so SHADOW reports exactly what LIVE-SMALL would refuse.
        """
        limits = self._limits
        if request.notional_usdt > limits.max_notional_usdt:
            return (
                f"notional {request.notional_usdt:.2f} USDT is above the "
                f"{limits.max_notional_usdt:.2f} USDT limit"
            )
        if request.leverage > limits.max_leverage:
            return f"leverage {request.leverage:g}x is above the {limits.max_leverage:g}x limit"
        if open_positions >= limits.max_open_positions:
            return (
                f"{open_positions} open position(s): the limit is "
                f"{limits.max_open_positions} at a time"
            )
        if self._last_entry_ms is not None:
            elapsed_s = (now_ms - self._last_entry_ms) / 1000
            if elapsed_s < limits.entry_cooldown_s:
                # Round down so a refusal never reads "60 s since ..., 60 s required".
                shown = math.floor(elapsed_s * 10) / 10
                return (
                    f"cooldown: {shown:g} s since the last entry, "
                    f"{limits.entry_cooldown_s:g} s required"
                )
        return self.daily_loss_reached(now_ms)

    def _exposure_broken(self, request: EntryRequest, open_notional_usdt: float) -> str | None:
        """The open notional of every symbol plus this entry's, against `max_exposure_usdt`."""
        limit = self._limits.max_exposure_usdt
        total = open_notional_usdt + request.notional_usdt
        if limit is not None and total > limit:
            return (
                f"exposure {total:.2f} USDT over every symbol with this entry is above the "
                f"{limit:.2f} USDT limit ({open_notional_usdt:.2f} USDT already open)"
            )
        return None

    def daily_loss_reached(self, now_ms: int) -> str | None:
        """The daily loss stop in a trader's words when today's (UTC) net realized loss has
        reached the limit, else None (also read by the daily-loss alert)."""
        loss_limit = self._limits.daily_loss_limit_usdt
        if loss_limit is not None:
            # Rounded to micro-USDT so a sum of cent amounts that is meant to hit the limit does.
            loss = round(-self._realized_on(now_ms // DAY_MS), 6)
            if loss >= loss_limit:
                return (
                    f"daily loss stop: {loss:.2f} USDT lost today (UTC), "
                    f"limit {loss_limit:.2f} USDT"
                )
        return None

    def check_reduce_only(self) -> RiskDecision:
        """Exits, stops and closes are never blocked, in any mode."""
        return RiskDecision(True)

    def record_entry(self, now_ms: int) -> None:
        """An entry was filled: the cooldown runs from here."""
        self._last_entry_ms = now_ms

    def record_realized(self, pnl_usdt: float, now_ms: int) -> None:
        """Closed P&L (net of fees) for the daily loss stop, which resets at UTC midnight.

        Only the current UTC day is kept. A late report stamped on an earlier day is dropped rather
        than allowed to roll the counter back and erase today's losses.
        """
        day = now_ms // DAY_MS
        if self._loss_day is None or day > self._loss_day:
            self._loss_day = day
            self._day_realized = 0.0
        if day == self._loss_day:
            self._day_realized += pnl_usdt

    def _realized_on(self, day: int) -> float:
        """Net realized P&L on UTC `day`: nothing recorded yet that day means 0 (a fresh day)."""
        return self._day_realized if day == self._loss_day else 0.0

    # ------------------------------------------------------------------ modes
    def enter_live(
        self,
        *,
        typed: str,
        live_broker: bool,
        wallet: bool,
        feed_healthy: bool,
        who: str,
        now_ms: int,
    ) -> ModeChange:
        """SHADOW -> LIVE_SMALL only on the exact word LIVE with a venue, a wallet and a feed."""
        if self._mode is Mode.LIVE_SMALL:
            raise ModeRefused("already in LIVE-SMALL")
        if typed != LIVE_WORD:
            raise ModeRefused(f"type exactly {LIVE_WORD} (capitals, no spaces) to confirm")
        if not live_broker:
            raise ModeRefused(NO_LIVE_VENUE)
        if not wallet:
            raise ModeRefused("no wallet is configured")
        if not feed_healthy:
            raise ModeRefused("the feed is stale or down")
        return self._switch(Mode.LIVE_SMALL, who, "typed LIVE", now_ms)

    def leave_live(self, *, who: str, reason: str, now_ms: int) -> ModeChange:
        """LIVE_SMALL -> SHADOW, always allowed and immediate."""
        if self._mode is Mode.SHADOW:
            raise ModeRefused("already in SHADOW")
        return self._switch(Mode.SHADOW, who, reason, now_ms)

    def undo(self, change: ModeChange) -> None:
        """Take back a switch whose record could not be written (the mode is what is on record)."""
        if self._mode is change.to_mode:
            self._mode = change.from_mode

    def _switch(self, to_mode: Mode, who: str, reason: str, now_ms: int) -> ModeChange:
        change = ModeChange(
            self._mode, to_mode, who, reason, now_ms, self._limits.model_dump_json()
        )
        self._mode = to_mode
        return change
