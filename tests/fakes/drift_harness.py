"""An offline Drift: real driftpy client and instruction builders, a fake chain behind them.

- Accounts are what the polling subscriber would hand over: zero-filled account buffers decoded
  by the program's own anchorpy account coder (the same decoder the RPC path uses), with the
  fields a test needs set on them (order step, minimum size, positions, orders, deposits).
- The DriftClient is real; its account subscribers are driftpy's cached subscribers whose
  `fetch` copies from the fake chain instead of calling the RPC, over exactly the markets the
  client asked for.
- Transactions go through the broker's real sender to a fake Solana JSON-RPC at the wire
  (tests/fakes/drift_rpc.py): it decodes every Drift instruction with the IDL's instruction
  coder, records it, and applies it to the fake chain as the program would (market orders fill
  at the oracle, trigger orders rest, modify/cancel by user_order_id). The RPC URL points at a
  closed port on 127.0.0.1 and the transport is in-process, so nothing reaches a network.
"""

from __future__ import annotations

import copyreg
import dataclasses
from dataclasses import dataclass
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
from solders.pubkey import Pubkey

from adapters.drift import PRICE_PRECISION, QUOTE_PRECISION, DriftBroker
from adapters.drift.wallet import Wallet
from cockpit.config import DriftConfig
from tests.fakes.drift_rpc import DecodedIx, FakeRpc, SentTx

__all__ = ["DecodedIx", "FakeChain", "FakeRpc", "Harness", "SentTx", "make_harness"]

# anchorpy's encoder deep-copies account dataclasses, and solders' Pubkey cannot be pickled:
# teach copy how (test-only; the cockpit never encodes accounts).
copyreg.pickle(Pubkey, lambda key: (Pubkey.from_bytes, (bytes(key),)))

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


class ProgramError(RuntimeError):
    """The Drift program refused an instruction: `name` is its IDL error name."""

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(f"program error: {name}" + (f" ({detail})" if detail else ""))
        self.name = name


PERP_MARKETS = {c.market_index: c for c in mainnet_perp_market_configs[:3]}
"""SOL-PERP (0), BTC-PERP (1), ETH-PERP (2), with their mainnet oracles."""
SPOT_MARKETS = {c.market_index: c for c in mainnet_spot_market_configs[:2]}
"""USDC (0, the quote) and SOL (1, a collateral)."""
DEFAULT_PRICES = {0: 150.0, 1: 60_000.0, 2: 3_000.0}


