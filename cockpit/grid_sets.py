"""Parameter-set tables (`[[set]]` of a grid file, `[[ledger.sets]]` of the config) expanded and
checked against the settings, for `cockpit backtest --grid` and the counterfactual ledger.

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

Keys not set come from the settings (`[policy]`, `[quality_tiers]`, `[atr]`). An unknown key, a
value of the wrong type or a set the config models refuse (e.g. tp2_pct not beyond tp1_pct) is a
`GridError` naming the source, the set and the key, in one line.

Why a module of its own, importing nothing of ours: cockpit/config.py checks `[ledger]`'s sets
when the settings load (a bad set is one line and exit 2, not a ledger that fails later), so this
cannot import the config (a cycle) nor the backtest (numba, which the cockpit must start
without). The config models are taken from the settings' own values (`type(base.policy)`).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

POLICIES = ("fixed", "atr_scaled", "quality_tiers")  # config.POLICY_NAMES, without a cycle
ATR_KEYS = ("factor_min", "factor_max")
SET_KEYS = ("policy", "bias", "trail_atr", "tiers")


class GridError(ValueError):
    """A set table that cannot be run; the message is one line for the trader."""


class Base(Protocol):
    """What a set's unset keys come from: the settings (or their validated parts)."""

    @property
    def policy(self) -> BaseModel: ...
    @property
    def atr(self) -> BaseModel: ...
    @property
    def quality_tiers(self) -> BaseModel: ...


@dataclass(frozen=True, slots=True)
class SetSpec:
    """One expanded set: the config models it runs with (instances of the settings' own classes:
    FixedPolicyConfig, QualityTiersConfig, AtrConfig) and what it changes."""

    policy: str
    fixed: Any
    tiers: Any
    atr: Any
    bias: bool
    overrides: dict[str, Any]


def keys_for(base: Base) -> tuple[str, ...]:
    """Every key a set table may have."""
    return (*SET_KEYS, *type(base.policy).model_fields, *ATR_KEYS)


def read_tables(path: Path) -> list[dict[str, Any]]:
    """The `[[set]]` tables of a grid file (GridError: missing, unreadable, not TOML, no set)."""
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
    return tables


def expand(source: str, tables: Sequence[Any], base: Base) -> list[SetSpec]:
    """Every set of the tables, in order (then product order); `source` names them in errors."""
    out: list[SetSpec] = []
    for n, table in enumerate(tables, start=1):
        where = f"{source}: set {n}"
        if not isinstance(table, dict):
            raise GridError(f"{where}: must be a table of keys, not {table!r}")
        out.extend(_expand(where, table, base))
    return out


def _values(key: str, value: Any) -> list[Any]:
    """A scalar is one value; a list sweeps (for `tiers`, a list of tier lists sweeps)."""
    if key == "tiers":
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return list(value)
        return [value]
    return list(value) if isinstance(value, list) else [value]


def _expand(where: str, table: dict[str, Any], base: Base) -> list[SetSpec]:
    known = keys_for(base)
    unknown = [key for key in table if key not in known]
    if unknown:
        raise GridError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    if "policy" not in table:
        raise GridError(f"{where}: needs a policy ({', '.join(POLICIES)})")
    keys = list(table)
    combos = itertools.product(*(_values(key, table[key]) for key in keys))
    return [_spec(where, dict(zip(keys, combo, strict=True)), base) for combo in combos]


def _spec(where: str, chosen: dict[str, Any], base: Base) -> SetSpec:
    policy = chosen["policy"]
    if policy not in POLICIES:
        raise GridError(f"{where}: unknown policy {policy!r} ({', '.join(POLICIES)})")
    bias = chosen.get("bias", False)
    if not isinstance(bias, bool):
        raise GridError(f"{where}: bias must be true or false, not {bias!r}")
    fixed_cls, atr_cls, tiers_cls = type(base.policy), type(base.atr), type(base.quality_tiers)
    fixed_keys = fixed_cls.model_fields
    try:
        fixed = fixed_cls(
            **{**base.policy.model_dump(), **{k: v for k, v in chosen.items() if k in fixed_keys}}
        )
        atr = atr_cls(
            **{**base.atr.model_dump(), **{k: v for k, v in chosen.items() if k in ATR_KEYS}}
        )
        tiers = base.quality_tiers
        if "tiers" in chosen:
            tiers = tiers_cls(tiers=chosen["tiers"])
        if "trail_atr" in chosen:
            tiers = tiers_cls(
                tiers=[{**t, "trail_atr": chosen["trail_atr"]} for t in tiers.model_dump()["tiers"]]
            )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(part) for part in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise GridError(f"{where}: {loc + ': ' if loc else ''}{msg}") from None
    except TypeError as exc:  # `tiers` that is not a list of tables
        raise GridError(f"{where}: {exc}") from None
    overrides = {k: v for k, v in chosen.items() if k not in ("policy", "bias")}
    return SetSpec(policy, fixed, tiers, atr, bias, overrides)
