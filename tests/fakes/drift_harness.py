"""An offline Drift: real driftpy client and instruction builders, a fake chain behind them.

- Accounts are what the polling subscriber would hand over: zero-filled account buffers decoded
  by the program's own anchorpy account coder (the same decoder the RPC path uses), with the
  fields a test needs set on them (order step, minimum size, positions, orders).
- The DriftClient is real; its account subscribers are driftpy's cached subscribers whose
  `fetch` copies from the fake chain instead of calling the RPC. The RPC URL points at a closed
  port on 127.0.0.1, so any accidental network call fails loudly.
- `FakeTxSender` is driftpy's TxSender: it compiles and signs a real v0 transaction, decodes
  every Drift instruction in it with the IDL's instruction coder, records it, and applies it to
  the fake chain as the program would (market orders fill at the oracle, trigger orders rest,
  modify/cancel by user_order_id). Failures are scripted per send: lost, or landed-then-error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import driftpy
from anchorpy import Idl, Program, Provider
from anchorpy import Wallet as AnchorWallet
from driftpy.account_subscription_config import AccountSubscriptionConfig
from driftpy.accounts.cache import CachedDriftClientAccountSubscriber, CachedUserAccountSubscriber
from driftpy.accounts.types import DataAndSlot
from driftpy.addresses import get_perp_market_public_key, get_spot_market_public_key
from driftpy.constants.config import DRIFT_PROGRAM_ID
from driftpy.constants.perp_markets import mainnet_perp_market_configs
from driftpy.constants.spot_markets import mainnet_spot_market_configs
from driftpy.drift_client import DriftClient
from driftpy.drift_user import DriftUser
from driftpy.oracles.oracle_id import get_oracle_id
from driftpy.tx.types import TxSender, TxSigAndSlot
from driftpy.types import (
    MarketStatus,
    MarketType,
    OracleInfo,
    OraclePriceData,
    OrderStatus,
    OrderTriggerCondition,
    OrderType,
    PositionDirection,
)
from solana.rpc.async_api import AsyncClient
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from adapters.drift import PRICE_PRECISION, QUOTE_PRECISION, DriftBroker
from adapters.drift.wallet import Wallet
from cockpit.config import DriftConfig

CLOSED_RPC = "http://127.0.0.1:9"
"""Nothing listens on the discard port: an RPC call the harness did not intercept fails."""

SOL_STEP = 10_000_000  # 0.01 SOL, as on mainnet SOL-PERP
SOL_TICK = 100  # 0.0001 USD


def drift_program() -> Program:
    idl = Idl.from_json((Path(str(next(iter(driftpy.__path__)))) / "idl/drift.json").read_text())
    return Program(idl, DRIFT_PROGRAM_ID, Provider(AsyncClient(CLOSED_RPC), AnchorWallet.dummy()))


def blank_account(program: Program, name: str) -> Any:
    """A zero-filled account of `name` decoded by the program's account coder."""
    coder = program.coder.accounts
    size = program.account[name].size
    return coder.decode(coder.acc_name_to_discriminator[name] + bytes(size - 8))


class RpcDown(Exception):
    """What a dead or rate-limiting RPC raises in these tests."""


@dataclass
class DecodedIx:
    """One Drift instruction as the program would read it: its name and decoded arguments."""

    name: str
    args: dict[str, Any]


@dataclass
class SentTx:
    instructions: list[DecodedIx]
    landed: bool


