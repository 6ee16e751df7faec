"""The kernel's per-row outputs (`Results`) and the fill reasons, apart from the compiled code.

Plain numpy and dataclasses: the drivers (`kernel.simulate`, `grid_kernel.simulate_grid`) write
into these arrays, which are preallocated once per run (structure of arrays: one array per field,
a row per (trade, set)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cockpit.backtest.tables import F64, I64

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]

# Fill reasons: the stop's role (0-3) is its reason, as `ExitReason.for_stop`.
REASONS: tuple[str, ...] = (
    "stop_loss",
    "breakeven",
    "profit_lock",
    "trailing_stop",
    "tp1",
    "tp2",
    "end_of_data",
)
MAX_FILLS = 3  # TP1, TP2, then a stop or the end of the data


@dataclass(slots=True)
class Results:
    """Per-row outputs of `run`; fills beyond `n_fills[r]` are unused."""

    fill_bar: I64
    fill_price: F64
    fill_frac: F64
    fill_reason: I8
    n_fills: I8
    mfe_pct: F64
    mae_pct: F64
    ambiguous: I32
    pnl_pct: F64

    @classmethod
    def empty(cls, n: int) -> Results:
        """Zeroed outputs for n rows (the kernel writes every field of every row it runs)."""
        return cls(
            fill_bar=np.zeros((n, MAX_FILLS), dtype=np.int64),
            fill_price=np.zeros((n, MAX_FILLS), dtype=np.float64),
            fill_frac=np.zeros((n, MAX_FILLS), dtype=np.float64),
            fill_reason=np.zeros((n, MAX_FILLS), dtype=np.int8),
            n_fills=np.zeros(n, dtype=np.int8),
            mfe_pct=np.zeros(n, dtype=np.float64),
            mae_pct=np.zeros(n, dtype=np.float64),
            ambiguous=np.zeros(n, dtype=np.int32),
            pnl_pct=np.zeros(n, dtype=np.float64),
        )

    def outputs(self) -> tuple[I64, F64, F64, I8, I8, F64, F64, I32, F64]:
        """The arrays in the compiled drivers' argument order."""
        return (
            self.fill_bar,
            self.fill_price,
            self.fill_frac,
            self.fill_reason,
            self.n_fills,
            self.mfe_pct,
            self.mae_pct,
            self.ambiguous,
            self.pnl_pct,
        )

    def fills(self, r: int) -> list[tuple[int, float, float, str]]:
        """Row r's fills as (bar index, price, fraction of initial size, reason)."""
        return [
            (
                int(self.fill_bar[r, i]),
                float(self.fill_price[r, i]),
                float(self.fill_frac[r, i]),
                REASONS[int(self.fill_reason[r, i])],
            )
            for i in range(int(self.n_fills[r]))
        ]
