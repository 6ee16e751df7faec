"""The markets the DriftClient holds: every market the sub-account touches, and the configured.

driftpy adds the accounts of every market the user touches (each perp position that is not
empty, each spot balance, their oracles and quote market) to every instruction it builds, and
the Drift program refuses an instruction without them. A client subscribed only to the cockpit's
own markets therefore cannot build a stop or a close on a sub-account that also holds SOL as
collateral (`'NoneType' object has no attribute 'pubkey'`) or a BTC-PERP position (`No perp
market account found for market index 1`).

So the user account is read first, the client subscribes to the union, and whenever a refresh of
the account shows a market it does not hold yet (the trader deposited or traded in Drift's own
UI), it subscribes anew: a new subscriber of the same kind (polling, websocket, ...) over the
larger set is loaded, swapped in, and the old one is dropped. The swap runs beside the poll loop;
a send awaits it before it builds its instruction. driftpy is imported only inside functions.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from adapters.backoff import Backoff
from adapters.base import BrokerError
from adapters.drift.errors import describe_error
from cockpit.config import DriftConfig

log = logging.getLogger(__name__)

QUOTE_SPOT_MARKET = 0


def touched_markets(user: Any) -> tuple[set[int], set[int]]:
    """(perp, spot) market indexes the user account touches, as driftpy and the program see
    them: a perp position with a base, a quote, open orders or LP shares; a spot position with
    a balance or open orders (and the quote market whenever any of them exists)."""
    perps = {
        int(p.market_index)
        for p in user.perp_positions
        if int(p.base_asset_amount)
        or int(p.quote_asset_amount)
        or int(p.open_orders)
        or int(p.lp_shares)
    }
    spots = {
        int(s.market_index)
        for s in user.spot_positions
        if int(s.scaled_balance) or int(s.open_orders)
    }
    if perps or spots:
        spots.add(QUOTE_SPOT_MARKET)
    return perps, spots


def perp_market_name(env: str, index: int) -> str | None:
    """Drift's own name of a perp market ("BTC-PERP"), from driftpy's market constants."""
    from driftpy.constants.perp_markets import (
        devnet_perp_market_configs,
        mainnet_perp_market_configs,
    )

    configs = mainnet_perp_market_configs if env == "mainnet" else devnet_perp_market_configs
    return next((c.symbol for c in configs if c.market_index == index), None)


def oracle_infos(env: str, perps: set[int], spots: set[int]) -> list[Any]:
    """The oracles of these markets that driftpy's constants know (a market they do not know
    gets its oracle from its own account once loaded)."""
    from driftpy.constants.perp_markets import (
        devnet_perp_market_configs,
        mainnet_perp_market_configs,
    )
    from driftpy.constants.spot_markets import (
        devnet_spot_market_configs,
        mainnet_spot_market_configs,
    )
    from driftpy.types import OracleInfo

    mainnet = env == "mainnet"
    perp_configs = mainnet_perp_market_configs if mainnet else devnet_perp_market_configs
    spot_configs = mainnet_spot_market_configs if mainnet else devnet_spot_market_configs
    found: list[Any] = [c for c in perp_configs if c.market_index in perps]
    found += [c for c in spot_configs if c.market_index in spots]
    out: list[Any] = []
    seen: set[tuple[str, str]] = set()
    for c in found:
        key = (str(c.oracle), type(c.oracle_source).__name__)
        if key not in seen:
            seen.add(key)
            out.append(OracleInfo(c.oracle, c.oracle_source))
    return out


class MarketSubscription:
    """Which markets the client holds, and subscribing anew when the account touches more."""

    def __init__(self, client: Any, config: DriftConfig) -> None:
        self._client = client
        self._config = config
        self.perps: set[int] = set(config.markets.values())
        self.spots: set[int] = {QUOTE_SPOT_MARKET}
        self._task: asyncio.Task[None] | None = None
        self._backoff = Backoff(config.backoff_initial_s, config.backoff_max_s, jitter=0.0)
        self._retry_at = 0.0
        self.error: str | None = None
        """Why the last subscription failed (None once one worked)."""

    def missing(self, user: Any) -> tuple[set[int], set[int]]:
        """The markets `user` touches that the client does not hold yet."""
        perps, spots = touched_markets(user)
        return perps - self.perps, spots - self.spots

    async def connect(self) -> None:
        """Read the user account first, then subscribe to its markets and the configured ones."""
        client, sub = self._client, self._config.sub_account_id
        await client.add_user(sub)
        perps, spots = touched_markets(client.get_user_account(sub))
        await self._subscribe(self.perps | perps, self.spots | spots)

    def note(self, user: Any) -> None:
        """After a refresh: start subscribing anew (beside the caller) if `user` touches a
        market the client does not hold. A failed attempt is retried with backoff."""
        perps, spots = self.missing(user)
        if not (perps or spots) or self._running():
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._retry_at:
            return
        self._task = loop.create_task(
            self._grow(self.perps | perps, self.spots | spots), name="drift: subscribe markets"
        )

    async def ensure(self, user: Any) -> None:
        """Before building an instruction: every market `user` touches is held, or BrokerError
        (nothing is sent: the instruction could not carry the accounts the program needs)."""
        if self._running():
            assert self._task is not None
            await asyncio.shield(self._task)
        perps, spots = self.missing(user)
        if perps or spots:
            await self._grow(self.perps | perps, self.spots | spots)
        perps, spots = self.missing(user)
        if perps or spots:
            raise BrokerError(
                f"the Drift client could not load markets the account holds (perp "
                f"{sorted(perps)}, spot {sorted(spots)}): {self.error or 'not loaded'}"
            )

    async def close(self) -> None:
        if self._running():
            assert self._task is not None
            self._task.cancel()

    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _grow(self, perps: set[int], spots: set[int]) -> None:
        try:
            await self._subscribe(perps, spots)
        except Exception as exc:  # the RPC failed: the old subscription stays, retried later
            self.error = describe_error(exc)
            delay = self._backoff.next_delay()
            self._retry_at = asyncio.get_running_loop().time() + delay
            log.warning(
                "drift: subscribing to perp %s spot %s failed (%s); retrying in %g s",
                sorted(perps),
                sorted(spots),
                self.error,
                delay,
            )

    async def _subscribe(self, perps: set[int], spots: set[int]) -> None:
        """A new subscriber of the client's kind over `perps`/`spots`, loaded, then swapped in
        for the old one (which keeps serving until the new one is ready)."""
        client = self._client
        new = client.account_subscription_config.get_drift_client_subscriber(
            client.program,
            sorted(perps),
            sorted(spots),
            oracle_infos(self._config.env, perps, spots),
        )
        await new.subscribe()
        old = client.account_subscriber
        client.account_subscriber = new
        added = (sorted(perps - self.perps), sorted(spots - self.spots))
        self.perps, self.spots = set(perps), set(spots)
        self.error = None
        self._backoff.reset()
        self._retry_at = 0.0
        if old is not new:
            try:
                await old.unsubscribe()
            except Exception as exc:  # the old one is dropped either way
                log.warning("drift: dropping the old subscription failed: %s", describe_error(exc))
        if added != ([], []):
            log.info("drift: subscribed to perp markets %s, spot markets %s", *added)