@dataclass
class FakeChain:
    """The on-chain state of one SOL-PERP market, its oracle and one user account."""

    program: Program
    authority: Any
    oracle_price: float = 150.0
    step: int = SOL_STEP
    min_order_size: int = SOL_STEP
    tick: int = SOL_TICK
    taker_fee_bps: float = 3.5
    fill_market_orders: bool = True
    slot: int = 1000
    user: Any = None
    perp_market: Any = None
    spot_market: Any = None
    next_order_id: int = 1

    def __post_init__(self) -> None:
        sol = mainnet_perp_market_configs[0]
        usdc = mainnet_spot_market_configs[0]
        pm = blank_account(self.program, "PerpMarket")
        self.perp_market = dataclasses.replace(
            pm,
            pubkey=get_perp_market_public_key(DRIFT_PROGRAM_ID, 0),
            market_index=0,
            status=MarketStatus.Active(),
            quote_spot_market_index=0,
            amm=dataclasses.replace(
                pm.amm,
                oracle=sol.oracle,
                oracle_source=sol.oracle_source,
                order_step_size=self.step,
                min_order_size=self.min_order_size,
                order_tick_size=self.tick,
            ),
        )
        sm = blank_account(self.program, "SpotMarket")
        self.spot_market = dataclasses.replace(
            sm,
            pubkey=get_spot_market_public_key(DRIFT_PROGRAM_ID, 0),
            market_index=0,
            oracle=usdc.oracle,
            oracle_source=usdc.oracle_source,
        )
        user = blank_account(self.program, "User")
        self.user = dataclasses.replace(
            user,
            authority=self.authority,
            orders=list(user.orders),
            perp_positions=list(user.perp_positions),
        )

    # ------------------------------------------------------------------ reads
    def oracle_data(self) -> OraclePriceData:
        price = round(self.oracle_price * PRICE_PRECISION)
        return OraclePriceData(price, self.slot, 1000, price, 1000, True)

    def base(self) -> int:
        return int(self.user.perp_positions[0].base_asset_amount)

    def open_orders(self) -> list[Any]:
        return [o for o in self.user.orders if type(o.status).__name__ == "Open"]

    # ------------------------------------------------------------------ writes
    def set_position(self, base: int, entry: float) -> None:
        """Put a position on the account as if it had been opened earlier (fee-free)."""
        quote = -base * entry * QUOTE_PRECISION / 1e9
        pos = self.user.perp_positions[0]
        self.user.perp_positions[0] = dataclasses.replace(
            pos,
            market_index=0,
            base_asset_amount=base,
            quote_asset_amount=round(quote),
            quote_entry_amount=round(quote),
            quote_break_even_amount=round(quote),
        )

    def add_trigger_order(
        self, user_order_id: int, *, long_position: bool, trigger: float, base: int
    ) -> None:
        """Put a resting reduce-only stop on the account (for reconcile and adoption tests)."""
        self._add_order(
            user_order_id=user_order_id,
            order_type=OrderType.TriggerMarket(),
            direction=PositionDirection.Short() if long_position else PositionDirection.Long(),
            base=base,
            reduce_only=True,
            trigger_price=round(trigger * PRICE_PRECISION),
            trigger_condition=(
                OrderTriggerCondition.Below() if long_position else OrderTriggerCondition.Above()
            ),
        )

    def _add_order(self, **kw: Any) -> None:
        if any(int(o.user_order_id) == kw["user_order_id"] for o in self.open_orders()):
            raise RuntimeError("program error: UserOrderIdAlreadyInUse")
        slot = next(i for i, o in enumerate(self.user.orders) if type(o.status).__name__ == "Init")
        blank = self.user.orders[slot]
        self.user.orders[slot] = dataclasses.replace(
            blank,
            status=OrderStatus.Open(),
            order_type=kw["order_type"],
            market_type=MarketType.Perp(),
            market_index=0,
            direction=kw["direction"],
            base_asset_amount=kw["base"],
            reduce_only=kw["reduce_only"],
            user_order_id=kw["user_order_id"],
            trigger_price=kw.get("trigger_price") or 0,
            trigger_condition=kw.get("trigger_condition") or OrderTriggerCondition.Above(),
            order_id=self.next_order_id,
            slot=self.slot,
        )
        self.next_order_id += 1

    def _fill(self, direction_long: bool, base: int, reduce_only: bool) -> None:
        held = self.base()
        sign = 1 if direction_long else -1
        if reduce_only:
            if held == 0 or (held > 0) == direction_long:
                raise RuntimeError("program error: reduce-only order would increase position")
            base = min(base, abs(held))
        notional = base * self.oracle_price / 1e9
        fee = notional * self.taker_fee_bps / 1e4
        pos = self.user.perp_positions[0]
        new_base = held + sign * base
        if held == 0 or (held > 0) == direction_long:
            entry = int(pos.quote_entry_amount) - sign * round(notional * QUOTE_PRECISION)
        else:
            entry = round(int(pos.quote_entry_amount) * new_base / held) if held else 0
        self.user.perp_positions[0] = dataclasses.replace(
            pos,
            market_index=0,
            base_asset_amount=new_base,
            quote_asset_amount=int(pos.quote_asset_amount)
            - round((sign * notional + fee) * QUOTE_PRECISION),
            quote_entry_amount=entry,
        )

    def fill_resting_market_orders(self) -> None:
        """A keeper fills the market orders left on the book (when fill_market_orders=False)."""
        for i, order in enumerate(self.user.orders):
            if (
                type(order.status).__name__ == "Open"
                and type(order.order_type).__name__ == "Market"
            ):
                long = type(order.direction).__name__ == "Long"
                self._fill(long, int(order.base_asset_amount), bool(order.reduce_only))
                self.user.orders[i] = dataclasses.replace(order, status=OrderStatus.Init())

    def cancel_resting_market_orders(self) -> None:
        """The market orders left on the book leave it unfilled (their auction expired)."""
        for i, order in enumerate(self.user.orders):
            if (
                type(order.status).__name__ == "Open"
                and type(order.order_type).__name__ == "Market"
            ):
                self.user.orders[i] = dataclasses.replace(order, status=OrderStatus.Canceled())

    def fire_triggers(self) -> int:
        """What a keeper does when the oracle crosses a trigger: fill the trigger-market order
        at the oracle price (reduce-only orders only reduce). Returns how many fired."""
        fired = 0
        for i, order in enumerate(self.user.orders):
            if (
                type(order.status).__name__ != "Open"
                or type(order.order_type).__name__ != "TriggerMarket"
            ):
                continue
            trigger = int(order.trigger_price) / PRICE_PRECISION
            below = type(order.trigger_condition).__name__ == "Below"
            if (below and self.oracle_price > trigger) or (
                not below and self.oracle_price < trigger
            ):
                continue
            long = type(order.direction).__name__ == "Long"
            if order.reduce_only and (self.base() == 0 or (self.base() > 0) == long):
                self.user.orders[i] = dataclasses.replace(order, status=OrderStatus.Canceled())
                continue
            self._fill(long, int(order.base_asset_amount), bool(order.reduce_only))
            self.user.orders[i] = dataclasses.replace(order, status=OrderStatus.Init())
            fired += 1
        return fired

    def apply(self, ix: DecodedIx) -> None:
        """What the Drift program does with the instruction, as far as these tests need."""
        self.slot += 1
        if ix.name == "place_perp_order":
            p = ix.args["params"]
            kind = type(p.order_type).__name__
            if kind == "Market" and self.fill_market_orders:
                self._fill(type(p.direction).__name__ == "Long", p.base_asset_amount, p.reduce_only)
                return
            self._add_order(
                user_order_id=p.user_order_id,
                order_type=p.order_type,
                direction=p.direction,
                base=p.base_asset_amount,
                reduce_only=p.reduce_only,
                trigger_price=p.trigger_price,
                trigger_condition=p.trigger_condition,
            )
        elif ix.name == "modify_order_by_user_id":
            uoid = ix.args["user_order_id"]
            params = ix.args["modify_order_params"]
            for i, order in enumerate(self.user.orders):
                if type(order.status).__name__ == "Open" and order.user_order_id == uoid:
                    self.user.orders[i] = dataclasses.replace(
                        order, trigger_price=params.trigger_price, order_id=self.next_order_id
                    )
                    self.next_order_id += 1
                    return
            raise RuntimeError("program error: OrderDoesNotExist")
        elif ix.name == "cancel_order_by_user_id":
            uoid = ix.args["user_order_id"]
            for i, order in enumerate(self.user.orders):
                if type(order.status).__name__ == "Open" and order.user_order_id == uoid:
                    self.user.orders[i] = dataclasses.replace(order, status=OrderStatus.Init())
                    return
            raise RuntimeError("program error: OrderDoesNotExist")
        else:
            raise RuntimeError(f"the fake chain does not implement {ix.name}")


