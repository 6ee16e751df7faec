"""Parameter grids: a TOML file of `[[set]]` tables, each expanded into parameter sets.

    [[set]]
    policy = "fixed"                 # or a list: ["fixed", "atr_scaled"]
    tp1_pct = [1.0, 1.5, 2.0]        # a list sweeps: one set per value (cartesian product)
    breakeven_trigger_pct = 0.5
    bias = [false, true]

    [[set]]
    policy = "quality_tiers"
    trail_atr = [1.5, 2.5]           # the runner's trail, on every tier
    tiers = [{ name = "high", min_score = 80, tp1_fraction = 0.5, tp1_atr = 2.0,
               tp2_fraction = 0.25, tp2_atr = 4.0, trail_atr = 2.5 }]   # replaces the tiers

Keys not set come from the settings (`[policy]`, `[quality_tiers]`, `[atr]`,
`[direction_bias]`). An unknown key, a value of the wrong type or a set the config models refuse
(e.g. tp2_pct not beyond tp1_pct) is a `GridError` naming the file, the set and the key.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cockpit.backtest.plans import ParamSet
from cockpit.config import (
    POLICY_NAMES,
    AtrConfig,
    FixedPolicyConfig,
    QualityTier,
    QualityTiersConfig,
    Settings,
)

FIXED_KEYS = tuple(FixedPolicyConfig.model_fields)
ATR_KEYS = ("factor_min", "factor_max")
KEYS = ("policy", "bias", "trail_atr", "tiers", *FIXED_KEYS, *ATR_KEYS)


class GridError(ValueError):
    """A grid file that cannot be run; the message is one line for the trader."""


def _values(key: str, value: Any) -> list[Any]:
    """A scalar is one value; a list sweeps (for `tiers`, a list of tier lists sweeps)."""
    if key == "tiers":
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return list(value)
        return [value]
    return list(value) if isinstance(value, list) else [value]


def load_grid(path: Path, settings: Settings) -> list[ParamSet]:
    """Every parameter set of the grid file, in file order (then product order)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GridError(f"no such grid file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GridError(f"grid {path}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GridError(f"grid {path}: not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"set"})
    if extra:
        raise GridError(f"grid {path}: unknown top-level key {extra[0]!r}; use [[set]] tables")
    tables = data.get("set")
    if not isinstance(tables, list) or not tables:
        raise GridError(f"grid {path}: no [[set]] table")
    out: list[ParamSet] = []
    for n, table in enumerate(tables, start=1):
        out.extend(_expand(path, n, table, settings))
    return out


def _expand(path: Path, n: int, table: dict[str, Any], settings: Settings) -> list[ParamSet]:
    where = f"grid {path}: set {n}"
    unknown = [key for key in table if key not in KEYS]
    if unknown:
        raise GridError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    if "policy" not in table:
        raise GridError(f"{where}: needs a policy ({', '.join(POLICY_NAMES)})")
    keys = list(table)
    combos = itertools.product(*(_values(key, table[key]) for key in keys))
    out = []
    for combo in combos:
        chosen = dict(zip(keys, combo, strict=True))
        out.append(_param_set(where, chosen, settings))
    return out


def _param_set(where: str, chosen: dict[str, Any], settings: Settings) -> ParamSet:
    policy = chosen["policy"]
    if policy not in POLICY_NAMES:
        raise GridError(f"{where}: unknown policy {policy!r} ({', '.join(POLICY_NAMES)})")
    bias = chosen.get("bias", False)
    if not isinstance(bias, bool):
        raise GridError(f"{where}: bias must be true or false, not {bias!r}")
    try:
        fixed = FixedPolicyConfig(
            **{
                **settings.policy.model_dump(),
                **{k: v for k, v in chosen.items() if k in FIXED_KEYS},
            }
        )
        atr = AtrConfig(
            **{**settings.atr.model_dump(), **{k: v for k, v in chosen.items() if k in ATR_KEYS}}
        )
        tiers = settings.quality_tiers
        if "tiers" in chosen:
            tiers = QualityTiersConfig(tiers=chosen["tiers"])
        if "trail_atr" in chosen:
            tiers = QualityTiersConfig(
                tiers=[
                    QualityTier(**{**t.model_dump(), "trail_atr": chosen["trail_atr"]})
                    for t in tiers.tiers
                ]
            )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(part) for part in err["loc"])
        raise GridError(f"{where}: {loc + ': ' if loc else ''}{err['msg']}") from None
    overrides = {k: v for k, v in chosen.items() if k not in ("policy", "bias")}
    return ParamSet(
        policy,
        fixed=fixed,
        tiers=tiers,
        atr=atr,
        bias=bias,
        bias_cfg=settings.direction_bias,
        overrides=overrides,
    )