class FakeChain:
    """The on-chain state of three perp markets, two spot markets, their oracles and one user.

    Market 0 (SOL-PERP) is the one most tests trade; `oracle_price` is its oracle. Every
    instruction must carry the accounts of every market the user touches, as the program
    requires (`PerpMarketNotFound` / `SpotMarketNotFound` otherwise).
    """

    def __init__(
        self,
        program: Program,
        authority: Any,
        *,
        oracle_price: float = 150.0,
        step: int = SOL_STEP,
        min_order_size: int = SOL_STEP,
        tick: int = SOL_TICK,
        taker_fee_bps: float = 3.5,
    ) -> None:
        self.program = program
        self.authority = authority
        self.step = step
        self.min_order_size = min_order_size
        self.tick = tick
        self.taker_fee_bps = taker_fee_bps
        self.fill_market_orders = True
        self.slot = 1000
        self.next_order_id = 1
        self.prices: dict[int, float] = dict(DEFAULT_PRICES)
        self.prices[0] = oracle_price
        self.perp_markets = {i: self._perp_market(i) for i in PERP_MARKETS}
        self.spot_markets = {i: self._spot_market(i) for i in SPOT_MARKETS}
        # Faults and counts of the market reads, shared by every subscriber the client builds.
        self.market_faults: list[Exception] = []
        self.market_fetches = 0
        self.state = blank_account(self.program, "State")
        user = blank_account(self.program, "User")
        self.user = dataclasses.replace(
            user,
            authority=self.authority,
            orders=list(user.orders),
            perp_positions=list(user.perp_positions),
            spot_positions=list(user.spot_positions),
        )

    def _perp_market(self, index: int) -> Any:
        config = PERP_MARKETS[index]
        pm = blank_account(self.program, "PerpMarket")
        return dataclasses.replace(
            pm,
            pubkey=get_perp_market_public_key(DRIFT_PROGRAM_ID, index),
            market_index=index,
            status=MarketStatus.Active(),
            quote_spot_market_index=0,
            amm=dataclasses.replace(
                pm.amm,
                oracle=config.oracle,
                oracle_source=config.oracle_source,
                order_step_size=self.step if index == 0 else 100_000,
                min_order_size=self.min_order_size if index == 0 else 100_000,
                order_tick_size=self.tick,
            ),
        )

    def _spot_market(self, index: int) -> Any:
        config = SPOT_MARKETS[index]
        sm = blank_account(self.program, "SpotMarket")
        return dataclasses.replace(
            sm,
            pubkey=get_spot_market_public_key(DRIFT_PROGRAM_ID, index),
            market_index=index,
            oracle=config.oracle,
            oracle_source=config.oracle_source,
        )

    def median_trigger(
        self,
        *,
        last_fill: float,
        basis_5min: float,
        tier: str = "Speculative",
        index: int = 0,
    ) -> None:
        """Set the exchange's MedianTriggerPrice flag and the market fields its median reads:
        the last fill price and a 5-minute mark/oracle basis (no funding basis); `tier` sets
        the clamp band around the oracle (Speculative: 2.5 %)."""
        from driftpy.types import ContractTier

        self.state = dataclasses.replace(self.state, feature_bit_flags=0b10)
        pm = self.perp_markets[index]
        oracle_twap = round(self.prices[index] * PRICE_PRECISION)
        self.perp_markets[index] = dataclasses.replace(
            pm,
            last_fill_price=round(last_fill * PRICE_PRECISION),
            contract_tier=getattr(ContractTier, tier)(),
            amm=dataclasses.replace(
                pm.amm,
                last_mark_price_twap5min=oracle_twap + round(basis_5min * PRICE_PRECISION),
                historical_oracle_data=dataclasses.replace(
                    pm.amm.historical_oracle_data, last_oracle_price_twap5min=oracle_twap
                ),
            ),
        )

    def accounts(self) -> dict[str, tuple[str, Any]]:
        """Every account of the chain by address: (IDL account name, decoded data), as the
        RPC serves them (tests/fakes/drift_rpc.py)."""
        from driftpy.addresses import get_state_public_key, get_user_account_public_key

        out: dict[str, tuple[str, Any]] = {
            str(get_state_public_key(DRIFT_PROGRAM_ID)): ("State", self.state),
            str(get_user_account_public_key(DRIFT_PROGRAM_ID, self.authority, 0)): (
                "User",
                self.user,
            ),
        }
        for i, pm in self.perp_markets.items():
            out[str(pm.pubkey)] = ("PerpMarket", pm)
            out[str(pm.amm.oracle)] = ("PythLazerOracle", self._oracle_account(self.prices[i]))
        for i, sm in self.spot_markets.items():
            out[str(sm.pubkey)] = ("SpotMarket", sm)
            if i == 0:  # USDC
                out[str(sm.oracle)] = ("PythLazerOracle", self._oracle_account(1.0))
        return out

    def _oracle_account(self, price: float) -> Any:
        blank = blank_account(self.program, "PythLazerOracle")
        return dataclasses.replace(
            blank,
            price=round(price * 10**8),
            exponent=-8,
            posted_slot=self.slot,
            publish_time=1_700_000_000,
            conf=1_000,
        )

    # ------------------------------------------------------------------ compatibility
    @property
    def oracle_price(self) -> float:
        return self.prices[0]

    @oracle_price.setter
    def oracle_price(self, price: float) -> None:
        self.prices[0] = price

    @property
    def perp_market(self) -> Any:
        return self.perp_markets[0]

    # ------------------------------------------------------------------ reads
    def oracle_data(self, index: int = 0) -> OraclePriceData:
        price = round(self.prices[index] * PRICE_PRECISION)
        return OraclePriceData(price, self.slot, 1000, price, 1000, True)

    def spot_oracle_data(self, index: int) -> OraclePriceData:
        price = PRICE_PRECISION if index == 0 else round(self.prices[0] * PRICE_PRECISION)
        return OraclePriceData(price, self.slot, 1000, price, 1000, True)

    def _slot_of(self, index: int) -> int:
        """The perp position slot of market `index` (its own, else the first free one)."""
        free = None
        for i, pos in enumerate(self.user.perp_positions):
            if int(pos.market_index) == index and not _available(pos):
                return i
            if free is None and _available(pos):
                free = i
        if free is None:
            raise ProgramError("MaxNumberOfPositions")
        return free

    def position(self, index: int = 0) -> Any:
        return self.user.perp_positions[self._slot_of(index)]

    def base(self, index: int = 0) -> int:
        pos = self.position(index)
        return int(pos.base_asset_amount) if int(pos.market_index) == index else 0

    def open_orders(self) -> list[Any]:
        return [o for o in self.user.orders if type(o.status).__name__ == "Open"]

    def touched(self) -> tuple[set[int], set[int]]:
        """(perp, spot) market indexes the user account touches, as the program loads them."""
        perps = {int(p.market_index) for p in self.user.perp_positions if not _available(p)}
        spots = {
            int(s.market_index)
            for s in self.user.spot_positions
            if int(s.scaled_balance) or int(s.open_orders)
        }
        return perps, spots

    # ------------------------------------------------------------------ writes
    def set_position(self, base: int, entry: float, market_index: int = 0) -> None:
        """Put a position on the account as if it had been opened earlier (fee-free)."""
        quote = -base * entry * QUOTE_PRECISION / 1e9
        slot = self._slot_of(market_index)
        pos = self.user.perp_positions[slot]
        self.user.perp_positions[slot] = dataclasses.replace(
            pos,
            market_index=market_index,
            base_asset_amount=base,
            quote_asset_amount=round(quote),
            quote_entry_amount=round(quote),
            quote_break_even_amount=round(quote),
        )

    def deposit(self, market_index: int, scaled_balance: int) -> None:
        """A spot deposit (collateral) on the account, in a free spot position slot."""
        for i, pos in enumerate(self.user.spot_positions):
            if int(pos.market_index) == market_index and int(pos.scaled_balance):
                slot = i
                break
        else:
            slot = next(
                i
                for i, pos in enumerate(self.user.spot_positions)
                if not int(pos.scaled_balance) and not int(pos.open_orders)
            )
        pos = self.user.spot_positions[slot]
        self.user.spot_positions[slot] = dataclasses.replace(
            pos,
            market_index=market_index,
            scaled_balance=scaled_balance,
            cumulative_deposits=scaled_balance,
        )

    def add_trigger_order(
        self,
        user_order_id: int,
        *,
        long_position: bool,
        trigger: float,
        base: int,
        market_index: int = 0,
    ) -> None:
        """Put a resting reduce-only stop on the account (for reconcile and adoption tests)."""
        self._add_order(
            user_order_id=user_order_id,
            market_index=market_index,
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
            raise ProgramError("UserOrderIdAlreadyInUse")
        slot = next(i for i, o in enumerate(self.user.orders) if type(o.status).__name__ == "Init")
        blank = self.user.orders[slot]
        self.user.orders[slot] = dataclasses.replace(
            blank,
            status=OrderStatus.Open(),
            order_type=kw["order_type"],
            market_type=MarketType.Perp(),
            market_index=kw.get("market_index", 0),
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
        self._count_order(kw.get("market_index", 0), 1)

    def _count_order(self, index: int, delta: int) -> None:
        """The position's open order count, which the program keeps (a market with only an
        order in it is touched too)."""
        slot = self._slot_of(index)
        pos = self.user.perp_positions[slot]
        self.user.perp_positions[slot] = dataclasses.replace(
            pos, market_index=index, open_orders=max(int(pos.open_orders) + delta, 0)
        )

    def _end_order(self, i: int, status: Any) -> None:
        order = self.user.orders[i]
        self.user.orders[i] = dataclasses.replace(order, status=status)
        self._count_order(int(order.market_index), -1)

    def _fill(self, direction_long: bool, base: int, reduce_only: bool, index: int = 0) -> None:
        held = self.base(index)
        sign = 1 if direction_long else -1
        if reduce_only:
            if held == 0 or (held > 0) == direction_long:
                raise ProgramError("ReduceOnlyOrderIncreasedRisk")
            base = min(base, abs(held))
        self.settle_funding(index)  # as the program does before every fill
        notional = base * self.prices[index] / 1e9
        fee = notional * self.taker_fee_bps / 1e4
        slot = self._slot_of(index)
        pos = self.user.perp_positions[slot]
        new_base = held + sign * base
        if held == 0 or (held > 0) == direction_long:
            entry = int(pos.quote_entry_amount) - sign * round(notional * QUOTE_PRECISION)
        else:
            entry = round(int(pos.quote_entry_amount) * new_base / held) if held else 0
        if new_base == 0:
            rate = 0  # a closed position forgets its funding rate
        elif held == 0 or (held > 0) != (new_base > 0):
            rate = self._market_rate(index, new_base > 0)
        else:
            rate = int(pos.last_cumulative_funding_rate)
        self.user.perp_positions[slot] = dataclasses.replace(
            pos,
            market_index=index,
            base_asset_amount=new_base,
            quote_asset_amount=int(pos.quote_asset_amount)
            - round((sign * notional + fee) * QUOTE_PRECISION),
            quote_entry_amount=entry,
            last_cumulative_funding_rate=rate,
        )

    # ------------------------------------------------------------------ funding and settle-PnL
    def _market_rate(self, index: int, long: bool) -> int:
        amm = self.perp_markets[index].amm
        return int(amm.cumulative_funding_rate_long if long else amm.cumulative_funding_rate_short)

    def fund(self, index: int, rate_delta: int) -> None:
        """A funding update: the market's cumulative funding rates move by `rate_delta`
        (FUNDING_RATE_PRECISION, quote per base; positive: longs pay shorts)."""
        pm = self.perp_markets[index]
        self.perp_markets[index] = dataclasses.replace(
            pm,
            amm=dataclasses.replace(
                pm.amm,
                cumulative_funding_rate_long=int(pm.amm.cumulative_funding_rate_long) + rate_delta,
                cumulative_funding_rate_short=int(pm.amm.cumulative_funding_rate_short)
                + rate_delta,
            ),
        )

    def settle_funding(self, index: int) -> int:
        """`settle_funding_payment`: the funding owed since the position's last settlement goes
        into its quote amount (programs/drift/src/math/funding.rs). Returns the payment."""
        held = self.base(index)
        if held == 0:
            return 0
        slot = self._slot_of(index)
        pos = self.user.perp_positions[slot]
        rate = self._market_rate(index, held > 0)
        delta = rate - int(pos.last_cumulative_funding_rate)
        if delta == 0:
            return 0
        magnitude = abs(delta) * abs(held) // 10**6 // 10**3
        signed = magnitude * (-1 if held > 0 else 1) * (1 if delta > 0 else -1)
        payment = abs(signed) // 10**3 * (1 if signed > 0 else -1)
        self.user.perp_positions[slot] = dataclasses.replace(
            pos,
            quote_asset_amount=int(pos.quote_asset_amount) + payment,
            last_cumulative_funding_rate=rate,
        )
        return payment

    def settle_pnl(self, index: int) -> int:
        """A keeper's settle-PnL: the position's P&L at the oracle leaves its quote amount for
        the USDC balance and is added to its `settled_pnl`. Returns the P&L settled."""
        self.settle_funding(index)
        slot = self._slot_of(index)
        pos = self.user.perp_positions[slot]
        value = round(int(pos.base_asset_amount) * self.prices[index] / 1e9 * QUOTE_PRECISION)
        pnl = int(pos.quote_asset_amount) + value
        self.user.perp_positions[slot] = dataclasses.replace(
            pos,
            quote_asset_amount=int(pos.quote_asset_amount) - pnl,
            settled_pnl=int(pos.settled_pnl) + pnl,
        )
        return pnl

    def fill_resting_market_orders(self) -> None:
        """A keeper fills the market orders left on the book (when fill_market_orders=False)."""
        for i, order in enumerate(self.user.orders):
            if (
                type(order.status).__name__ == "Open"
                and type(order.order_type).__name__ == "Market"
            ):
                long = type(order.direction).__name__ == "Long"
                self._fill(
                    long,
                    int(order.base_asset_amount),
                    bool(order.reduce_only),
                    int(order.market_index),
                )
                self._end_order(i, OrderStatus.Init())

    def cancel_by_hand(self, user_order_id: int | None = None) -> int:
        """The trader cancels orders in Drift's own UI (all open ones, or one user_order_id):
        the account changes, the cockpit is not told. Returns how many were cancelled."""
        done = 0
        for i, order in enumerate(self.user.orders):
            if type(order.status).__name__ != "Open":
                continue
            if user_order_id is not None and int(order.user_order_id) != user_order_id:
                continue
            self._end_order(i, OrderStatus.Canceled())
            done += 1
        self.slot += 1
        return done

    def modify_by_hand(self, user_order_id: int, trigger: float) -> None:
        """The trader drags the stop in Drift's own UI to another trigger price."""
        for i, order in enumerate(self.user.orders):
            if type(order.status).__name__ == "Open" and int(order.user_order_id) == user_order_id:
                self.user.orders[i] = dataclasses.replace(
                    order,
                    trigger_price=round(trigger * PRICE_PRECISION),
                    order_id=self.next_order_id,
                )
                self.next_order_id += 1
        self.slot += 1

    def cancel_resting_market_orders(self) -> None:
        """The market orders left on the book leave it unfilled (their auction expired)."""
        for i, order in enumerate(self.user.orders):
            if (
                type(order.status).__name__ == "Open"
                and type(order.order_type).__name__ == "Market"
            ):
                self._end_order(i, OrderStatus.Canceled())

    def trigger_price(self, index: int) -> float:
        """What the program fires trigger orders on: the median of three with the exchange's
        MedianTriggerPrice flag (the program's formula, adapters/drift/trigger.py), else the
        oracle."""
        from adapters.drift.trigger import trigger_price, uses_median

        oracle = round(self.prices[index] * PRICE_PRECISION)
        median = uses_median(self.state)
        return trigger_price(self.perp_markets[index], oracle, 0, median) / PRICE_PRECISION

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
            index = int(order.market_index)
            price = self.trigger_price(index)
            trigger = int(order.trigger_price) / PRICE_PRECISION
            below = type(order.trigger_condition).__name__ == "Below"
            if (below and price > trigger) or (not below and price < trigger):
                continue
            long = type(order.direction).__name__ == "Long"
            held = self.base(index)
            if order.reduce_only and (held == 0 or (held > 0) == long):
                self._end_order(i, OrderStatus.Canceled())
                continue
            self._fill(long, int(order.base_asset_amount), bool(order.reduce_only), index)
            self._end_order(i, OrderStatus.Init())
            fired += 1
        return fired

    def check_accounts(self, ix: DecodedIx, market_index: int | None = None) -> None:
        """The program loads every market the user touches (and the order's) from the
        instruction's remaining accounts; a missing one fails the whole transaction."""
        perps, spots = self.touched()
        if market_index is not None:
            perps.add(market_index)
        spots |= {int(self.perp_markets[i].quote_spot_market_index) for i in perps}
        for i in sorted(perps):
            if self.perp_markets[i].pubkey not in ix.accounts:
                raise ProgramError("PerpMarketNotFound", f"perp market {i}")
        for i in sorted(spots):
            if self.spot_markets[i].pubkey not in ix.accounts:
                raise ProgramError("SpotMarketNotFound", f"spot market {i}")

    def apply(self, ix: DecodedIx) -> None:
        """What the Drift program does with the instruction, as far as these tests need."""
        self.slot += 1
        if ix.name == "place_perp_order":
            p = ix.args["params"]
            self.check_accounts(ix, int(p.market_index))
            kind = type(p.order_type).__name__
            if kind == "Market" and self.fill_market_orders:
                self._fill(
                    type(p.direction).__name__ == "Long",
                    p.base_asset_amount,
                    p.reduce_only,
                    int(p.market_index),
                )
                return
            self._add_order(
                user_order_id=p.user_order_id,
                market_index=int(p.market_index),
                order_type=p.order_type,
                direction=p.direction,
                base=p.base_asset_amount,
                reduce_only=p.reduce_only,
                trigger_price=p.trigger_price,
                trigger_condition=p.trigger_condition,
            )
        elif ix.name == "modify_order_by_user_id":
            self.check_accounts(ix)
            uoid = ix.args["user_order_id"]
            params = ix.args["modify_order_params"]
            for i, order in enumerate(self.user.orders):
                if type(order.status).__name__ == "Open" and order.user_order_id == uoid:
                    self.user.orders[i] = dataclasses.replace(
                        order, trigger_price=params.trigger_price, order_id=self.next_order_id
                    )
                    self.next_order_id += 1
                    return
            # As the program: an unknown id is an error only under MustModify (policy bit 1);
            # without it the transaction succeeds and nothing changes.
            if int(params.policy or 0) & 1:
                raise ProgramError("OrderDoesNotExist")
        elif ix.name == "cancel_order_by_user_id":
            self.check_accounts(ix)
            uoid = ix.args["user_order_id"]
            for i, order in enumerate(self.user.orders):
                if type(order.status).__name__ == "Open" and order.user_order_id == uoid:
                    self._end_order(i, OrderStatus.Init())
                    return
            # As the program: "could not find user order id", and the transaction succeeds.
        else:
            raise RuntimeError(f"the fake chain does not implement {ix.name}")


def _available(pos: Any) -> bool:
    """driftpy's `is_available`: a perp position slot that holds nothing."""
    return not (
        int(pos.base_asset_amount)
        or int(pos.quote_asset_amount)
        or int(pos.open_orders)
        or int(pos.lp_shares)
    )


class OfflineMarkets(CachedDriftClientAccountSubscriber):
    """The cached subscriber over exactly the markets it was built for, fed from the fake chain
    instead of the RPC: a market it was not asked for is not there (as with the polling one)."""

    def __init__(
        self, program: Program, chain: FakeChain, perp_indexes: list[int], spot_indexes: list[int]
    ) -> None:
        super().__init__(program, list(perp_indexes), list(spot_indexes), [], False)
        self.chain = chain

    @property
    def fetches(self) -> int:
        return self.chain.market_fetches

    @property
    def fail_fetches(self) -> list[Exception]:
        return self.chain.market_faults

    @fail_fetches.setter
    def fail_fetches(self, faults: list[Exception]) -> None:
        self.chain.market_faults = faults

    def _load(self) -> None:
        c = self.chain
        perps = [c.perp_markets[i] for i in sorted(self.perp_market_indexes) if i in c.perp_markets]
        spots = [c.spot_markets[i] for i in sorted(self.spot_market_indexes) if i in c.spot_markets]
        oracles: dict[str, Any] = {}
        for sm in spots:
            oracle_id = get_oracle_id(sm.oracle, sm.oracle_source)
            oracles[oracle_id] = DataAndSlot(c.slot, c.spot_oracle_data(int(sm.market_index)))
        for pm in perps:
            oracle_id = get_oracle_id(pm.amm.oracle, pm.amm.oracle_source)
            oracles[oracle_id] = DataAndSlot(c.slot, c.oracle_data(int(pm.market_index)))
        self.cache = {
            "perp_markets": [DataAndSlot(c.slot, m) for m in perps],
            "spot_markets": [DataAndSlot(c.slot, m) for m in spots],
            "oracle_price_data": oracles,
            "state": DataAndSlot(c.slot, c.state),
        }

    async def update_cache(self) -> None:
        self.chain.market_fetches += 1
        if self.chain.market_faults:
            raise self.chain.market_faults.pop(0)
        self._load()


class OfflineUser(CachedUserAccountSubscriber):
    def __init__(self, program: Program, chain: FakeChain, pubkey: Any) -> None:
        super().__init__(pubkey, program)
        self.chain = chain
        self.fetches = 0
        self.fail_fetches: list[Exception] = []

    def _load(self) -> None:
        user = self.chain.user
        snapshot = dataclasses.replace(
            user,
            orders=list(user.orders),
            perp_positions=list(user.perp_positions),
            spot_positions=list(user.spot_positions),
        )
        self.user_and_slot = DataAndSlot(self.chain.slot, snapshot)

    async def update_cache(self) -> None:
        self.fetches += 1
        if self.fail_fetches:
            raise self.fail_fetches.pop(0)
        self._load()


class OfflineSubscription(AccountSubscriptionConfig):
    """driftpy's subscription config whose subscribers read the fake chain: whatever markets
    the client asks for (at start, or when it subscribes anew) come from the chain."""

    def __init__(self, chain: FakeChain) -> None:
        super().__init__("cached")
        self.chain = chain
        self.built: list[OfflineMarkets] = []

    def get_drift_client_subscriber(
        self,
        program: Program,
        perp_market_indexes: list[int] | None = None,
        spot_market_indexes: list[int] | None = None,
        oracle_infos: list[OracleInfo] | None = None,
    ) -> OfflineMarkets:
        markets = OfflineMarkets(
            program, self.chain, list(perp_market_indexes or []), list(spot_market_indexes or [])
        )
        self.built.append(markets)
        return markets

    def get_user_client_subscriber(self, program: Program, user_pubkey: Any) -> OfflineUser:
        return OfflineUser(program, self.chain, user_pubkey)


@dataclass
class Harness:
    client: DriftClient
    chain: FakeChain
    sender: FakeRpc
    """The RPC every transaction goes to (tests/fakes/drift_rpc.py)."""
    broker: DriftBroker
    config: DriftConfig
    sleeps: list[float]

    @property
    def markets(self) -> OfflineMarkets:
        """The client's market subscriber now (a new one after the client subscribes anew)."""
        markets = self.client.account_subscriber
        assert isinstance(markets, OfflineMarkets)
        return markets

    @property
    def user(self) -> OfflineUser:
        user = self.client.get_user(self.config.sub_account_id).account_subscriber
        assert isinstance(user, OfflineUser)
        return user

    @property
    def subscribed_markets(self) -> tuple[list[int], list[int]]:
        """(perp, spot) market indexes the client's subscriber holds."""
        return sorted(self.markets.perp_market_indexes), sorted(self.markets.spot_market_indexes)

    def set_oracle(self, price: float, market_index: int = 0) -> int:
        """Move an oracle (a new slot): the markets cache sees it, resting triggers through it
        fire as a keeper would fire them. Returns how many triggers fired."""
        self.chain.prices[market_index] = price
        self.chain.slot += 1
        fired = self.chain.fire_triggers()
        self.markets._load()
        return fired


async def _no_lookup_tables() -> list[Any]:
    return []


def make_harness(
    wallet: Wallet,
    *,
    config: DriftConfig | None = None,
    min_order_size: int = SOL_STEP,
    oracle_price: float = 150.0,
    connected: bool = True,
) -> Harness:
    """A DriftBroker on a real DriftClient over the fake chain; sleeps are recorded, not slept.

    `connected`: the client's subscribers are loaded (with the configured markets) and the
    broker is ready; else nothing is loaded and the broker's `connect()` does it, as at start.
    """
    cfg = config or DriftConfig(rpc_url=CLOSED_RPC, confirm_timeout_s=5, poll_interval_s=1)
    keypair = wallet.keypair()
    chain = FakeChain(
        drift_program(), keypair.pubkey(), oracle_price=oracle_price, min_order_size=min_order_size
    )
    subscription = OfflineSubscription(chain)
    client = DriftClient(
        AsyncClient(CLOSED_RPC),
        keypair,
        env="mainnet",
        account_subscription=subscription,
        perp_market_indexes=sorted(set(cfg.markets.values())),
        spot_market_indexes=[0],
        oracle_infos=[],
        active_sub_account_id=cfg.sub_account_id,
        sub_account_ids=[cfg.sub_account_id],
    )
    sender = FakeRpc(chain)
    sender.install(client.connection)
    # The market lookup tables are read once at connect over the RPC; offline there are none.
    client.fetch_market_lookup_table_accounts = _no_lookup_tables  # type: ignore[method-assign]
    if connected:
        client.account_subscriber._load()
        drift_user = DriftUser(
            client, client.get_user_account_public_key(cfg.sub_account_id), subscription
        )
        drift_user.account_subscriber._load()
        client.users[cfg.sub_account_id] = drift_user

    sleeps: list[float] = []
    now = [1_700_000_000_000]

    def clock() -> int:
        return now[0]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += int(seconds * 1000)

    broker = DriftBroker(client, cfg, lookup_tables=[], clock=clock, sleep=sleep)
    broker._connected = connected
    return Harness(client, chain, sender, broker, cfg, sleeps)