@dataclass
class FakeTxSender(TxSender):
    """driftpy's TxSender at the wire: real signed v0 transactions, decoded and recorded.

    `failures` is consumed one entry per send: ``"lost"`` (the RPC errors, nothing lands),
    ``"landed"`` (the transaction lands but the confirmation errors), or None (success).
    """

    chain: FakeChain
    failures: list[str | None] = field(default_factory=list)
    sent: list[SentTx] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    async def get_versioned_tx(
        self,
        ixs: Any,
        payer: Keypair,
        lookup_tables: Any,
        additional_signers: Any = None,
    ) -> VersionedTransaction:
        msg = MessageV0.try_compile(payer.pubkey(), ixs, lookup_tables, Hash.default())
        return VersionedTransaction(msg, [payer])

    async def send(self, tx: VersionedTransaction) -> TxSigAndSlot:
        wire = bytes(tx)
        self.raw.append(wire)
        decoded = self.decode(VersionedTransaction.from_bytes(wire))
        outcome = self.failures.pop(0) if self.failures else None
        if outcome == "lost":
            self.sent.append(SentTx(decoded, landed=False))
            raise RpcDown("HTTP 503: node is behind")
        for ix in decoded:
            self.chain.apply(ix)
        self.sent.append(SentTx(decoded, landed=True))
        if outcome == "landed":
            raise RpcDown("timed out waiting for confirmation")
        return TxSigAndSlot(tx.signatures[0], self.chain.slot)

    def decode(self, tx: VersionedTransaction) -> list[DecodedIx]:
        message = tx.message
        keys = message.account_keys
        out = []
        for compiled in message.instructions:
            if keys[compiled.program_id_index] != DRIFT_PROGRAM_ID:
                continue  # compute budget
            parsed = self.chain.program.coder.instruction.parse(bytes(compiled.data))
            args = {k: v for k, v in parsed.data.items() if not k.startswith("_")}
            out.append(DecodedIx(parsed.name, args))
        return out

    def drift_ixs(self, landed_only: bool = False) -> list[DecodedIx]:
        return [ix for tx in self.sent if tx.landed or not landed_only for ix in tx.instructions]


