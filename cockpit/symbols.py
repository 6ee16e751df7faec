"""The symbols of one session: the list checked once, before any screen opens (issue 16 item 5).

A session trades one or more symbols, each with its own feed task, prices, ATR, candles,
staleness and exits. The list comes from `--symbol` (repeatable), `[feed] symbols` (or the old
single `[feed] symbol`) for the live feed, and `cockpit demo --symbol` / `[demo] symbols` for the
demo. A symbol named twice would give two feed tasks fighting over one stream, so a duplicate is
refused here with the symbol's name; so is a market the demo does not simulate. A live
exchange's markets are checked against the exchange itself (cockpit/feeds.py).

Pure: no I/O, no ccxt. config.py's validators call it, so a bad `[feed] symbols` in the config
file is an "invalid settings" line with exit status 2 like any other bad setting.
"""

from __future__ import annotations

from collections.abc import Sequence

DEMO_MARKETS: dict[str, float] = {
    "SOL-PERP": 150.0,
    "BTC-PERP": 95_000.0,
    "ETH-PERP": 3_500.0,
}
"""The markets `cockpit demo` simulates, with the price each starts from the first time (later
runs resume from the last price the demo saw)."""


def perp_symbol(value: str) -> str:
    """A ccxt perp symbol (BASE/QUOTE:SETTLE), else ValueError naming the bad one."""
    if "/" not in value or ":" not in value:
        raise ValueError(f"symbol must be a ccxt perp symbol like SOL/USDT:USDT, got {value!r}")
    return value


def check_symbol_list(symbols: Sequence[str], where: str) -> list[str]:
    """`symbols` in order, refused with the first duplicate (or an empty name) named.

    `where` says where the list came from ("--symbol", "feed.symbols") in the message."""
    seen: set[str] = set()
    for symbol in symbols:
        if not symbol.strip():
            raise ValueError(f"{where}: an empty symbol name")
        if symbol in seen:
            raise ValueError(f"{where}: {symbol} is named twice (one feed per symbol)")
        seen.add(symbol)
    return list(symbols)


def demo_markets(symbols: Sequence[str], own: str, own_price: float) -> dict[str, float]:
    """Each demo symbol with its first start price; `own` is `[demo] symbol`, which may be any
    name (it starts at `[demo] start_price`, as before). Any other unknown market: ValueError."""
    known = dict(DEMO_MARKETS)
    known[own] = own_price
    unknown = [s for s in symbols if s not in known]
    if unknown:
        raise ValueError(
            f"the demo does not simulate {', '.join(unknown)}: it has {', '.join(known)}"
        )
    return {s: known[s] for s in check_symbol_list(symbols, "demo symbols")}
