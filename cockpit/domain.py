"""Value types shared by the engine, the session, the adapters, the store and the UI.

Everything here is plain data: no I/O, no clock, no Textual. Prices are floats in quote currency,
sizes are base units, times are epoch milliseconds (UTC) carried in by the data itself so that
replay, backtest and live run the same code (DESIGN.md section 1).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Final


class Side(StrEnum):
    """Direction of a position."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for a long, -1 for a short: multiplies price differences into P&L."""
        return 1 if self is Side.LONG else -1

    @property
    def opening_order_side(self) -> OrderSide:
        return OrderSide.BUY if self is Side.LONG else OrderSide.SELL

    @property
    def closing_order_side(self) -> OrderSide:
        return OrderSide.SELL if self is Side.LONG else OrderSide.BUY


EXTERNAL_POLICY = "external"
"""The policy of a venue position the cockpit adopted at reconcile instead of opening it: it is
monitored, never the strategy's trade (analytics leave it out)."""

ALL_ACCOUNTS: Final = "all"
"""Not an account: what analytics and reports take to mean every account on the journal."""
_ACCOUNT_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}")


def check_account(name: str) -> str:
    """`name` if it can name a desk account (drift:1, paper:alice), else ValueError saying why."""
    if name == ALL_ACCOUNTS:
        raise ValueError("'all' is not an account name (it means every account, for analytics)")
    if not _ACCOUNT_NAME.fullmatch(name):
        raise ValueError(
            f"account {name!r}: 1-64 letters, digits and _ . : @ - (like drift:1 or paper:alice)"
        )
    return name


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class Mode(StrEnum):
    """Where orders go. Every start is SHADOW (DESIGN.md section 3)."""

    SHADOW = "shadow"
    LIVE_SMALL = "live_small"


class StopRole(StrEnum):
    """What the stop currently protects; it becomes the exit reason when the stop fills."""

    STOP_LOSS = "stop_loss"
    BREAKEVEN = "breakeven"
    PROFIT_LOCK = "profit_lock"
    TRAILING_STOP = "trailing_stop"
    MANUAL_STOP = "manual_stop"


class ExitReason(StrEnum):
    """Why (part of) a position was closed; stored on every exit fill and on the trade."""

    STOP_LOSS = "stop_loss"
    BREAKEVEN = "breakeven"
    PROFIT_LOCK = "profit_lock"
    TRAILING_STOP = "trailing_stop"
    MANUAL_STOP = "manual_stop"
    TP1 = "tp1"
    TP2 = "tp2"
    MANUAL_CLOSE = "manual_close"
    END_OF_DATA = "end_of_data"  # a replay's position closed at the last price of its data

    @classmethod
    def for_stop(cls, role: StopRole) -> ExitReason:
        return cls(role.value)


class FeedState(StrEnum):
    CONNECTED = "connected"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    DOWN = "down"
    STARTING = "starting"  # the session is being built: no feed yet (cockpit/starting.py)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What the header shows about a feed. `simulated` makes a demo market impossible to mistake."""

    state: FeedState
    detail: str = ""
    age_s: float | None = None
    simulated: bool = False


@dataclass(frozen=True, slots=True)
class Tick:
    """One price observation. `source` is what a stop would trigger on (last, mark, oracle,
    median...); `trigger_price` is the price a stop triggers on when the venue's differs from
    `price` (Drift's median trigger price, adapters/drift/trigger.py), None when it is `price`.
    """

    symbol: str
    ts_ms: int
    price: float
    bid: float | None = None
    ask: float | None = None
    source: str = "last"
    trigger_price: float | None = None


@dataclass(frozen=True, slots=True)
class Candle:
    """An OHLCV bar; `ts_ms` is the bar's open time."""

    symbol: str
    timeframe: str
    ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def favorable_move(side: Side, entry: float, price: float) -> float:
    """Favorable move as a fraction of entry: (p - entry)/entry for a long, mirrored for a short."""
    return side.sign * (price - entry) / entry


def price_at_move(side: Side, entry: float, move: float) -> float:
    """The price at which the favorable move equals `move` (a fraction, negative = adverse)."""
    return entry * (1.0 + side.sign * move)


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """The exit levels computed at entry. Frozen and stored with the trade, never recomputed."""

    policy: str
    side: Side
    entry: float
    initial_size: float
    stop_loss: float
    breakeven_trigger: float
    profit_lock_trigger: float
    profit_lock_stop: float
    tp1_price: float
    tp1_fraction: float
    tp2_price: float | None
    tp2_fraction: float
    runner_fraction: float = 0.0
    trail_atr_mult: float | None = None
    atr: float | None = None
    atr_factor: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["side"] = self.side.value
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ExitPlan:
        data = json.loads(text)
        data["side"] = Side(data["side"])
        return cls(**data)


