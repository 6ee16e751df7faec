"""SQLAlchemy 2 declarative models: the schema every migration must arrive at.

Portable on purpose (SQLite today, PostgreSQL tomorrow): only generic types, explicit string
lengths, epoch-millisecond BigInteger timestamps instead of DATETIME (no time-zone surprises), and
a naming convention so every index and constraint has the same name on every backend, which is
what lets Alembic migrations address them by name. Prices and sizes are Float, the project's
convention for market values.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Signal features stored with trades and signals, by kind. The store validates a caller's
# feature dict against these names, so a typo is an error instead of a silently lost column.
NUMERIC_FEATURES: Final[tuple[str, ...]] = (
    "quality_score",
    "atr",
    "adx",
    "rsi",
    "volume_ratio",
    "price_position",
    "confidence",
)
TEXT_FEATURES: Final[tuple[str, ...]] = ("regime", "strategy", "timeframe", "ab_group")
FEATURE_COLUMNS: Final[tuple[str, ...]] = NUMERIC_FEATURES + TEXT_FEATURES

DEFAULT_ACCOUNT: Final = "default"
"""The account of a cockpit that names none, and of every row written before accounts existed
(migration 0013), so a single trader's journal carries on unchanged."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SignalFeatures:
    """The entry signal's features, shared by `trades` and `signals` so the two always agree.

    All nullable: a manual entry has no signal, and older signal sources lack some features.
    """

    quality_score: Mapped[float | None] = mapped_column(Float)
    atr: Mapped[float | None] = mapped_column(Float)
    adx: Mapped[float | None] = mapped_column(Float)
    rsi: Mapped[float | None] = mapped_column(Float)
    volume_ratio: Mapped[float | None] = mapped_column(Float)
    price_position: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    regime: Mapped[str | None] = mapped_column(String(32))
    strategy: Mapped[str | None] = mapped_column(String(64))
    timeframe: Mapped[str | None] = mapped_column(String(16))
    ab_group: Mapped[str | None] = mapped_column(String(32))


class Trade(SignalFeatures, Base):
    """One position from entry to final exit: the frozen plan plus the latest live state.

    The live columns (size, stop, flags, extremes, P&L) mirror `PositionState` so an open
    position can be rebuilt exactly after a restart; the exit columns are filled on close.
    """

    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), index=True)
    side: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))
    venue: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8), index=True)
    entry_price: Mapped[float] = mapped_column(Float)
    entry_ts_ms: Mapped[int] = mapped_column(BigInteger)
    initial_size: Mapped[float] = mapped_column(Float)
    size: Mapped[float] = mapped_column(Float)
    leverage: Mapped[float] = mapped_column(Float)
    policy: Mapped[str] = mapped_column(String(32))
    plan_json: Mapped[str] = mapped_column(Text)
    stop_price: Mapped[float] = mapped_column(Float)
    stop_role: Mapped[str] = mapped_column(String(16))
    tp1_filled: Mapped[bool] = mapped_column(Boolean)
    tp2_filled: Mapped[bool] = mapped_column(Boolean)
    trailing_active: Mapped[bool] = mapped_column(Boolean)
    breakeven_done: Mapped[bool] = mapped_column(Boolean, server_default=false())
    profit_lock_done: Mapped[bool] = mapped_column(Boolean, server_default=false())
    trail_paused: Mapped[bool] = mapped_column(Boolean, server_default=false())
    trail_mult: Mapped[float | None] = mapped_column(Float)
    ambiguous_bars: Mapped[int] = mapped_column(Integer, server_default="0")
    peak: Mapped[float | None] = mapped_column(Float)
    mfe_pct: Mapped[float] = mapped_column(Float)
    mae_pct: Mapped[float] = mapped_column(Float)
    mfe_quote: Mapped[float] = mapped_column(Float)
    mae_quote: Mapped[float] = mapped_column(Float)
    last_price: Mapped[float | None] = mapped_column(Float)
    realized_pnl: Mapped[float] = mapped_column(Float)
    fees: Mapped[float] = mapped_column(Float)
    exit_price: Mapped[float | None] = mapped_column(Float)
    exit_ts_ms: Mapped[int | None] = mapped_column(BigInteger)
    exit_reason: Mapped[str | None] = mapped_column(String(64))
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)
    # The desk account the row belongs to (migration 0013): venue + sub-account ("drift:1") or
    # "paper:<name>"; stamped by the store on every new row (state.store, `account`).
    account: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_ACCOUNT)


