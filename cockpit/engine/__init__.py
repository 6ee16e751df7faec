"""Pure exit logic: plans computed at entry (`policy`) and per-price decisions (`exits`).

Nothing in here does I/O, reads the clock or imports Textual/asyncio/SQLAlchemy, so live trading,
replay and backtest all run the same decisions (DESIGN.md sections 1 and 2).
"""