@dataclass(slots=True)
class PositionState:
    """The live, mutable picture of one open position: what the engine updates on every price.

    Percent fields (`mfe_pct`, `mae_pct`) are price moves in percent (not ROE); `*_quote` are the
    same excursions in quote currency for the initial size.
    """

    symbol: str
    side: Side
    entry: float
    initial_size: float
    size: float
    leverage: float
    plan: ExitPlan
    stop: float
    stop_role: StopRole = StopRole.STOP_LOSS
    opened_ms: int = 0
    trade_id: int | None = None
    mode: Mode = Mode.SHADOW
    venue: str = "paper"
    tp1_filled: bool = False
    tp2_filled: bool = False
    # A target's order is out (decided, not yet filled): the engine does not emit it again, and
    # its consequences (stop to breakeven, runner start) wait for the fill (DESIGN.md section 4).
    tp1_sent: bool = False
    tp2_sent: bool = False
    trailing_active: bool = False
    breakeven_done: bool = False
    profit_lock_done: bool = False
    trail_paused: bool = False
    trail_mult: float | None = None
    ambiguous_bars: int = 0
    peak: float | None = None
    mfe_pct: float = 0.0
    mae_pct: float = 0.0
    mfe_quote: float = 0.0
    mae_quote: float = 0.0
    last_price: float | None = None
    realized_pnl: float = 0.0
    fees: float = 0.0
    closed: bool = False

    def unrealized_pnl(self, price: float) -> float:
        return self.side.sign * (price - self.entry) * self.size

    def move_pct(self, price: float) -> float:
        """Favorable price move in percent of entry (what the levels are defined in)."""
        return 100.0 * favorable_move(self.side, self.entry, price)

    def roe_pct(self, price: float) -> float:
        """Return on margin in percent: the price move scaled by leverage. Never used for levels."""
        return self.move_pct(price) * self.leverage

    @property
    def notional(self) -> float:
        return self.entry * self.size

    @property
    def tp1_state(self) -> TargetState:
        return _target_state(self.tp1_sent, self.tp1_filled)

    @property
    def tp2_state(self) -> TargetState:
        return _target_state(self.tp2_sent, self.tp2_filled)

    @property
    def state_label(self) -> str:
        """A short word for the positions table: what phase the exit plan is in."""
        if self.closed:
            return "closed"
        if self.trailing_active:
            return "runner held" if self.trail_paused else "runner"
        if self.tp1_filled and self.tp2_filled:
            return "tp2 hit"
        if self.tp1_filled:
            return "tp1 hit"
        if self.stop_role is not StopRole.STOP_LOSS:
            return self.stop_role.value.replace("_", " ")
        return "open"


class TargetState(StrEnum):
    """A take-profit's life: `armed` (waiting for its price), `sent` (its order is out),
    `filled`. A send that fails for any reason goes back to `armed`, nothing else changed."""

    ARMED = "armed"
    SENT = "sent"
    FILLED = "filled"


def _target_state(sent: bool, filled: bool) -> TargetState:
    if filled:
        return TargetState.FILLED
    return TargetState.SENT if sent else TargetState.ARMED


@dataclass(frozen=True, slots=True)
class Close:
    """Engine decision: close `size` (base units) of the position, reduce-only."""

    size: float
    reason: ExitReason
    trigger_price: float


@dataclass(frozen=True, slots=True)
class MoveStop:
    """Engine decision: the stop moved from `old` to `new` and now plays `role`."""

    old: float
    new: float
    role: StopRole
    reason: str


Action = Close | MoveStop


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the session asks a broker to do. Stored as an order row before it is sent.

    `client_order_id` makes retries idempotent. `reduce_only` is True for every exit.
    """

    client_order_id: str
    symbol: str
    side: OrderSide
    size: float
    reduce_only: bool
    reason: str
    leverage: float = 1.0
    trade_id: int | None = None


@dataclass(frozen=True, slots=True)
class PaperTwin:
    """What the paper model would have filled a live order at, on the same ticks: the price
    and fee of `adapters.paper` on the tick the order was decided on (a stop: the first tick
    through it), and that tick's time. Stored beside each LIVE-SMALL fill (issue 18 item 6)."""

    price: float
    fee: float
    ts_ms: int


@dataclass(frozen=True, slots=True)
class PaperQuote:
    """The paper model's price for a live order on the tick it was decided on, and that tick's
    time: kept with the order's row so its fill gets its twin after a restart too."""

    price: float
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Fill:
    """A broker's report that (part of) an order executed."""

    client_order_id: str
    symbol: str
    side: OrderSide
    size: float
    price: float
    fee: float
    ts_ms: int
    price_source: str
    reduce_only: bool
    reason: str
    trigger_source: str | None = None
    """For a stop's fill: the price the stop triggered on (oracle, median, last, ...)."""
    paper: PaperTwin | None = None
    """A LIVE-SMALL fill's paper twin (None: not live, or no tick to compute it on)."""
    paper_missing: str | None = None
    """Why a LIVE-SMALL fill has no twin (no tick to compute it on); None otherwise."""

    @property
    def notional(self) -> float:
        return self.size * self.price