class Order(Base):
    """Every order the cockpit meant to send, written *before* it is sent (the intent row)."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trades.id"), index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    size: Mapped[float] = mapped_column(Float)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(64))
    leverage: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(16))
    venue: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)
    # Venue handles (migration 0006): `market` or `stop` (reduce-only trigger order), Drift's
    # user_order_id (kept across retries and modifies), the stop's trigger last asked for, and
    # the last transaction signature.
    order_type: Mapped[str] = mapped_column(String(16), server_default="market")
    user_order_id: Mapped[int | None] = mapped_column(Integer)
    trigger_price: Mapped[float | None] = mapped_column(Float)
    tx_sig: Mapped[str | None] = mapped_column(String(128))
    # What must happen when the order fills (JSON, migration 0007), written with the intent row
    # so a restart can resume it. `status` follows cockpit.orders.TRANSITIONS (store-enforced).
    intent_json: Mapped[str | None] = mapped_column(Text)
    # A LIVE-SMALL order's paper price on the tick it was decided on, and that tick's time
    # (migration 0017): its fill's paper twin, even when the fill is reported after a restart.
    paper_price: Mapped[float | None] = mapped_column(Float)
    paper_ts_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The desk account the row belongs to (migration 0013): venue + sub-account ("drift:1") or
    # "paper:<name>"; stamped by the store on every new row (state.store, `account`).
    account: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_ACCOUNT)


class FillRow(Base):
    """One execution report; `price_source` says where its price was read, `trigger_source`
    (a stop's fill, migration 0009) what price the stop triggered on (oracle, median, last)."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    client_order_id: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    size: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    fee: Mapped[float] = mapped_column(Float)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    price_source: Mapped[str] = mapped_column(String(32))
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(64))
    trigger_source: Mapped[str | None] = mapped_column(String(32))
    # A LIVE-SMALL fill's paper twin (migration 0015): what the paper model would have filled
    # at on the same ticks (price, fee, the tick's time); NULL for paper fills and older rows.
    paper_price: Mapped[float | None] = mapped_column(Float)
    paper_fee: Mapped[float | None] = mapped_column(Float)
    paper_ts_ms: Mapped[int | None] = mapped_column(BigInteger)
    # Why a LIVE-SMALL fill has no twin (migration 0017), e.g. a stop filled with no tick
    # through it seen; NULL for a fill with a twin, paper fills and older rows.
    paper_missing: Mapped[str | None] = mapped_column(String(128))


class StopMove(Base):
    """Audit of every stop change, automatic or manual, with who and why."""

    __tablename__ = "stop_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id"), index=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    old_price: Mapped[float] = mapped_column(Float)
    new_price: Mapped[float] = mapped_column(Float)
    role: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(64))


class ModeChange(Base):
    """Audit of every SHADOW/LIVE-SMALL switch; `limits_json` freezes the limits in force."""

    __tablename__ = "mode_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    from_mode: Mapped[str] = mapped_column(String(16))
    to_mode: Mapped[str] = mapped_column(String(16))
    who: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    limits_json: Mapped[str | None] = mapped_column(Text)
    # The desk account the row belongs to (migration 0013): venue + sub-account ("drift:1") or
    # "paper:<name>"; stamped by the store on every new row (state.store, `account`).
    account: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_ACCOUNT)


class Signal(SignalFeatures, Base):
    """Every entry signal, accepted or not: rejected ones are what the decision gates learn from."""

    __tablename__ = "signals"
    # A sender's id is unique per account (0014): two accounts' cockpits may get the same alert.
    __table_args__ = (
        Index("ix_signals_account_external_id", "account", "external_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    accepted: Mapped[bool] = mapped_column(Boolean)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trades.id"))
    # From the webhook (0012): the sender's id (a replay is recognised, never entered twice),
    # where it came from, what it asked for, where it stands, and the body as received.
    external_id: Mapped[str | None] = mapped_column(String(128), index=True)
    source: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="stored")
    notional: Mapped[float | None] = mapped_column(Float)
    policy: Mapped[str | None] = mapped_column(String(32))
    payload_json: Mapped[str | None] = mapped_column(Text)
    decided_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The desk account (0014): the webhook reads and answers replays only within its own.
    account: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_ACCOUNT)


class CandleRow(Base):
    """OHLCV bars keyed by (symbol, timeframe, open time), so re-fetching a bar overwrites it."""

    __tablename__ = "candles"

    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(16), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32))


class AuditEvent(Base):
    """Who did what and why: mode changes, refusals, confirmations, manual actions (DESIGN 3)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    who: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    detail_json: Mapped[str | None] = mapped_column(Text)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trades.id"))
    # The desk account the row belongs to (migration 0013): venue + sub-account ("drift:1") or
    # "paper:<name>"; stamped by the store on every new row (state.store, `account`).
    account: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_ACCOUNT)


class Alert(Base):
    """Warnings and errors shown in the event log, kept so they outlive the session."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    # The alert rule that raised it (0012; NULL: an event log warning or error) and what became
    # of its delivery to Telegram (NULL: not sent there).
    rule: Mapped[str | None] = mapped_column(String(32))
    delivery: Mapped[str | None] = mapped_column(String(128))
    # The desk account whose cockpit raised it (0014); stamped like the others (state.accounts).
    account: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_ACCOUNT)


