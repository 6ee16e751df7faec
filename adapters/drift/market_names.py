"""The Drift perp markets the config names, checked against driftpy's own market table.

`drift.markets` maps a name to a perp market index, and only the index reaches the program:
``{"ETH-PERP": 1}`` would quietly trade BTC-PERP (index 1 on mainnet) while the screen says
ETH-PERP. So every name is looked up in driftpy's constants for the configured env (mainnet
and devnet differ) and a wrong or unknown one is refused at start with the right index.

The ATR needs candles, which Drift does not serve: they come from the `[feed]` exchange under
the ccxt symbol of the same asset, taken from `drift.candle_symbols` (cockpit/config.py holds
the default table: SOL-PERP -> SOL/USDT:USDT, ...). A market without one gets no candles (the
ATR policies refuse it with a reason) rather than a guessed symbol.

Only `driftpy.constants.perp_markets` is imported (about 0.3 s), lazily, not the client.
"""

from __future__ import annotations

from cockpit.config import DriftConfig


class MarketConfigError(ValueError):
    """`drift.markets` names a market driftpy does not know, or gives it the wrong index."""


def perp_market_indexes(env: str) -> dict[str, int]:
    """driftpy's perp markets of `env` ("mainnet" or "devnet"): symbol -> market index."""
    from driftpy.constants.perp_markets import (
        devnet_perp_market_configs,
        mainnet_perp_market_configs,
    )

    configs = mainnet_perp_market_configs if env == "mainnet" else devnet_perp_market_configs
    return {c.symbol: c.market_index for c in configs}


def check_markets(config: DriftConfig) -> None:
    """Refuse a name driftpy does not know on `config.env`, or an index that is not its own."""
    table = perp_market_indexes(config.env)
    names = {index: name for name, index in table.items()}
    for name, index in config.markets.items():
        right = table.get(name)
        if right is None:
            close = [known for known in table if known.upper() == name.upper()]
            hint = f"did you mean {close[0]}?" if close else _known_names(table)
            raise MarketConfigError(
                f"drift.markets: {name} is not a Drift {config.env} perp market ({hint})"
            )
        if right != index:
            other = names.get(index)
            was = f"{index} is {other}" if other else f"{index} is no {config.env} perp market"
            raise MarketConfigError(
                f"drift.markets: {name} is perp market {right} on {config.env}, not {index} "
                f'({was}); write "{name}" = {right} under [drift.markets]'
            )


def _known_names(table: dict[str, int]) -> str:
    first = sorted(table, key=table.__getitem__)[:6]
    return (
        f"driftpy knows {', '.join(first)}, ... ({len(table)} markets); "
        "a market newer than the installed driftpy needs an update"
    )


def missing_candle_symbols(config: DriftConfig) -> list[str]:
    """Configured markets with no ccxt symbol for their ATR candles."""
    return [name for name in config.markets if not config.candle_symbols.get(name)]
