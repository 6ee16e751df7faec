"""LIVE-SMALL on Drift: a Broker and an oracle-price MarketFeed on driftpy 0.8.x.

What this package guarantees (DESIGN.md section 5, docs/drift.md):

- every exit is reduce-only; sizes are rounded *down* to the market's `amm.order_step_size`, an
  order below `amm.min_order_size` (or a partial close leaving such a remainder) is refused with
  a clear message and nothing is sent;
- every order carries a `user_order_id` (1..255) derived from the caller's `client_order_id` and
  kept for it; a transaction is signed once and the same bytes are rebroadcast until it is
  confirmed or its deadline passes (sender.py: priority fee, compute-unit limit, deadline, the
  program's error read and raised as a refusal), and no lock is held while it is sent;
- a sent transaction is only "placed"; `confirm()` reads the refreshed user account and reports
  a fill only when the position or order state shows it;
- stops are reduce-only TriggerMarket orders (Below for a long, Above for a short), moved in
  place with `modify_order_by_user_id` (one instruction: never a moment without a stop) and
  cancelled by user_order_id.

driftpy costs ~2 s to import, so it is imported only inside functions; no module of this
package imports it at module level. The names below are loaded on first use, so importing
`adapters.drift.wallet` (the CLI does, to catch WalletError) loads no broker code. The broker
talks to a `DriftClient` built by `build_drift_client` (polling subscription over explicit
market lists) or, in tests, by tests/fakes/drift_harness.py.

Modules: `units` (precisions, conversions, rounding to the step and tick), `orders`
(PlacedOrder, Confirmation), `errors`, `markets` (every market the sub-account touches is
subscribed, anew when that set grows), `sender` (one transaction: priced, rebroadcast, confirmed
within a deadline), `build` (building the DriftClient), `client` (the account reads and the
sending every order goes through), `stops` (on-chain stops), `broker` (DriftBroker: market
orders and fills), `oracle_feed` (DriftOracleFeed), `reconcile` (start-up comparison with the
venue), `wallet` (the key).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.drift.broker import (
        DriftBroker,
        connect_broker,
    )
    from adapters.drift.build import build_drift_client
    from adapters.drift.client import (
        Clock,
        Sleep,
        wall_clock_ms,
    )
    from adapters.drift.errors import (
        OrderNotConfirmed,
        StopNotPlaced,
        describe_error,
        is_rate_limit,
    )
    from adapters.drift.oracle_feed import (
        CandleSource,
        DriftOracleFeed,
    )
    from adapters.drift.orders import (
        Confirmation,
        PlacedOrder,
    )
    from adapters.drift.units import (
        BASE_PRECISION,
        MAX_USER_ORDER_ID,
        PRICE_PRECISION,
        QUOTE_PRECISION,
        VENUE,
        base_to_float,
        floor_to_step,
        price_to_float,
        to_base,
        trigger_to_int,
        variant,
    )

_HOME = {
    "DriftBroker": "broker",
    "connect_broker": "broker",
    "Clock": "client",
    "Sleep": "client",
    "build_drift_client": "build",
    "wall_clock_ms": "client",
    "OrderNotConfirmed": "errors",
    "StopNotPlaced": "errors",
    "describe_error": "errors",
    "is_rate_limit": "errors",
    "CandleSource": "oracle_feed",
    "DriftOracleFeed": "oracle_feed",
    "Confirmation": "orders",
    "PlacedOrder": "orders",
    "BASE_PRECISION": "units",
    "MAX_USER_ORDER_ID": "units",
    "PRICE_PRECISION": "units",
    "QUOTE_PRECISION": "units",
    "VENUE": "units",
    "base_to_float": "units",
    "floor_to_step": "units",
    "price_to_float": "units",
    "to_base": "units",
    "trigger_to_int": "units",
    "variant": "units",
}

__all__ = [
    "BASE_PRECISION",
    "MAX_USER_ORDER_ID",
    "PRICE_PRECISION",
    "QUOTE_PRECISION",
    "VENUE",
    "CandleSource",
    "Clock",
    "Confirmation",
    "DriftBroker",
    "DriftOracleFeed",
    "OrderNotConfirmed",
    "PlacedOrder",
    "Sleep",
    "StopNotPlaced",
    "base_to_float",
    "build_drift_client",
    "connect_broker",
    "describe_error",
    "floor_to_step",
    "is_rate_limit",
    "price_to_float",
    "to_base",
    "trigger_to_int",
    "variant",
    "wall_clock_ms",
]


def __getattr__(name: str) -> object:
    """`from adapters.drift import DriftBroker` loads adapters.drift.broker on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
