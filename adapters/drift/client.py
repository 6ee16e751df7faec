"""The broker's base: the sub-account as the DriftClient holds it, user order ids, and sending
instructions (sender.py) that never duplicate an order that landed. The client is built in
build.py.

driftpy is imported only inside functions (it costs ~2 s to import).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from adapters.backoff import Backoff
from adapters.base import BrokerError
from adapters.drift.errors import (
    OrderGone,
    OrderNotConfirmed,
    Refused,
    describe_error,
    is_gone,
)
from adapters.drift.fills import PositionMark
from adapters.drift.markets import MarketSubscription, perp_market_name
from adapters.drift.orders import PlacedOrder
from adapters.drift.reconcile import VenueOrder, VenuePosition
from adapters.drift.rpc_health import LoaderWatch, RpcBudget
from adapters.drift.sender import NotSent, Sender, SendExpired, TxFailed, program_errors
from adapters.drift.trigger import venue_trigger
from adapters.drift.units import (
    MAX_USER_ORDER_ID,
    QUOTE_PRECISION,
    VENUE,
    base_to_float,
    price_to_float,
    variant,
)
from cockpit.config import DriftConfig
from cockpit.domain import Fill, OrderSide, Side

log = logging.getLogger(__name__)

Clock = Callable[[], int]
Sleep = Callable[[float], Awaitable[None]]


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class DriftAccount:
    """The sub-account of one wallet on a DriftClient: reads, user order ids, sending.

    DriftBroker (adapters/drift/broker.py) builds on it; see the package docstring.
    """

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
        # Guards the bookkeeping of an order (its PlacedOrder, its user order id); never held
        # across a send. `_in_flight` holds the (kind, user_order_id) being sent right now.
        self._lock = asyncio.Lock()
        self._in_flight: set[tuple[str, int]] = set()
        self._wallet_short: str | None = None
        self._connected = True
        self._markets = MarketSubscription(client, config)
        # What the RPC is asked (counted at the HTTP client), and driftpy's loader kept alive.
        self.rpc = RpcBudget(config.rpc_limit_per_10s)
        self.rpc.instrument(client.connection)
        self.loader_watch = LoaderWatch(client, config, self.rpc)
        self._sender = Sender(
            client.connection,
            client.wallet.payer,
            config,
            program_errors=program_errors(client.program.idl.errors),
            clock=clock,
            sleep=sleep,
            fee_accounts=self._fee_accounts,
        )

    async def connect(self) -> None:
        """Load the user account, then the markets it touches and the configured ones (with
        their oracles), and the lookup tables (once). See adapters/drift/markets.py."""
        if self._connected:
            return
        await self._markets.connect()
        self._tables = list(await self._client.fetch_market_lookup_table_accounts())
        self._connected = True
        log.info(
            "drift: connected as %s, sub-account %d",
            self._wallet_short,
            self._config.sub_account_id,
        )

    def _fee_accounts(self) -> list[str]:
        """The accounts whose recent prioritization fees price ours: the user account (every
        order writes it) and the configured perp markets."""
        from driftpy.addresses import get_perp_market_public_key

        client = self._client
        out = [str(client.get_user_account_public_key(self._config.sub_account_id))]
        out += [
            str(get_perp_market_public_key(client.program_id, i))
            for i in sorted(set(self._config.markets.values()))
        ]
        return out

    async def attempt_state(self, placed: PlacedOrder) -> tuple[str, str]:
        """What became of an order's transaction that outlived its deadline (sender.py)."""
        if placed.tx_sig is None or not placed.last_valid_block_height:
            return "unknown", ""
        return await self._sender.attempt_state(placed.tx_sig, placed.last_valid_block_height)

    @property
    def last_priority_fee(self) -> int | None:
        """Micro-lamports per compute unit of the last transaction (None before any)."""
        return self._sender.last_fee

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
        """The cockpit's symbol of a configured market, else Drift's own name ("BTC-PERP")."""
        known = self._symbols.get(market_index)
        if known is not None:
            return known
        return perp_market_name(self._config.env, market_index) or f"perp#{market_index}"

    def manages(self, symbol: str) -> bool:
        """Whether `symbol` is one of the cockpit's markets (drift.markets). A position in any
        other market is the trader's own: listed as external, never acted on."""
        return symbol in self._config.markets

    @property
    def markets_error(self) -> str | None:
        """Why subscribing to a market the account touches failed (None when it holds all)."""
        return self._markets.error

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

    def venue_trigger(self, symbol: str) -> tuple[float, str] | None:
        """(the price Drift triggers stops on now, its source: ``median`` or ``oracle``), None
        when the oracle is not known yet (adapters/drift/trigger.py)."""
        index = self.market_index(symbol)
        data = self._client.get_oracle_price_data_for_perp_market(index)
        if data is None or not data.price:
            return None
        price, source = venue_trigger(self._client, index, int(data.price), self._clock() // 1000)
        return price_to_float(price), source

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

    def _mark(self, index: int, user: Any | None = None) -> PositionMark:
        """The market's position with what a fill is measured from (adapters/drift/fills.py):
        its slot, or once closed and emptied, the slot that still holds its settled P&L."""
        account = self._user() if user is None else user
        emptied: Any | None = None
        for pos in account.perp_positions:
            if int(pos.market_index) != index:
                continue
            if pos.base_asset_amount or pos.quote_asset_amount or pos.open_orders:
                return PositionMark(
                    int(pos.base_asset_amount),
                    int(pos.quote_asset_amount),
                    int(pos.settled_pnl),
                    int(pos.last_cumulative_funding_rate),
                )
            if emptied is None and int(pos.settled_pnl):
                emptied = pos
        if emptied is not None:
            return PositionMark(0, 0, int(emptied.settled_pnl), 0)
        return PositionMark(0, 0)

    def _open_orders_raw(self, user: Any | None = None) -> list[Any]:
        account = self._user() if user is None else user
        return [o for o in account.orders if variant(o.status) == "Open"]

    def _find_open(self, user_order_id: int, user: Any | None = None) -> Any | None:
        for order in self._open_orders_raw(user):
            if int(order.user_order_id) == user_order_id:
                return order
        return None

    def account_slot(self) -> int:
        """The slot of the user account as last read (0 before any read)."""
        user = self._client.get_user(self._config.sub_account_id)
        data = user.account_subscriber.get_user_account_and_slot()
        return 0 if data is None else int(data.slot)

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
        self.loader_watch.check()
        user = self._client.get_user(self._config.sub_account_id)
        await user.account_subscriber.fetch()
        self._markets.note(self._user())

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

    async def close_client(self) -> None:
        """Stop the account polling and close the RPC connection (the session is ending)."""
        await self._markets.close()
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
        """Send one instruction with no lock held (adapters/drift/sender.py does the pricing,
        the rebroadcasting and the deadline). One send at a time per order: a second caller
        for the same user_order_id is refused, never doubled.

        Raises BrokerError for a refusal (nothing happened on chain: the program's error, or
        nothing could be sent after `max_retries` tries), OrderGone when the program does not
        know the order, OrderNotConfirmed when the deadline passed and the transaction may
        still land (it is never sent again; its signature and blockhash's last valid block
        height go with the exception).
        """
        key = (placed.kind, placed.user_order_id)
        if key in self._in_flight:
            raise BrokerError(
                f"{placed.kind} {placed.client_order_id} (user_order_id {placed.user_order_id}) "
                "is being sent already"
            )
        self._in_flight.add(key)
        try:
            return await self._send_once(placed, build)
        finally:
            self._in_flight.discard(key)

    async def _send_once(
        self, placed: PlacedOrder, build: Callable[[PlacedOrder], Any]
    ) -> PlacedOrder:
        what = f"{placed.kind} {placed.client_order_id} (user_order_id {placed.user_order_id})"
        last_error = ""
        backoff = Backoff(self._config.backoff_initial_s, self._config.backoff_max_s, jitter=0.0)
        for attempt in range(self._config.max_retries + 1):
            if attempt:
                await self._sleep(backoff.next_delay())
                await self._refresh_quietly()
                if self._landed(placed):
                    log.info("drift: %s had landed; not sent again", what)
                    return placed
            try:
                await self._markets.ensure(self._user())
                sent = await self._sender.send([build(placed)], self._tables)
            except TxFailed as exc:  # the program refused it: nothing happened on chain
                if is_gone(exc.reason):
                    raise OrderGone(
                        f"{what}: the order is not on Drift: {exc.reason}", cause=exc.reason
                    ) from None
                raise Refused(f"{what} refused by Drift: {exc.reason}", exc.reason) from None
            except SendExpired as exc:  # may still land: never sent again
                return await self._expired(placed, exc, what)
            except BrokerError:
                raise
            except Exception as exc:  # nothing went out (no blockhash, a build error): again
                last_error = describe_error(exc) if not isinstance(exc, NotSent) else exc.cause
                log.warning("drift: %s not sent (attempt %d): %s", what, attempt + 1, last_error)
                continue
            self._client.last_perp_market_seen_cache[placed.market_index] = sent.slot
            done = replace(
                placed,
                tx_sig=sent.signature,
                slot=sent.slot,
                last_valid_block_height=sent.last_valid_block_height,
            )
            self._remember(done)
            await self._refresh_quietly()  # so open_orders()/stop_on_chain() see it
            return done
        raise Refused(
            f"{what} not sent after {self._config.max_retries + 1} tries: {last_error}",
            f"not sent: {last_error}",
        )

    async def _expired(self, placed: PlacedOrder, exc: SendExpired, what: str) -> PlacedOrder:
        """The deadline passed: the account decides whether it landed; else it is unconfirmed."""
        pending = replace(
            placed, tx_sig=exc.signature, last_valid_block_height=exc.last_valid_block_height
        )
        await self._refresh_quietly()
        if self._landed(pending):
            log.info("drift: %s landed though its confirmation did not show", what)
            self._remember(pending)
            return pending
        log.warning("drift: %s %s", what, exc.cause)
        raise OrderNotConfirmed(
            f"{what} sent but {exc.cause}: it may still land", pending, cause=exc.cause
        )

    def _remember(self, placed: PlacedOrder) -> None:
        if placed.kind == "market":
            self._placed[placed.client_order_id] = placed
        elif placed.kind == "stop":
            self._stops[placed.user_order_id] = placed

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # a failed refresh leaves the last known account
            log.warning("drift: refreshing the user account failed: %s", describe_error(exc))
