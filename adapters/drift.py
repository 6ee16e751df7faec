"""LIVE-SMALL on Drift: a Broker and an oracle-price MarketFeed on driftpy 0.8.x.

What this module guarantees (DESIGN.md section 5, docs/drift.md):

- every exit is reduce-only; sizes are rounded *down* to the market's `amm.order_step_size`, an
  order below `amm.min_order_size` (or a partial close leaving such a remainder) is refused with
  a clear message and nothing is sent;
- every order carries a `user_order_id` (1..255) derived from the caller's `client_order_id` and
  kept for it, so a retry re-sends the *same* order; before any re-send the account is refreshed
  and, if the first send landed after all, nothing is sent again;
- a sent transaction is only "placed"; `confirm()` reads the refreshed user account and reports
  a fill only when the position or order state shows it;
- stops are reduce-only TriggerMarket orders (Below for a long, Above for a short), moved in
  place with `modify_order_by_user_id` (one instruction: never a moment without a stop) and
  cancelled by user_order_id.

driftpy costs ~2 s to import, so it is imported only inside functions; this module itself is
cheap to import. The broker talks to a `DriftClient` built by `build_drift_client` (polling
subscription over explicit market lists) or, in tests, by tests/fakes/drift_harness.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Protocol

from adapters.base import BrokerError
from adapters.drift_reconcile import VenueOrder, VenuePosition
from adapters.drift_wallet import Wallet
from cockpit.config import DriftConfig
from cockpit.domain import Candle, FeedState, FeedStatus, Fill, OrderRequest, OrderSide, Side, Tick

log = logging.getLogger(__name__)

VENUE = "drift"
PRICE_PRECISION = 10**6
QUOTE_PRECISION = 10**6
BASE_PRECISION = 10**9
MAX_USER_ORDER_ID = 255
"""Drift's user_order_id is a u8; 0 means "none", so the cockpit uses 1..255."""

Clock = Callable[[], int]
Sleep = Callable[[float], Awaitable[None]]


class CandleSource(Protocol):
    """Where the oracle feed gets bars (for the ATR): any MarketFeed's `candles` and `close`."""

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]: ...

    async def close(self) -> None: ...


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class OrderNotConfirmed(BrokerError):
    """Sent (or maybe sent) but the account does not show it yet: the order is "placed".

    The caller must keep its order row as placed and must not send a new order for the same
    intent: calling again with the same OrderRequest checks the account before re-sending.
    """

    def __init__(self, message: str, placed: PlacedOrder, cause: str = "") -> None:
        super().__init__(message)
        self.placed = placed
        self.cause = cause or message
        """The venue's or the RPC's own words, short enough for a table's note."""


class StopNotPlaced(BrokerError):
    """The on-chain stop could not be placed or moved: keep a software stop and retry."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or message


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """An order the broker sent (or tried to), with the account state it was sent against.

    Amounts are Drift integers: base in BASE_PRECISION, prices in PRICE_PRECISION. The
    `*_before` fields are the market's position when the order was built; a fill is read as the
    change from them.
    """

    client_order_id: str
    user_order_id: int
    symbol: str
    market_index: int
    side: OrderSide
    base_amount: int
    reduce_only: bool
    kind: str
    reason: str
    sent_ms: int
    base_before: int = 0
    quote_before: int = 0
    trigger_price: int | None = None
    tx_sig: str | None = None


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What the account says about a placed order: still `placed`, `open` (resting on the
    book), or `filled` (with the Fill the position change implies)."""

    placed: PlacedOrder
    status: str
    fill: Fill | None = None


# ----------------------------------------------------------------------------- small helpers


def variant(value: Any) -> str:
    """The name of a driftpy/anchorpy enum variant (``Open``, ``TriggerMarket``, ``Long``).

    Accounts decoded by anchorpy and driftpy's own types are different classes with the same
    variant names, so comparisons go by name (as driftpy's `is_variant` does).
    """
    return type(value).__name__


def to_base(size: float) -> Decimal:
    return Decimal(repr(size)) * BASE_PRECISION


def base_to_float(amount: int) -> float:
    return amount / BASE_PRECISION


def price_to_float(amount: int) -> float:
    return amount / PRICE_PRECISION


def floor_to_step(amount: Decimal, step: int) -> int:
    """Round a base amount down to a multiple of the market's order step (never up)."""
    if step <= 0:
        return int(amount.to_integral_value(ROUND_FLOOR))
    return int((amount / step).to_integral_value(ROUND_FLOOR)) * step


def trigger_to_int(price: float, side: Side, tick: int) -> int:
    """A stop price in PRICE_PRECISION, on the market's tick, rounded toward the position:
    up for a long's stop, down for a short's, so rounding never loosens a stop."""
    raw = Decimal(repr(price)) * PRICE_PRECISION
    tick = max(tick, 1)
    rounding = ROUND_CEILING if side is Side.LONG else ROUND_FLOOR
    return int((raw / tick).to_integral_value(rounding)) * tick