class PhaseRow(Base):
    """When a roadmap phase started (migration 0010): one row per phase, never moved."""

    __tablename__ = "phases"

    phase: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    started_at_ms: Mapped[int] = mapped_column(BigInteger)
    recorded_at_ms: Mapped[int] = mapped_column(BigInteger)
    who: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, server_default="")


class ReplayRunRow(Base):
    """One replay of a file (migration 0016): its own id, which trades are its own (ids above
    `after_trade_id`, up to the next run's), and what it came to once its data ended."""

    __tablename__ = "replay_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Stamped by the store like trades (state.accounts): a desk's replays stay apart.
    account: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_ACCOUNT)
    source: Mapped[str] = mapped_column(String(512))
    started_at_ms: Mapped[int] = mapped_column(BigInteger)
    after_trade_id: Mapped[int] = mapped_column(Integer)
    # running -> finished (its data ended) | stopped (the cockpit quit, or a new run began)
    status: Mapped[str] = mapped_column(String(16))
    data_end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    trades: Mapped[int | None] = mapped_column(Integer, nullable=True)
    net_pnl: Mapped[float | None] = mapped_column(Float, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)


class Counterfactual(Base):
    """The counterfactual ledger (migration 0011): what one exit policy (or the trade's own frozen
    plan, run without the trader's overrides) would have made on a closed trade's recorded path.

    One row per (trade, parameter set); `params_key` names the set's full parameters, so a
    changed config adds rows instead of overwriting history. `status`: `done` (exited on the
    path), `horizon` (still open when the ledger's horizon ended: closed there at the close),
    `path_ended` (the recorded candles ran out or broke off first: P&L unknown, never guessed),
    `no_path` (no candles at all after the entry) or `refused` (the policy would not have
    entered: no ATR, no baseline, a score below every tier). P&L is gross, in % of the entry
    notional, for the trade's own side and entry (cockpit.backtest.ledger)."""

    __tablename__ = "counterfactuals"
    __table_args__ = (UniqueConstraint("trade_id", "params_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id"), index=True)
    policy: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(128))
    params_key: Mapped[str] = mapped_column(String(32))
    params_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    pnl_pct: Mapped[float | None] = mapped_column(Float)
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    exit_ts_ms: Mapped[int | None] = mapped_column(BigInteger)
    exit_price: Mapped[float | None] = mapped_column(Float)
    ambiguous_bars: Mapped[int] = mapped_column(Integer)
    path_ended: Mapped[bool] = mapped_column(Boolean)
    fills_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, server_default="")
    computed_at_ms: Mapped[int] = mapped_column(BigInteger)


class LedgerPath(Base):
    """The recorded path a closed trade's ledger rows were run on (migration 0011), one row per
    trade: how many bars from the entry, the last one's open time (None: none recorded), and
    the entry's excursions after 5, 20 and 60 bars (price distances; None: the path is
    shorter), with the ATR at entry, for the e-ratio. `complete`: no newer candle can change
    its rows (the path reached its window's end, or the recorder was already past the window
    when it ran); an incomplete one is run again when its symbol has a newer bar."""

    __tablename__ = "ledger_paths"

    trade_id: Mapped[int] = mapped_column(
        ForeignKey("trades.id"), primary_key=True, autoincrement=False
    )
    bars: Mapped[int] = mapped_column(Integer)
    first_bar_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_bar_ms: Mapped[int | None] = mapped_column(BigInteger)
    complete: Mapped[bool] = mapped_column(Boolean)
    atr: Mapped[float | None] = mapped_column(Float)
    fav_5: Mapped[float | None] = mapped_column(Float)
    adv_5: Mapped[float | None] = mapped_column(Float)
    fav_20: Mapped[float | None] = mapped_column(Float)
    adv_20: Mapped[float | None] = mapped_column(Float)
    fav_60: Mapped[float | None] = mapped_column(Float)
    adv_60: Mapped[float | None] = mapped_column(Float)
    computed_at_ms: Mapped[int] = mapped_column(BigInteger)


class SettingRow(Base):
    """Small key/value state that must survive restarts (e.g. UI choices), per account (0014:
    the last price a demo saw on one account is not another's)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    account: Mapped[str] = mapped_column(
        String(64), primary_key=True, server_default=DEFAULT_ACCOUNT
    )
    value: Mapped[str] = mapped_column(Text)