class OfflineMarkets(CachedDriftClientAccountSubscriber):
    """The cached subscriber, fed from the fake chain instead of the RPC."""

    def __init__(self, program: Program, chain: FakeChain) -> None:
        sol = mainnet_perp_market_configs[0]
        super().__init__(program, [0], [0], [OracleInfo(sol.oracle, sol.oracle_source)], False)
        self.chain = chain
        self.fetches = 0
        self.fail_fetches: list[Exception] = []
        self._load()

    def _load(self) -> None:
        c = self.chain
        amm = c.perp_market.amm
        self.cache = {
            "perp_markets": [DataAndSlot(c.slot, c.perp_market)],
            "spot_markets": [DataAndSlot(c.slot, c.spot_market)],
            "oracle_price_data": {
                get_oracle_id(amm.oracle, amm.oracle_source): DataAndSlot(c.slot, c.oracle_data())
            },
            "state": None,
        }

    async def update_cache(self) -> None:
        self.fetches += 1
        if self.fail_fetches:
            raise self.fail_fetches.pop(0)
        self._load()


class OfflineUser(CachedUserAccountSubscriber):
    def __init__(self, program: Program, chain: FakeChain, pubkey: Any) -> None:
        super().__init__(pubkey, program)
        self.chain = chain
        self.fetches = 0
        self.fail_fetches: list[Exception] = []
        self._load()

    def _load(self) -> None:
        user = self.chain.user
        snapshot = dataclasses.replace(
            user, orders=list(user.orders), perp_positions=list(user.perp_positions)
        )
        self.user_and_slot = DataAndSlot(self.chain.slot, snapshot)

    async def update_cache(self) -> None:
        self.fetches += 1
        if self.fail_fetches:
            raise self.fail_fetches.pop(0)
        self._load()


@dataclass
class Harness:
    client: DriftClient
    chain: FakeChain
    sender: FakeTxSender
    markets: OfflineMarkets
    user: OfflineUser
    broker: DriftBroker
    config: DriftConfig
    sleeps: list[float]

    def set_oracle(self, price: float) -> int:
        """Move the oracle (a new slot): the markets cache sees it, resting triggers through it
        fire as a keeper would fire them. Returns how many triggers fired."""
        self.chain.oracle_price = price
        self.chain.slot += 1
        fired = self.chain.fire_triggers()
        self.markets._load()
        return fired


def make_harness(
    wallet: Wallet,
    *,
    config: DriftConfig | None = None,
    min_order_size: int = SOL_STEP,
    oracle_price: float = 150.0,
) -> Harness:
    """A DriftBroker on a real DriftClient over the fake chain; sleeps are recorded, not slept."""
    cfg = config or DriftConfig(rpc_url=CLOSED_RPC, confirm_timeout_s=5, poll_interval_s=1)
    keypair = wallet.keypair()
    client = DriftClient(
        AsyncClient(CLOSED_RPC),
        keypair,
        env="mainnet",
        account_subscription=AccountSubscriptionConfig("cached"),
        perp_market_indexes=[0],
        spot_market_indexes=[0],
        oracle_infos=[],
        active_sub_account_id=cfg.sub_account_id,
        sub_account_ids=[cfg.sub_account_id],
    )
    chain = FakeChain(
        client.program, keypair.pubkey(), oracle_price=oracle_price, min_order_size=min_order_size
    )
    sender = FakeTxSender(chain)
    client.tx_sender = sender
    markets = OfflineMarkets(client.program, chain)
    client.account_subscriber = markets
    drift_user = DriftUser(
        client,
        client.get_user_account_public_key(cfg.sub_account_id),
        AccountSubscriptionConfig("cached"),
    )
    user = OfflineUser(client.program, chain, drift_user.user_public_key)
    drift_user.account_subscriber = user
    client.users[cfg.sub_account_id] = drift_user

    sleeps: list[float] = []
    now = [1_700_000_000_000]

    def clock() -> int:
        return now[0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += int(seconds * 1000)

    broker = DriftBroker(client, cfg, lookup_tables=[], clock=clock, sleep=sleep)
    return Harness(client, chain, sender, markets, user, broker, cfg, sleeps)
