"""The RPC budget and the account loader's health (issue 13, item 5), on the production client.

`DriftBroker.unconnected` builds the real polling DriftClient (driftpy's BulkAccountLoader) and
its solana-py connection talks to the fake JSON-RPC at the wire (tests/fakes/drift_rpc.py), which
serves the chain's accounts encoded by the program's own coder: every request the cockpit makes
is a real JSON-RPC request, counted where it leaves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.drift import DriftBroker, DriftOracleFeed
from adapters.drift.rpc_health import LoaderWatch, RpcBudget
from cockpit.config import DriftConfig
from cockpit.domain import FeedState
from tests.cockpit.drift_rig import new_wallet
from tests.fakes.drift_harness import CLOSED_RPC, FakeChain, drift_program
from tests.fakes.drift_rpc import FakeRpc

THREE_MARKETS = {"SOL-PERP": 0, "BTC-PERP": 1, "ETH-PERP": 2}


@dataclass
class Live:
    broker: DriftBroker
    chain: FakeChain
    rpc: FakeRpc
    feed: DriftOracleFeed

    @property
    def loader(self) -> Any:
        return self.broker.client.account_subscriber.bulk_account_loader


async def _no_tables() -> list[Any]:
    return []


async def production(poll_interval_s: float, **over: Any) -> Live:
    """The production broker and feed on the polling client, connected over the fake RPC."""
    cfg = DriftConfig(
        rpc_url=CLOSED_RPC,
        markets=THREE_MARKETS,
        poll_interval_s=poll_interval_s,
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
        **over,
    )
    wallet = new_wallet()
    broker = DriftBroker.unconnected(cfg, wallet)
    chain = FakeChain(drift_program(), wallet.keypair().pubkey())
    rpc = FakeRpc(chain)
    rpc.install(broker.client.connection)
    broker.rpc.instrument(broker.client.connection)
    broker.client.fetch_market_lookup_table_accounts = _no_tables  # none offline
    await broker.connect()
    feed = DriftOracleFeed(broker.client, cfg, rpc=broker.rpc, loader=broker.loader_watch)
    return Live(broker, chain, rpc, feed)


@pytest.fixture
async def idle() -> AsyncIterator[Live]:
    """The loader polls once an hour from now on: each test drives the rounds itself."""
    live = await production(0.02)  # (driftpy waits one interval per oracle while subscribing)
    loader = live.loader
    loader._stop_loading()
    loader.frequency = 3600
    before = live.rpc.requests["getMultipleAccounts"]
    loader._start_loading()  # loads once, then sleeps an hour
    for _ in range(3000):
        if live.rpc.requests["getMultipleAccounts"] > before:
            break
        await asyncio.sleep(0.01)
    assert live.rpc.requests["getMultipleAccounts"] > before
    yield live
    await live.feed.close()
    await live.broker.close_client()


async def test_a_poll_round_costs_two_calls_whatever_the_number_of_markets(idle: Live) -> None:
    budget = RpcBudget(100)
    budget.instrument(idle.broker.client.connection)
    for symbol in THREE_MARKETS:  # three feed loops read the loader's cache: no request
        await idle.feed._read(0)
        assert symbol
    assert budget.total == 0
    await idle.loader.load()  # what the loader's loop does once per poll_interval_s
    await idle.broker.refresh()  # the keeper's read of the user account, once per poll
    assert budget.total == 2, "one batched read of every account, one of the user"
    accounts = len(idle.loader.accounts_to_load)
    assert accounts >= 3 + 2 + 3, "3 perp and 2 spot markets, their oracles, state, user"
    # at the default poll_interval_s of 1 s: 20 calls per 10 s, under half of a public RPC's 100
    assert budget.total * 10 / DriftConfig().poll_interval_s <= DriftConfig().rpc_limit_per_10s / 2


async def test_the_budget_counts_what_leaves_and_says_the_rpcs_errors(idle: Live) -> None:
    now = [0.0]
    budget = RpcBudget(100, clock=lambda: now[0])
    budget.instrument(idle.broker.client.connection)
    await idle.loader.load()
    await idle.broker.client.connection.get_block_height()
    assert budget.per_10s == 2 and budget.describe() == "rpc 2/100 per 10 s"
    idle.rpc.read_faults = [429]
    with pytest.raises(ValueError):  # driftpy's load raises on a 429 page (not JSON)
        await idle.loader.load()
    assert budget.recent_error == "rate limited (HTTP 429)" and budget.rate_limited == 1
    now[0] += 11
    assert budget.per_10s == 0 and budget.recent_error is None
    budget.record(60)
    assert budget.describe() == "rpc 60/100 per 10 s (over half the limit)"


async def test_a_dead_loader_is_shown_with_its_words_and_restarted() -> None:
    live = await production(0.02)
    try:
        feed = live.feed
        ticks = feed.ticks("SOL-PERP")
        first = await asyncio.wait_for(anext(ticks), 60)
        assert first.price == 150.0
        assert feed.status.state is FeedState.CONNECTED
        assert "rpc " in (feed.status.detail or "") and "per 10 s" in (feed.status.detail or "")

        live.rpc.read_faults = ["node is unhealthy: behind by 900 slots"]
        for _ in range(3000):  # the loader's loop meets the JSON-RPC error and ends
            if live.loader.task is None or live.loader.task.done():
                break
            await asyncio.sleep(0.01)
        assert live.loader.task.done()
        down = live.broker.loader_watch.check()
        assert down is not None and "node is unhealthy: behind by 900 slots" in down
        assert live.broker.loader_watch.restarts == 1

        live.chain.prices[0] = 151.5  # the restarted loop reads the accounts again
        live.chain.slot += 10
        tick = await asyncio.wait_for(anext(ticks), 60)
        assert tick.price == 151.5
        assert live.broker.loader_watch.check() is None
        assert "node is unhealthy" in (feed.status.detail or ""), "the error is still said"
        await ticks.aclose()
    finally:
        await live.feed.close()
        await live.broker.close_client()


async def test_a_429_storm_is_retried_with_backoff_not_in_a_tight_loop(idle: Live) -> None:
    now = [0.0]
    watch = LoaderWatch(idle.broker.client, idle.broker.config, idle.broker.rpc, lambda: now[0])
    loader = idle.loader
    loader._stop_loading()  # as if its loop had ended
    idle.rpc.read_faults = [429] * 1000
    restarts = []
    for _ in range(100):  # one second of checks, every 10 ms
        watch.check()
        if loader.task is not None:
            restarts.append(now[0])
            loader.task.cancel()  # the restarted loop dies again at once (the storm)
            await asyncio.sleep(0)
            loader.task = None
        now[0] += 0.01
    # backing off 0.05, 0.1, 0.2, 0.2 ... s: a handful in a second, not a hundred
    assert 3 <= len(restarts) <= 8
    assert watch.error is not None and "account loader stopped" in watch.error


def test_a_websocket_subscription_is_a_config_option() -> None:
    from adapters.drift import build_drift_client

    cfg = DriftConfig(rpc_url=CLOSED_RPC, account_subscription="websocket")
    client = build_drift_client(cfg, new_wallet())  # builds only: nothing is fetched
    assert type(client.account_subscriber).__name__ == "WebsocketDriftClientAccountSubscriber"
    assert client.account_subscription_config.type == "websocket"


async def test_the_feed_outlives_a_very_long_outage() -> None:
    """Its backoff used to double a float until it overflowed after ~1000 failures, which ended
    the feed for good after a few hours of a dead RPC."""
    from tests.fakes.drift_harness import RpcDown, make_harness

    h = make_harness(new_wallet())
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    feed = DriftOracleFeed(h.client, h.config, clock=lambda: 1_700_000_000_000, sleep=sleep)
    h.markets.fail_fetches = [RpcDown("HTTP 503: node is behind")] * 1500
    tick = await anext(feed.ticks("SOL-PERP"))
    assert tick.price == 150.0
    assert len(waits) == 1500 and max(waits) == h.config.backoff_max_s
    await feed.close()
