"""The last price a session saw per symbol, kept in the settings table so a new demo market
resumes from where the previous one stopped instead of jumping back to its start price."""

from __future__ import annotations

from state.models import DEFAULT_ACCOUNT
from state.store import Store


def last_price_key(symbol: str) -> str:
    return f"last_price:{symbol}"


def last_tick_ms_key(symbol: str) -> str:
    """When that last price was seen, in the session's time (a replay's: the data's)."""
    return f"last_tick_ms:{symbol}"


async def last_price(db_url: str, symbol: str, account: str = DEFAULT_ACCOUNT) -> float | None:
    """The last price a previous session of `account` saw for `symbol`, or None."""
    return (await last_prices(db_url, [symbol], account))[symbol]


async def last_prices(
    db_url: str, symbols: list[str], account: str = DEFAULT_ACCOUNT
) -> dict[str, float | None]:
    """The last price a previous session of `account` saw for each of `symbols` (None: never
    seen)."""
    store = await Store.open(db_url, account=account)
    try:
        values = {s: await store.get_setting(last_price_key(s)) for s in symbols}
    finally:
        await store.close()
    prices: dict[str, float | None] = {}
    for symbol, value in values.items():
        try:
            prices[symbol] = float(value) if value is not None else None
        except ValueError:
            prices[symbol] = None
    return prices
