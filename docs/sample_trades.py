"""Regenerate tests/data/sample_trades.csv, a plausible 60-trade journal for `cockpit import`.

    uv run python docs/sample_trades.py

Seeded, so the file only changes when this script does. Trades follow the `fixed` policy of the
roadmap (SL -1.5 %, breakeven at +0.5 %, profit lock +0.4 % from +1.2 %, TP1 75 % at +1.5 %, TP2
25 % at +3.0 %): the MFE decides how each one ended, higher quality scores and shorts run further
on average (the roadmap's observations), and a few rows lack some features or MFE, as real
journals do. 52 SOL-PERP trades carry signal features; 8 ETH-PERP trades are manual entries.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "sample_trades.csv"
SEED = 20251031
COLUMNS = [
    *("symbol", "side", "entry_time", "entry_price", "exit_time", "exit_price", "size"),
    *("pnl", "fees", "leverage", "exit_reason", "mfe_pct", "mae_pct", "tp2_price"),
    *("quality_score", "atr", "adx", "rsi", "volume_ratio", "price_position", "confidence"),
    *("regime", "strategy", "timeframe", "ab_group"),
]
TAKER_FEE = 0.0005


def outcome(mfe: float, rng: np.random.Generator) -> tuple[str, float, float]:
    """(exit reason, average exit move %, MAE %) under the fixed policy, from the MFE."""
    if mfe >= 3.0:
        return "tp2", 0.75 * 1.5 + 0.25 * 3.0, -float(rng.uniform(0.0, 0.45))
    if mfe >= 1.5:
        return "profit_lock", 0.75 * 1.5 + 0.25 * 0.4, -float(rng.uniform(0.0, 0.45))
    if mfe >= 1.2:
        return "profit_lock", 0.4, -float(rng.uniform(0.0, 0.45))
    if mfe >= 0.5:
        return "breakeven", 0.0, -float(rng.uniform(0.0, 0.45))
    slip = float(rng.uniform(0.0, 0.05))
    return "stop_loss", -1.5 - slip, -1.5 - slip - float(rng.uniform(0.0, 0.3))


def away_from_levels(mfe: float) -> float:
    """Keep MFEs clear of the policy levels so rounding to 0.01 % cannot change the outcome."""
    for level in (0.5, 1.2, 1.5, 3.0):
        if abs(mfe - level) < 0.03:
            return level + 0.05
    return mfe


def main() -> None:
    rng = np.random.default_rng(SEED)
    sides = ["long"] * 30 + ["short"] * 30
    rng.shuffle(sides)
    symbols = ["SOL-PERP"] * 52 + ["ETH-PERP"] * 8
    rng.shuffle(symbols)
    start = datetime(2025, 9, 1, tzinfo=UTC)
    sol, eth = 150.0, 4300.0
    rows = []
    moment = start
    for i in range(60):
        moment += timedelta(hours=float(rng.uniform(10, 50)))
        sol *= float(np.exp(rng.normal(0, 0.03)))
        eth *= float(np.exp(rng.normal(0, 0.025)))
        symbol, side = symbols[i], sides[i]
        manual = symbol == "ETH-PERP"
        sign = 1 if side == "long" else -1
        quality = None if manual else float(rng.integers(55, 96))
        scale = 0.7 + (0.0 if quality is None else (quality - 55) / 40 * 1.8)
        scale += 0.5 if side == "short" else 0.0
        mfe = away_from_levels(float(rng.exponential(scale)))
        reason, exit_move, mae = outcome(mfe, rng)
        entry = round(sol if symbol == "SOL-PERP" else eth, 3 if symbol == "SOL-PERP" else 2)
        notional = float(rng.choice([200.0, 250.0, 300.0, 400.0]))
        size = round(notional / entry, 4)
        exit_price = round(entry * (1 + sign * exit_move / 100), 3)
        pnl = round(sign * (exit_price - entry) * size, 4) + 0.0  # no "-0.0" in the file
        fees = round(TAKER_FEE * (entry + exit_price) * size, 4)
        held = timedelta(minutes=float(rng.uniform(12, 1200)))
        record_mfe = i % 17 != 5  # a few rows without MFE/MAE, as real journals have
        row = {
            "symbol": symbol,
            "side": side,
            "entry_time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "entry_price": f"{entry}",
            "exit_time": (moment + held).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "exit_price": f"{exit_price}",
            "size": f"{size}",
            "pnl": f"{pnl}",
            "fees": f"{fees}",
            "leverage": "2",
            "exit_reason": reason,
            "mfe_pct": f"{mfe:.2f}" if record_mfe else "",
            "mae_pct": f"{mae:.2f}" if record_mfe else "",
            "tp2_price": f"{round(entry * (1 + sign * 0.03), 3)}",
        }
        if not manual:
            row |= {
                "quality_score": f"{quality:g}",
                "atr": f"{rng.uniform(0.8, 3.2):.2f}",
                "adx": f"{rng.uniform(14, 45):.1f}",
                "rsi": f"{rng.uniform(28, 72):.1f}",
                "volume_ratio": "" if i % 9 == 4 else f"{rng.uniform(0.5, 3.0):.2f}",
                "price_position": f"{rng.uniform(0, 100):.1f}",
                "confidence": f"{rng.uniform(0.5, 0.95):.2f}",
                "regime": str(rng.choice(["trending", "sideways", "high_vol", "low_vol"])),
                "strategy": str(rng.choice(["breakout", "mean_revert"])),
                "timeframe": "15m",
                "ab_group": "A" if i % 2 else "B",
            }
        rows.append(row)
    with OUT.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {OUT} ({len(rows)} trades)")


if __name__ == "__main__":
    main()
