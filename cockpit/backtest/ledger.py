"""The counterfactual ledger's computation: one closed trade under every exit policy, on its own
recorded candles (issue 15 item 4; docs/backtest.md "The counterfactual ledger").

Each trade is re-run with its own side, entry, ATR and quality score under every configured
policy (`ledger_sets`: fixed, atr_scaled and quality_tiers with the config's parameters, then
the `[ledger]` grid's sets) and under its own frozen plan without the trader's overrides (`OWN`):
the engine's counterfactual, whose difference from the actual P&L is what discretion added or
cost.

The path is `LedgerWindow.usable_path`'s: the recorded bars (1m by default) from the entry on.
The kernel
(`cockpit.backtest.kernel`, the engine's exact semantics on candles, stop first when a bar
touches both) runs every set at once. Nothing is guessed: a policy still open where the recorded
bars stop (the recorder has not reached that far yet, or bars are missing) is `path_ended` with
no P&L; a trade with no bars after its entry is `no_path`; one still open at the horizon is
closed there at the bar's close (`horizon`). Pure and synchronous: `ledger_job` calls it in a
worker thread.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np

from cockpit.backtest import kernel
from cockpit.backtest.grid import ledger_grid
from cockpit.backtest.ledger_window import DEFAULT, Bar, LedgerWindow
from cockpit.backtest.plans import ParamSet, Trades, build_rows, plan_row
from cockpit.backtest.tables import CANDLES, F64, sparse_tables
from cockpit.config import POLICY_NAMES, Settings
from cockpit.domain import ExitPlan
from state.ledger_rows import LedgerRow, PathFacts, TradeInput, params_text

E_RATIO_BARS: Final = (5, 20, 60)
OWN: Final = "own"
LABEL_MAX: Final = 128  # counterfactuals.label


@dataclass(frozen=True, slots=True)
class LedgerSet:
    """A column of the ledger: a policy with its parameters, or the trade's own plan."""

    key: str
    policy: str
    label: str
    params_json: str
    param_set: ParamSet | None
    """None: the trade's own frozen plan."""


def _key(params: dict[str, Any]) -> str:
    return hashlib.sha1(params_text(params).encode()).hexdigest()[:16]


def set_params(ps: ParamSet) -> dict[str, Any]:
    """Every parameter the set's plans depend on (a changed config is a new set)."""
    params: dict[str, Any] = {"policy": ps.policy, "fixed": ps.fixed.model_dump()}
    if ps.policy != "fixed":
        params["atr"] = ps.atr.model_dump(include={"baseline", "factor_min", "factor_max"})
    if ps.policy == "quality_tiers":
        params["tiers"] = ps.tiers.model_dump()["tiers"]
    if ps.bias:
        params["bias"] = ps.bias_cfg.model_dump()
    return params


def _window_params(settings: Settings) -> dict[str, Any]:
    """The candles the sets run on, in their keys unless they are the default 48 h of 1m (so
    a ledger written before these could be set keeps its keys): another horizon or timeframe
    gives other results, so new sets."""
    cfg = settings.ledger
    if cfg.default_window:
        return {}
    return {"window": {"horizon_h": cfg.horizon_h, "timeframe": cfg.timeframe}}


def own_set(settings: Settings | None = None) -> LedgerSet:
    params = {"policy": OWN, **(_window_params(settings) if settings is not None else {})}
    return LedgerSet(_key(params), OWN, "own plan, no overrides", params_text(params), None)


def ledger_sets(settings: Settings) -> list[LedgerSet]:
    """The configured policies with the settings' parameters, then the `[ledger]` grid's sets
    (one that repeats an earlier set is run once), then the trade's own plan."""
    window = _window_params(settings)
    configured = [
        ParamSet(
            name,
            fixed=settings.policy,
            tiers=settings.quality_tiers,
            atr=settings.atr,
            bias_cfg=settings.direction_bias,
        )
        for name in POLICY_NAMES
    ]
    out: list[LedgerSet] = []
    seen: set[str] = set()
    for ps in [*configured, *ledger_grid(settings)]:
        params = {**set_params(ps), **window}
        key = _key(params)
        if key in seen:
            continue
        seen.add(key)
        label = ps.policy if not ps.overrides and not ps.bias else ps.label
        out.append(LedgerSet(key, ps.policy, label[:LABEL_MAX], params_text(params), ps))
    out.append(own_set(settings))
    return out


def _refusal(ls: LedgerSet, trade: TradeInput) -> str:
    if ls.param_set is None:
        return "no frozen plan (imported trade)"
    if trade.atr is None or not trade.atr > 0:
        return "no ATR at entry"
    if ls.policy == "quality_tiers" and trade.quality_score is None:
        return "no quality score"
    return "the policy refuses this entry (a score below every tier, or no ATR baseline)"


def _plan_row(ls: LedgerSet, trade: TradeInput) -> F64 | None:
    """The set's kernel row for the trade (None: refused)."""
    if ls.param_set is None:
        try:
            plan = ExitPlan.from_json(trade.plan_json)
        except (ValueError, TypeError, KeyError):
            return None
        return plan_row(plan)
    sign = 1.0 if trade.side == "long" else -1.0
    atr = math.nan if trade.atr is None else trade.atr
    if ls.policy == "fixed" and not ls.param_set.bias and not atr > 0:
        atr = 1.0  # fixed levels never read the ATR: only the lab's same-entries rule does
    trades = Trades(
        sign=np.array([sign]),
        entry=np.array([trade.entry_price]),
        atr=np.array([atr]),
        score=np.array([math.nan if trade.quality_score is None else trade.quality_score]),
    )
    row = build_rows(ls.param_set, trades, trade.symbol)[0]
    return None if math.isnan(row[kernel.ENTRY]) else row


