"""The exit lab: every exit policy replayed over recorded candles, exact and fast.

`kernel` is a numba-compiled copy of `cockpit.engine`'s exit semantics (the same decisions, fill by
fill, bit for bit: tests/backtest proves it against the engine on random paths and plans), fed
with plan rows built in bulk by `plans` from the same formulas as `engine.policy`. `reference` is
the engine's own Python loop over the same paths: the oracle of the tests and the benchmark's
baseline. `cli` is `cockpit backtest` (docs/backtest.md).
"""