def describe_error(exc: BaseException) -> str:
    """A short, single-line description of an RPC/driftpy error for logs and the feed status."""
    text = " ".join(str(exc).split())
    if len(text) > 240:
        text = text[:240] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_rate_limit(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "429" in text or "too many requests" in text or "rate limit" in text


# ----------------------------------------------------------------------------- building a client


def build_drift_client(config: DriftConfig, wallet: Wallet) -> Any:
    """A DriftClient with a polling subscription over exactly the configured markets.

    Explicit market and oracle lists mean driftpy never calls getProgramAccounts (which public
    RPCs refuse or rate-limit). Nothing is fetched here; call `connect_broker` (or
    `await client.subscribe()`) to load the accounts.
    """
    from driftpy.account_subscription_config import AccountSubscriptionConfig
    from driftpy.accounts.bulk_account_loader import BulkAccountLoader
    from driftpy.constants.perp_markets import (
        devnet_perp_market_configs,
        mainnet_perp_market_configs,
    )
    from driftpy.constants.spot_markets import (
        devnet_spot_market_configs,
        mainnet_spot_market_configs,
    )
    from driftpy.drift_client import DriftClient
    from driftpy.types import OracleInfo
    from solana.rpc.async_api import AsyncClient
    from solana.rpc.commitment import Confirmed

    mainnet = config.env == "mainnet"
    perp_configs = mainnet_perp_market_configs if mainnet else devnet_perp_market_configs
    spot_configs = mainnet_spot_market_configs if mainnet else devnet_spot_market_configs
    indexes = sorted(set(config.markets.values()))
    by_index = {c.market_index: c for c in perp_configs}
    missing = [i for i in indexes if i not in by_index]
    if missing:
        raise BrokerError(f"driftpy knows no {config.env} perp market with index {missing}")
    quote = next(c for c in spot_configs if c.market_index == 0)
    oracles = [OracleInfo(by_index[i].oracle, by_index[i].oracle_source) for i in indexes]
    oracles.append(OracleInfo(quote.oracle, quote.oracle_source))

    connection = AsyncClient(config.rpc_url, commitment=Confirmed)
    loader = BulkAccountLoader(connection, Confirmed, config.poll_interval_s)
    return DriftClient(
        connection,
        wallet.keypair(),
        env=config.env,  # type: ignore[arg-type]
        account_subscription=AccountSubscriptionConfig("polling", loader, Confirmed),
        perp_market_indexes=indexes,
        spot_market_indexes=[0],
        oracle_infos=oracles,
        active_sub_account_id=config.sub_account_id,
        sub_account_ids=[config.sub_account_id],
    )


async def connect_broker(config: DriftConfig, wallet: Wallet) -> DriftBroker:
    """Build the client, load the accounts and the lookup tables once, return the broker."""
    broker = DriftBroker.unconnected(config, wallet)
    await broker.connect()
    return broker


# ----------------------------------------------------------------------------- the broker


class DriftBroker:
    """Orders on Drift perps for one wallet and sub-account. See the module docstring."""

    def __init__(
        self,
        client: Any,
        config: DriftConfig,
        *,
        lookup_tables: list[Any] | None = None,
        clock: Clock = wall_clock_ms,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self._config = config
        self._tables = [] if lookup_tables is None else lookup_tables
        self._clock = clock
        self._sleep = sleep
        self._symbols = {index: symbol for symbol, index in config.markets.items()}
        self._user_order_ids: dict[str, int] = {}
        self._placed: dict[str, PlacedOrder] = {}
        self._fills: dict[str, Fill] = {}
        self._stops: dict[int, PlacedOrder] = {}
        self._lock = asyncio.Lock()
        self._wallet_short: str | None = None
        self._connected = True

    @classmethod
    def unconnected(cls, config: DriftConfig, wallet: Wallet) -> DriftBroker:
        """A broker on a fresh client that has fetched nothing yet (no network here): the
        session calls `connect()` when it starts, so the CLI can build it before the UI runs."""
        broker = cls(build_drift_client(config, wallet), config)
        broker._connected = False
        broker._wallet_short = wallet.short
        return broker

    async def connect(self) -> None:
        """Load the market, oracle and user accounts and the lookup tables (once)."""
        if self._connected:
            return
        await self._client.subscribe()
        self._tables = list(await self._client.fetch_market_lookup_table_accounts())
        self._connected = True
        log.info(
            "drift: connected as %s, sub-account %d",
            self._wallet_short,
            self._config.sub_account_id,
        )

    # ------------------------------------------------------------------ identity and reads
    @property
    def venue(self) -> str:
        return VENUE

    @property
    def config(self) -> DriftConfig:
        return self._config

    @property
    def client(self) -> Any:
        """The DriftClient, for the oracle feed that shares its market subscription."""
        return self._client

    def market_index(self, symbol: str) -> int:
        index = self._config.markets.get(symbol)
        if index is None:
            raise BrokerError(
                f"{symbol} is not a configured Drift market (drift.markets: "
                f"{', '.join(sorted(self._config.markets))})"
            )
        return index

    def symbol_of(self, market_index: int) -> str:
        return self._symbols.get(market_index, f"perp#{market_index}")

    def _market(self, index: int) -> Any:
        market = self._client.get_perp_market_account(index)
        if market is None:
            raise BrokerError(f"no data for Drift perp market {index} yet")
        return market

    def _user(self) -> Any:
        return self._client.get_user_account(self._config.sub_account_id)

    def oracle_price(self, symbol: str) -> float | None:
        """The market's oracle price (what Drift triggers stops on), None if unknown."""
        data = self._client.get_oracle_price_data_for_perp_market(self.market_index(symbol))
        if data is None or not data.price:
            return None
        return price_to_float(int(data.price))

    def order_step(self, symbol: str) -> float:
        return base_to_float(int(self._market(self.market_index(symbol)).amm.order_step_size))

    def min_order_size(self, symbol: str) -> float:
        return base_to_float(int(self._market(self.market_index(symbol)).amm.min_order_size))

    def _position(self, index: int, user: Any | None = None) -> tuple[int, int, int]:
        """(signed base, quote_asset_amount, quote_entry_amount) of the market's position."""
        account = self._user() if user is None else user
        for pos in account.perp_positions:
            if pos.market_index == index and (
                pos.base_asset_amount or pos.quote_asset_amount or pos.open_orders
            ):
                return (
                    int(pos.base_asset_amount),
                    int(pos.quote_asset_amount),
                    int(pos.quote_entry_amount),
                )
        return 0, 0, 0

    def _open_orders_raw(self, user: Any | None = None) -> list[Any]:
        account = self._user() if user is None else user
        return [o for o in account.orders if variant(o.status) == "Open"]

    def _find_open(self, user_order_id: int, user: Any | None = None) -> Any | None:
        for order in self._open_orders_raw(user):
            if int(order.user_order_id) == user_order_id:
                return order
        return None

    def positions(self) -> list[VenuePosition]:
        """Open perp positions of the sub-account (every market, not only configured ones)."""
        out: list[VenuePosition] = []
        for pos in self._user().perp_positions:
            base = int(pos.base_asset_amount)
            if base == 0:
                continue
            size = base_to_float(abs(base))
            entry = abs(int(pos.quote_entry_amount)) / QUOTE_PRECISION / size
            side = Side.LONG if base > 0 else Side.SHORT
            out.append(VenuePosition(self.symbol_of(int(pos.market_index)), side, size, entry))
        return out

    def open_orders(self) -> list[VenueOrder]:
        """Open perp orders; trigger-market orders are reported as kind ``stop``."""
        out: list[VenueOrder] = []
        for order in self._open_orders_raw():
            if variant(order.market_type) != "Perp":
                continue
            kind = {"TriggerMarket": "stop", "Market": "market"}.get(
                variant(order.order_type), "other"
            )
            trigger = int(order.trigger_price)
            out.append(
                VenueOrder(
                    symbol=self.symbol_of(int(order.market_index)),
                    user_order_id=int(order.user_order_id),
                    order_id=int(order.order_id),
                    side=OrderSide.BUY if variant(order.direction) == "Long" else OrderSide.SELL,
                    kind=kind,
                    size=base_to_float(
                        int(order.base_asset_amount) - int(order.base_asset_amount_filled)
                    ),
                    reduce_only=bool(order.reduce_only),
                    trigger_price=price_to_float(trigger) if trigger else None,
                )
            )
        return out

    async def refresh(self) -> None:
        """Re-read the user account from the RPC (the markets and oracles poll on their own)."""
        user = self._client.get_user(self._config.sub_account_id)
        await user.account_subscriber.fetch()

    # ------------------------------------------------------------------ user order ids
    def user_order_id(self, client_order_id: str) -> int:
        """The user_order_id of `client_order_id`: the same one on every retry.

        A new id starts at a hash of the client id (so a restart tends to pick the same one)
        and skips ids held by open orders or by this session's unfinished orders.
        """
        known = self._user_order_ids.get(client_order_id)
        if known is not None:
            return known
        busy = {int(o.user_order_id) for o in self._open_orders_raw()}
        busy |= {p.user_order_id for cid, p in self._placed.items() if cid not in self._fills}
        busy |= set(self._stops)
        start = zlib.crc32(client_order_id.encode()) % MAX_USER_ORDER_ID
        for step in range(MAX_USER_ORDER_ID):
            candidate = (start + step) % MAX_USER_ORDER_ID + 1
            if candidate not in busy:
                self._user_order_ids[client_order_id] = candidate
                return candidate
        raise BrokerError("all 255 Drift user order ids are in use; cancel some orders first")

    def assign_user_order_id(self, client_order_id: str, user_order_id: int) -> None:
        """Restore the id an order was sent with (from its database row) after a restart."""
        if not 1 <= user_order_id <= MAX_USER_ORDER_ID:
            raise BrokerError(f"user_order_id must be 1..255, got {user_order_id}")
        self._user_order_ids[client_order_id] = user_order_id

    # ------------------------------------------------------------------ sizes
    def open_amount(self, order: OrderRequest) -> int:
        """The base amount of an opening order: rounded down to the step, at least the minimum."""
        index = self.market_index(order.symbol)
        amm = self._market(index).amm
        if not (order.size > 0):
            raise BrokerError(f"order {order.client_order_id}: size must be positive")
        amount = floor_to_step(to_base(order.size), int(amm.order_step_size))
        minimum = int(amm.min_order_size)
        if amount < minimum or amount <= 0:
            raise BrokerError(
                f"order {order.client_order_id}: {order.size:g} {order.symbol} is below Drift's "
                f"minimum order size {base_to_float(minimum):g} (after rounding down to the "
                f"order step {base_to_float(int(amm.order_step_size)):g})"
            )
        return amount

    def close_amount(self, order: OrderRequest) -> int:
        """The base amount of a reduce-only close, or a refusal with the reason.

        A size at (or within one step of) the whole position closes all of it; otherwise it is
        rounded down to the step, and a remainder below the market's minimum order size is
        refused, because that crumb could never be closed with a later order.
        """
        index = self.market_index(order.symbol)
        amm = self._market(index).amm
        step, minimum = int(amm.order_step_size), int(amm.min_order_size)
        base, _, _ = self._position(index)
        held = abs(base)
        if base == 0:
            raise BrokerError(
                f"order {order.client_order_id}: no {order.symbol} position on Drift to reduce"
            )
        closing = OrderSide.SELL if base > 0 else OrderSide.BUY
        if order.side is not closing:
            raise BrokerError(
                f"order {order.client_order_id}: reduce-only {order.side.value} would add to the "
                f"{'long' if base > 0 else 'short'} {base_to_float(held):g} {order.symbol}"
            )
        wanted = to_base(order.size)
        if wanted >= held - step / 2:
            return held
        amount = floor_to_step(wanted, step)
        remainder = held - amount
        if amount < minimum or amount <= 0:
            raise BrokerError(
                f"order {order.client_order_id}: closing {order.size:g} {order.symbol} is below "
                f"Drift's minimum order size {base_to_float(minimum):g}"
            )
        if 0 < remainder < minimum:
            raise BrokerError(
                f"order {order.client_order_id}: closing {base_to_float(amount):g} of "
                f"{base_to_float(held):g} {order.symbol} would leave {base_to_float(remainder):g},"
                f" below Drift's minimum order size {base_to_float(minimum):g}; close all of it "
                f"or leave at least {base_to_float(minimum):g}"
            )
        return amount

    # ------------------------------------------------------------------ market orders
    async def open(self, order: OrderRequest) -> Fill:
        """A risk-increasing market order (the risk gate has passed it); waits for the fill."""
        if order.reduce_only:
            raise BrokerError(
                f"order {order.client_order_id}: open() got a reduce-only order; "
                "exits go through close()"
            )
        placed = await self.submit(order)
        return await self.wait_filled(placed)

    async def close(self, order: OrderRequest) -> Fill:
        """A reduce-only market order (a TP, a manual close); waits for the fill."""
        if not order.reduce_only:
            raise BrokerError(
                f"order {order.client_order_id}: close() needs reduce_only=True "
                "(an exit must never open or flip a position)"
            )
        placed = await self.submit(order)
        return await self.wait_filled(placed)

    async def submit(self, order: OrderRequest) -> PlacedOrder:
        """Send a market order once; a second call with the same client_order_id resumes it.

        Returns the placed order (not a fill). Raises BrokerError for a refusal (nothing sent)
        and OrderNotConfirmed when every attempt failed: the order may still land.
        """
        async with self._lock:
            previous = self._placed.get(order.client_order_id)
            if previous is not None:
                await self._refresh_quietly()
                if self._landed(previous):
                    return previous
                placed = previous
            else:
                placed = self._new_market_order(order)
                self._placed[order.client_order_id] = placed
            return await self._send(placed, self._market_ix)

    def _new_market_order(self, order: OrderRequest) -> PlacedOrder:
        index = self.market_index(order.symbol)
        amount = self.close_amount(order) if order.reduce_only else self.open_amount(order)
        base, quote, _ = self._position(index)
        return PlacedOrder(
            client_order_id=order.client_order_id,
            user_order_id=self.user_order_id(order.client_order_id),
            symbol=order.symbol,
            market_index=index,
            side=order.side,
            base_amount=amount,
            reduce_only=order.reduce_only,
            kind="market",
            reason=order.reason,
            sent_ms=self._clock(),
            base_before=base,
            quote_before=quote,
        )

    def _market_ix(self, placed: PlacedOrder) -> Any:
        from driftpy.types import MarketType, OrderParams, OrderType, PositionDirection

        params = OrderParams(
            order_type=OrderType.Market(),
            market_type=MarketType.Perp(),
            direction=(
                PositionDirection.Long()
                if placed.side is OrderSide.BUY
                else PositionDirection.Short()
            ),
            base_asset_amount=placed.base_amount,
            market_index=placed.market_index,
            user_order_id=placed.user_order_id,
            reduce_only=placed.reduce_only,
        )
        return self._client.get_place_perp_order_ix(params, self._config.sub_account_id)

    async def wait_filled(self, placed: PlacedOrder, timeout_s: float | None = None) -> Fill:
        """Poll the account until it shows the fill; OrderNotConfirmed after the timeout."""
        cached = self._fills.get(placed.client_order_id)
        if cached is not None:
            return cached
        limit = self._config.confirm_timeout_s if timeout_s is None else timeout_s
        deadline = self._clock() + limit * 1000
        while True:
            await self._refresh_quietly()
            confirmation = self.confirm(placed)
            if confirmation.fill is not None:
                return confirmation.fill
            if self._clock() >= deadline:
                raise OrderNotConfirmed(
                    f"order {placed.client_order_id} (user_order_id {placed.user_order_id}) was "
                    f"sent but Drift shows no fill after {limit:g} s: it stays placed",
                    placed,
                )
            await self._sleep(self._config.poll_interval_s)

    def confirm(self, placed: PlacedOrder, user: Any | None = None) -> Confirmation:
        """What the (refreshed) user account says about a placed market order.

        Filled means: the order no longer rests on the book and the position moved in the
        order's direction. The fill price is read from the change of the position's quote
        amount, which includes the fee; the fee is split out with `drift.taker_fee_bps`.
        """
        cached = self._fills.get(placed.client_order_id)
        if cached is not None:
            return Confirmation(placed, "filled", cached)
        account = self._user() if user is None else user
        if self._find_open(placed.user_order_id, account) is not None:
            return Confirmation(placed, "open")
        base, quote, _ = self._position(placed.market_index, account)
        sign = 1 if placed.side is OrderSide.BUY else -1
        moved = (base - placed.base_before) * sign
        if moved <= 0:
            return Confirmation(placed, "placed")
        fill = self._fill_from_delta(
            client_order_id=placed.client_order_id,
            symbol=placed.symbol,
            side=placed.side,
            base_moved=min(moved, placed.base_amount),
            quote_delta=quote - placed.quote_before,
            reduce_only=placed.reduce_only,
            reason=placed.reason,
            price_source="drift_account",
        )
        self._fills[placed.client_order_id] = fill
        return Confirmation(placed, "filled", fill)

    def _fill_from_delta(
        self,
        *,
        client_order_id: str,
        symbol: str,
        side: OrderSide,
        base_moved: int,
        quote_delta: int,
        reduce_only: bool,
        reason: str,
        price_source: str,
    ) -> Fill:
        """A fill read from how the account changed: `base_moved` (> 0) in the order's
        direction and the position's quote change, which includes the fee (a buy pays
        notional + fee, a sell receives notional - fee); the fee is split out with
        `drift.taker_fee_bps`."""
        size = base_to_float(base_moved)
        fee_rate = self._config.taker_fee_bps / 1e4
        delta = quote_delta / QUOTE_PRECISION
        buy = side is OrderSide.BUY
        notional = -delta / (1 + fee_rate) if buy else delta / (1 - fee_rate)
        return Fill(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            size=size,
            price=abs(notional) / size,
            fee=abs(notional) * fee_rate,
            ts_ms=self._clock(),
            price_source=price_source,
            reduce_only=reduce_only,
            reason=reason,
        )

    # ------------------------------------------------------------------ the account as it stands
    def account_position(self, symbol: str) -> tuple[int, int]:
        """(signed base, quote amount) of `symbol`'s position as last refreshed: the mark a
        later `reduction_fill` measures from."""
        base, quote, _ = self._position(self.market_index(symbol))
        return base, quote

    def reduction_fill(
        self, symbol: str, before: tuple[int, int], *, client_order_id: str, reason: str
    ) -> Fill | None:
        """The fill implied by the position having shrunk since `before` without an order of
        this session's (an on-chain stop that triggered, or a close outside the cockpit).

        None when the position did not shrink. A flip (the sign changed) is not a reduction: it
        is reported as None here and shows up as a side mismatch.
        """
        base_before, quote_before = before
        base, quote = self.account_position(symbol)
        if base_before == 0 or (base != 0 and (base > 0) != (base_before > 0)):
            return None
        reduced = abs(base_before) - abs(base)
        if reduced <= 0:
            return None
        side = OrderSide.SELL if base_before > 0 else OrderSide.BUY
        return self._fill_from_delta(
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            base_moved=reduced,
            quote_delta=quote - quote_before,
            reduce_only=True,
            reason=reason,
            price_source="drift_account",
        )

    def stop_resting(self, user_order_id: int) -> bool:
        """True if an order with this user_order_id rests on the account (as last refreshed)."""
        return self._find_open(user_order_id) is not None

    def trigger_price_of(self, placed: PlacedOrder) -> float | None:
        """The trigger a placed stop was sent with, as a price (tick-rounded toward the
        position, so it can differ from the price asked for by less than one tick)."""
        return None if placed.trigger_price is None else price_to_float(placed.trigger_price)

    async def close_client(self) -> None:
        """Stop the account polling and close the RPC connection (the session is ending)."""
        try:
            await self._client.unsubscribe()
        except Exception as exc:  # shutting down: say so, never raise
            log.warning("drift: unsubscribing failed: %s", describe_error(exc))
        connection = getattr(self._client, "connection", None)
        if connection is not None:
            try:
                await connection.close()
            except Exception as exc:
                log.warning("drift: closing the RPC connection failed: %s", describe_error(exc))

    def confirmations(self, user: Any | None = None) -> list[Confirmation]:
        """Every market order this broker placed and has not yet seen filled, as of `user`."""
        return [
            self.confirm(p, user)
            for cid, p in self._placed.items()
            if p.kind == "market" and cid not in self._fills
        ]

    # ------------------------------------------------------------------ stops
    async def place_stop(
        self,
        client_order_id: str,
        symbol: str,
        position_side: Side,
        stop_price: float,
        size: float | None = None,
    ) -> PlacedOrder:
        """A reduce-only TriggerMarket stop for the position (its whole size unless given).

        Raises StopNotPlaced when it cannot be placed: the caller keeps a software stop.
        """
        async with self._lock:
            index = self.market_index(symbol)
            market = self._market(index)
            base, _, _ = self._position(index)
            if base == 0 or (base > 0) != (position_side is Side.LONG):
                raise StopNotPlaced(
                    f"stop {client_order_id}: no {position_side.value} {symbol} position on "
                    "Drift to protect"
                )
            amount = abs(base)
            if size is not None:
                amount = min(amount, floor_to_step(to_base(size), int(market.amm.order_step_size)))
            trigger = trigger_to_int(stop_price, position_side, int(market.amm.order_tick_size))
            self._check_trigger(symbol, position_side, trigger)
            uoid = self.user_order_id(client_order_id)
            placed = self._stops.get(uoid)
            if placed is None or placed.client_order_id != client_order_id:
                placed = PlacedOrder(
                    client_order_id=client_order_id,
                    user_order_id=uoid,
                    symbol=symbol,
                    market_index=index,
                    side=position_side.closing_order_side,
                    base_amount=amount,
                    reduce_only=True,
                    kind="stop",
                    reason="stop",
                    sent_ms=self._clock(),
                    trigger_price=trigger,
                )
                self._stops[uoid] = placed
            else:  # a retry of the same stop: at the levels asked for now
                placed = replace(placed, trigger_price=trigger, base_amount=amount)
                self._stops[uoid] = placed
                if self._landed(placed):
                    return placed
            try:
                return await self._send(placed, self._stop_ix)
            except OrderNotConfirmed as exc:
                raise StopNotPlaced(
                    f"stop {client_order_id} not on chain: {exc}", cause=exc.cause
                ) from None

    def _check_trigger(self, symbol: str, side: Side, trigger: int) -> None:
        oracle = self.oracle_price(symbol)
        if oracle is None:
            return
        price = price_to_float(trigger)
        if (side is Side.LONG and price >= oracle) or (side is Side.SHORT and price <= oracle):
            raise StopNotPlaced(
                f"stop {price:g} for the {side.value} {symbol} is through the oracle price "
                f"{oracle:g}: it would trigger at once"
            )

    def _stop_ix(self, placed: PlacedOrder) -> Any:
        from driftpy.types import (
            MarketType,
            OrderParams,
            OrderTriggerCondition,
            OrderType,
            PositionDirection,
        )

        long_stop = placed.side is OrderSide.SELL
        params = OrderParams(
            order_type=OrderType.TriggerMarket(),
            market_type=MarketType.Perp(),
            direction=(PositionDirection.Short() if long_stop else PositionDirection.Long()),
            base_asset_amount=placed.base_amount,
            market_index=placed.market_index,
            user_order_id=placed.user_order_id,
            reduce_only=True,
            trigger_price=placed.trigger_price,
            trigger_condition=(
                OrderTriggerCondition.Below() if long_stop else OrderTriggerCondition.Above()
            ),
        )
        return self._client.get_place_perp_order_ix(params, self._config.sub_account_id)

    async def modify_stop(self, user_order_id: int, stop_price: float) -> PlacedOrder:
        """Move a stop in place (one instruction: the old trigger stands until the new one does).

        Raises StopNotPlaced if the move could not be confirmed: the old stop may still stand,
        so the caller keeps its software stop at the new level meanwhile.
        """
        async with self._lock:
            current = self._stops.get(user_order_id)
            if current is None:
                raise StopNotPlaced(f"no stop with user_order_id {user_order_id} is known")
            side = Side.LONG if current.side is OrderSide.SELL else Side.SHORT
            tick = int(self._market(current.market_index).amm.order_tick_size)
            trigger = trigger_to_int(stop_price, side, tick)
            self._check_trigger(current.symbol, side, trigger)
            moved = replace(current, trigger_price=trigger, sent_ms=self._clock())
            self._stops[user_order_id] = moved
            try:
                return await self._send(moved, self._modify_ix)
            except OrderNotConfirmed as exc:
                raise StopNotPlaced(
                    f"stop {user_order_id} not moved on chain: {exc}", cause=exc.cause
                ) from None

    def _modify_ix(self, placed: PlacedOrder) -> Any:
        from driftpy.types import ModifyOrderParams

        params = ModifyOrderParams(trigger_price=placed.trigger_price)
        return self._client.get_modify_order_by_user_id_ix(
            placed.user_order_id, params, self._config.sub_account_id
        )

    async def cancel_stop(self, user_order_id: int) -> None:
        """Cancel a resting order by user_order_id: a stop whose position closed, or a market
        order that rested unfilled too long. An order already gone is not an error."""
        async with self._lock:
            await self._refresh_quietly()
            current = self._stops.get(user_order_id)
            if self._find_open(user_order_id) is None:
                self._stops.pop(user_order_id, None)
                return
            gone = PlacedOrder(
                client_order_id=current.client_order_id if current else f"cancel-{user_order_id}",
                user_order_id=user_order_id,
                symbol=current.symbol if current else "",
                market_index=current.market_index if current else 0,
                side=current.side if current else OrderSide.SELL,
                base_amount=0,
                reduce_only=True,
                kind="cancel",
                reason="cancel",
                sent_ms=self._clock(),
            )
            await self._send(gone, self._cancel_ix)
            self._stops.pop(user_order_id, None)

    def _cancel_ix(self, placed: PlacedOrder) -> Any:
        return self._client.get_cancel_order_by_user_id_ix(
            placed.user_order_id, self._config.sub_account_id
        )

    def adopt_stop(self, client_order_id: str, order: VenueOrder) -> None:
        """Take over a stop found on the venue at start (reconcile), so it can be moved."""
        index = self.market_index(order.symbol)
        self._user_order_ids[client_order_id] = order.user_order_id
        self._stops[order.user_order_id] = PlacedOrder(
            client_order_id=client_order_id,
            user_order_id=order.user_order_id,
            symbol=order.symbol,
            market_index=index,
            side=order.side,
            base_amount=int(to_base(order.size)),
            reduce_only=order.reduce_only,
            kind="stop",
            reason="stop",
            sent_ms=self._clock(),
            trigger_price=(
                None
                if order.trigger_price is None
                else round(order.trigger_price * PRICE_PRECISION)
            ),
        )

    def stop_on_chain(self, user_order_id: int) -> bool:
        """True if the account (as last refreshed) holds the stop at its intended trigger."""
        placed = self._stops.get(user_order_id)
        return placed is not None and self._landed(placed)

    # ------------------------------------------------------------------ sending
    def _landed(self, placed: PlacedOrder) -> bool:
        """Whether the account shows this order's effect (so re-sending would duplicate it)."""
        order = self._find_open(placed.user_order_id)
        if placed.kind == "cancel":
            return order is None
        if placed.kind == "stop":
            return order is not None and int(order.trigger_price) == placed.trigger_price
        if order is not None:
            return True
        base, _, _ = self._position(placed.market_index)
        sign = 1 if placed.side is OrderSide.BUY else -1
        return (base - placed.base_before) * sign > 0

    async def _send(self, placed: PlacedOrder, build: Callable[[PlacedOrder], Any]) -> PlacedOrder:
        """Send one instruction; on an error refresh, and re-send (same user_order_id) only if
        the account does not show that the earlier attempt landed."""
        last_error = ""
        for attempt in range(self._config.max_retries + 1):
            if attempt:
                await self._sleep(self._backoff(attempt))
                await self._refresh_quietly()
                if self._landed(placed):
                    log.info(
                        "drift: %s %s (user_order_id %d) had landed; not re-sent",
                        placed.kind,
                        placed.client_order_id,
                        placed.user_order_id,
                    )
                    return placed
            try:
                ix = build(placed)
                result = await self._client.send_ixs([ix], lookup_tables=self._tables)
            except BrokerError:
                raise
            except Exception as exc:  # RPC, timeouts, program errors: all retried the same way
                last_error = describe_error(exc)
                log.warning(
                    "drift: sending %s %s (user_order_id %d) failed (attempt %d): %s",
                    placed.kind,
                    placed.client_order_id,
                    placed.user_order_id,
                    attempt + 1,
                    last_error,
                )
                continue
            self._client.last_perp_market_seen_cache[placed.market_index] = result.slot
            sent = replace(placed, tx_sig=str(result.tx_sig))
            self._remember(sent)
            await self._refresh_quietly()  # so open_orders()/stop_on_chain() see it
            return sent
        raise OrderNotConfirmed(
            f"{placed.kind} {placed.client_order_id} (user_order_id {placed.user_order_id}) "
            f"not confirmed after {self._config.max_retries + 1} attempts: {last_error}",
            placed,
            cause=f"{self._config.max_retries + 1} attempts failed, last: {last_error}",
        )

    def _remember(self, placed: PlacedOrder) -> None:
        if placed.kind == "market":
            self._placed[placed.client_order_id] = placed
        elif placed.kind == "stop":
            self._stops[placed.user_order_id] = placed

    def _backoff(self, attempt: int) -> float:
        return float(
            min(self._config.backoff_max_s, self._config.backoff_initial_s * 2 ** (attempt - 1))
        )

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # a failed refresh leaves the last known account
            log.warning("drift: refreshing the user account failed: %s", describe_error(exc))


# ----------------------------------------------------------------------------- the oracle feed


class DriftOracleFeed:
    """Ticks from the oracle price of the configured perp markets (what Drift triggers on).

    Each poll re-reads the market and oracle accounts; an RPC error or rate limit backs off
    (shown as reconnecting, then down) and the loop keeps going: it never raises into the
    session. Drift serves no candles through driftpy: `candles` asks `candle_source` (another
    MarketFeed, e.g. an exchange's REST history of the same asset, `drift.candle_symbols`
    naming its symbol) and relabels its bars with the Drift symbol; without one it returns an
    empty list, and the ATR policies then refuse an entry with "no ATR yet".
    """

    def __init__(
        self,
        client: Any,
        config: DriftConfig,
        *,
        clock: Clock = wall_clock_ms,
        sleep: Sleep = asyncio.sleep,
        candle_source: CandleSource | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._candle_source = candle_source
        self._closed = False
        self._failures = 0
        self._last_ok_ms: int | None = None
        self._detail = "not polled yet"

    @property
    def stale_after_s(self) -> float:
        return self._config.stale_after_s

    @property
    def status(self) -> FeedStatus:
        if self._closed:
            return FeedStatus(FeedState.DOWN, "closed")
        if self._last_ok_ms is None:
            state = FeedState.DOWN if self._failures >= 3 else FeedState.RECONNECTING
            return FeedStatus(state, self._detail)
        age = (self._clock() - self._last_ok_ms) / 1000
        if self._failures >= 3:
            return FeedStatus(FeedState.DOWN, self._detail, age)
        if self._failures or age > self._config.stale_after_s:
            return FeedStatus(FeedState.STALE, self._detail, age)
        return FeedStatus(FeedState.CONNECTED, "drift oracle", age)

    async def ticks(self, symbol: str) -> AsyncIterator[Tick]:
        index = self._config.markets.get(symbol)
        if index is None:
            raise BrokerError(f"{symbol} is not a configured Drift market")
        last_slot: int | None = None
        while not self._closed:
            try:
                await self._client.account_subscriber.fetch()
            except Exception as exc:  # RPC error or rate limit: back off, keep polling
                self._failures += 1
                kind = "rate limited" if is_rate_limit(exc) else "rpc error"
                self._detail = f"{kind}: {describe_error(exc)}"
                delay = min(
                    self._config.backoff_max_s,
                    self._config.backoff_initial_s * 2 ** (self._failures - 1),
                )
                await self._sleep(delay)
                continue
            self._failures = 0
            data = self._client.get_oracle_price_data_for_perp_market(index)
            if data is not None and data.price and data.slot != last_slot:
                last_slot = int(data.slot)
                now = self._clock()
                self._last_ok_ms = now
                yield Tick(symbol, now, price_to_float(int(data.price)), source="oracle")
            await self._sleep(self._config.poll_interval_s)

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 500
    ) -> list[Candle]:
        source = self._candle_source
        if source is None:
            return []
        theirs = self._config.candle_symbols.get(symbol, symbol)
        bars = await source.candles(theirs, timeframe, since_ms, limit)
        return [replace(bar, symbol=symbol) for bar in bars]

    async def close(self) -> None:
        self._closed = True
        if self._candle_source is not None:
            await self._candle_source.close()