def excursions(trade: TradeInput, path: Sequence[Bar]) -> dict[int, tuple[float, float]]:
    """(favorable, adverse) price distance from the entry within the first N bars, per N."""
    out: dict[int, tuple[float, float]] = {}
    for n in E_RATIO_BARS:
        if len(path) < n:
            continue
        high = max(b[2] for b in path[:n])
        low = min(b[3] for b in path[:n])
        up, down = high - trade.entry_price, trade.entry_price - low
        fav, adv = (up, down) if trade.side == "long" else (down, up)
        out[n] = (max(fav, 0.0), max(adv, 0.0))
    return out


def run_trade(
    trade: TradeInput,
    bars: Sequence[Bar],
    sets: Sequence[LedgerSet],
    window: LedgerWindow = DEFAULT,
) -> tuple[list[LedgerRow], PathFacts]:
    """Every set's result on the trade's recorded path, and the path's facts."""
    path, complete = window.usable_path(trade, bars)
    atr = trade.atr
    if atr is None:
        atr = _plan_atr(trade.plan_json)
    facts = PathFacts(
        trade_id=trade.id,
        bars=len(path),
        first_bar_ms=path[0][0] if path else None,
        last_bar_ms=path[-1][0] if path else None,
        complete=complete,
        atr=atr,
        excursions=excursions(trade, path),
    )
    priced = trade if atr == trade.atr else _with_atr(trade, atr)
    rows: list[LedgerRow] = []
    plan_rows: list[F64] = []
    running: list[LedgerSet] = []
    for ls in sets:
        row = _plan_row(ls, priced)
        if row is None:
            rows.append(_empty(ls, trade, "refused", _refusal(ls, priced)))
        elif not path:
            rows.append(_empty(ls, trade, "no_path", "no candles recorded after the entry"))
        else:
            plan_rows.append(row)
            running.append(ls)
    if running:
        rows += _simulate(trade, path, complete, running, np.stack(plan_rows), window.bar_ms)
    order = {ls.key: i for i, ls in enumerate(sets)}
    rows.sort(key=lambda r: order[r.params_key])
    return rows, facts


def _simulate(
    trade: TradeInput,
    path: Sequence[Bar],
    complete: bool,
    sets: Sequence[LedgerSet],
    plan_rows: F64,
    bar_ms: int,
) -> list[LedgerRow]:
    arr = np.array(path, dtype=np.float64)
    ts = [b[0] for b in path]
    tables = sparse_tables(arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], CANDLES)
    n = len(sets)
    res = kernel.run(
        tables,
        np.ascontiguousarray(plan_rows),
        np.zeros(n, dtype=np.int64),
        np.full(n, len(path), dtype=np.int64),
    )
    out = []
    for r, ls in enumerate(sets):
        fills = res.fills(r)
        shown = json.dumps([[ts[b], price, frac, reason] for b, price, frac, reason in fills])
        last_bar, last_price, _, reason = fills[-1]
        common: dict[str, Any] = {
            "trade_id": trade.id,
            "policy": ls.policy,
            "label": ls.label,
            "params_key": ls.key,
            "params_json": ls.params_json,
            "ambiguous_bars": int(res.ambiguous[r]),
            "fills_json": shown,
        }
        if reason == kernel.REASONS[kernel.R_END] and not complete:
            end = ts[-1] + bar_ms
            out.append(
                LedgerRow(
                    **common,
                    status="path_ended",
                    pnl_pct=None,
                    exit_reason=None,
                    exit_ts_ms=None,
                    exit_price=None,
                    path_ended=True,
                    note=f"the recorded candles end at {end} ms, before this policy's exit",
                )
            )
            continue
        horizon = reason == kernel.REASONS[kernel.R_END]
        out.append(
            LedgerRow(
                **common,
                status="horizon" if horizon else "done",
                pnl_pct=float(res.pnl_pct[r]),
                exit_reason="horizon" if horizon else reason,
                exit_ts_ms=ts[last_bar],
                exit_price=float(last_price),
                path_ended=False,
                note="still open at the ledger's horizon: closed at that bar's close"
                if horizon
                else "",
            )
        )
    return out


def _empty(ls: LedgerSet, trade: TradeInput, status: str, note: str) -> LedgerRow:
    return LedgerRow(
        trade_id=trade.id,
        policy=ls.policy,
        label=ls.label,
        params_key=ls.key,
        params_json=ls.params_json,
        status=status,
        pnl_pct=None,
        exit_reason=None,
        exit_ts_ms=None,
        exit_price=None,
        ambiguous_bars=0,
        path_ended=status == "no_path",
        fills_json="[]",
        note=note,
    )


def _plan_atr(plan_json: str) -> float | None:
    try:
        value = json.loads(plan_json).get("atr")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _with_atr(trade: TradeInput, atr: float | None) -> TradeInput:
    return replace(trade, atr=atr)


def actual_pct(trade: TradeInput) -> float | None:
    """The trade's own gross P&L in % of its entry notional (as `state.ledger_rows` sums it)."""
    notional = trade.entry_price * trade.initial_size
    return 100.0 * trade.realized_pnl / notional if notional > 0 else None
