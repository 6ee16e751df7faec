"""Building the DriftClient: explicit market lists (no getProgramAccounts), polling (driftpy's
BulkAccountLoader) or websocket account subscriptions. Nothing is fetched here.

driftpy is imported only inside the function (it costs ~2 s to import).
"""

from __future__ import annotations

from typing import Any

from adapters.base import BrokerError
from adapters.drift.wallet import Wallet
from cockpit.config import DriftConfig


def build_drift_client(config: DriftConfig, wallet: Wallet) -> Any:
    """A DriftClient with a polling subscription over explicit market lists.

    Explicit market and oracle lists mean driftpy never calls getProgramAccounts (which public
    RPCs refuse or rate-limit). Nothing is fetched here; `connect_broker` (the broker's
    `connect`) reads the user account and subscribes to the configured markets and every market
    the account touches (adapters/drift/markets.py).
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
    if config.account_subscription == "websocket":
        subscription = AccountSubscriptionConfig("websocket", commitment=Confirmed)
    else:
        loader = BulkAccountLoader(connection, Confirmed, config.poll_interval_s)
        subscription = AccountSubscriptionConfig("polling", loader, Confirmed)
    return DriftClient(
        connection,
        wallet.keypair(),
        env=config.env,  # type: ignore[arg-type]
        account_subscription=subscription,
        perp_market_indexes=indexes,
        spot_market_indexes=[0],
        oracle_infos=oracles,
        active_sub_account_id=config.sub_account_id,
        sub_account_ids=[config.sub_account_id],
    )
