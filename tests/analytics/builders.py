"""TradeRecords for analytics tests, built by hand so every expected value can be worked out."""

from __future__ import annotations

from typing import Any

from cockpit.analytics.trades import TradeRecord

DAY_MS = 86_400_000
T0 = 1_760_000_000_000 - 1_760_000_000_000 % DAY_MS  # a UTC midnight


def trade(net: float = 0.0, *, i: int = 0, day: int = 0, **fields: Any) -> TradeRecord:
    """A closed long of size 1 from 100 whose net P&L is `net` (no fees unless given).

    `i` orders trades that close on the same day; `day` is the UTC day of the exit.
    """
    fees = fields.pop("fees", 0.0)
    values: dict[str, Any] = {
        "id": i + 1,
        "symbol": "SOL-PERP",
        "side": "long",
        "entry_ts_ms": T0 + day * DAY_MS + i * 1000,
        "exit_ts_ms": T0 + day * DAY_MS + i * 1000 + 500,
        "entry_price": 100.0,
        "exit_price": 100.0 + net + fees,
        "size": 1.0,
        "realized_pnl": net + fees,
        "fees": fees,
    }
    values.update(fields)
    return TradeRecord(**values)


def trades(nets: list[float], **fields: Any) -> list[TradeRecord]:
    """One trade per net P&L, closing in list order on day 0."""
    return [trade(net, i=i, **fields) for i, net in enumerate(nets)]
