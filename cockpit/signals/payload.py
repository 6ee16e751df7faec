"""The webhook's JSON body, read strictly: a signal is a few known fields, each checked.

TradingView-style alerts post one flat object (README "Signals in through a webhook"). Strict
on purpose: an unknown field is most often a typo (`qualty`), and a typo that silently drops
the quality score would enter under the wrong exit plan. `NaN`/`Infinity`, booleans posing as
numbers and over-long strings are refused. Errors come in two kinds: `Malformed` (no signal can
be made of it: nothing but an audit row is kept) and `Invalid` (a signal with a symbol and a
side but a bad field: stored as refused, with the reason).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from cockpit.config import POLICY_NAMES
from cockpit.domain import Side

MAX_BODY_BYTES = 16 * 1024

NUMBER_FIELDS: dict[str, tuple[float, float]] = {
    # JSON name -> inclusive range
    "quality": (0.0, 100.0),
    "confidence": (0.0, 100.0),
    "atr": (0.0, math.inf),
    "adx": (0.0, 100.0),
    "rsi": (0.0, 100.0),
    "volume_ratio": (0.0, math.inf),
    "price_position": (-math.inf, math.inf),
    "notional": (0.0, math.inf),
}
TEXT_FIELDS: dict[str, int] = {"regime": 32, "strategy": 64, "timeframe": 16, "policy": 32}
KNOWN_FIELDS = frozenset({"symbol", "side", "id", "token", *NUMBER_FIELDS, *TEXT_FIELDS})
SIDES = {"long": Side.LONG, "buy": Side.LONG, "short": Side.SHORT, "sell": Side.SHORT}


class Malformed(ValueError):
    """Not a signal at all (not JSON, not an object, no symbol or side)."""


class Invalid(ValueError):
    """A signal with a bad field; `signal` is what could be read of it."""

    def __init__(self, reason: str, signal: SignalIn) -> None:
        super().__init__(reason)
        self.signal = signal


@dataclass(frozen=True, slots=True)
class SignalIn:
    """A signal as received (values checked, symbol not yet matched to the session)."""

    symbol: str
    side: Side
    external_id: str | None
    notional: float | None
    policy: str | None
    quality: float | None
    features: dict[str, object]
    payload_json: str  # the body as received, without the token

    @property
    def described(self) -> str:
        quality = "" if self.quality is None else f" q{self.quality:g}"
        strategy = self.features.get("strategy")
        by = f" ({strategy})" if strategy else ""
        return f"{self.side.value} {self.symbol}{quality}{by}"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def parse_body(body: bytes) -> tuple[dict[str, Any], str | None]:
    """The JSON object and its `token` field (removed from the object), or Malformed."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Malformed("body must be a JSON object")
    token = data.pop("token", None)
    return data, token if isinstance(token, str) else None


def read_signal(data: dict[str, Any]) -> SignalIn:
    """The signal in `data` (token already removed); Malformed or Invalid with the reason."""
    symbol, side_raw = data.get("symbol"), data.get("side")
    if not isinstance(symbol, str) or not symbol.strip() or len(symbol) > 64:
        raise Malformed("symbol must be a string of 1 to 64 characters")
    side = SIDES.get(side_raw.strip().lower()) if isinstance(side_raw, str) else None
    if side is None:
        raise Malformed("side must be long, short, buy or sell")
    external_id = _external_id(data.get("id"))
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
    shell = SignalIn(symbol.strip(), side, external_id, None, None, None, {}, payload)
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(unknown)[:200]}", shell)
    numbers: dict[str, float] = {}
    for name, (low, high) in NUMBER_FIELDS.items():
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"{name} must be a number", shell)
        if not (math.isfinite(value) and low <= value <= high):
            raise Invalid(f"{name} {value} is out of range", shell)
        numbers[name] = float(value)
    texts: dict[str, str] = {}
    for name, limit in TEXT_FIELDS.items():
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > limit:
            raise Invalid(f"{name} must be a string of at most {limit} characters", shell)
        texts[name] = value
    policy = texts.pop("policy", None)
    if policy is not None and policy not in POLICY_NAMES:
        raise Invalid(f"policy must be one of {', '.join(POLICY_NAMES)}", shell)
    notional = numbers.pop("notional", None)
    if notional is not None and notional <= 0:
        raise Invalid("notional must be above 0", shell)
    quality = numbers.pop("quality", None)
    features: dict[str, object] = {**numbers, **texts}
    if quality is not None:
        features["quality_score"] = quality
    return SignalIn(symbol.strip(), side, external_id, notional, policy, quality, features, payload)


def _external_id(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed("id must be a string or an integer")
    text = str(value).strip()
    if not text or len(text) > 128:
        raise Malformed("id must have 1 to 128 characters")
    return text
