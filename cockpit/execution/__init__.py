"""Execution: the one path every order takes, simulated and live alike (DESIGN.md sections 1, 4).

- `router`: intent row -> venue -> venue events -> position. What follows a fill is derived from
  the order row (its kind, its trade, the entry's frozen plan inputs), never from a closure, so an
  order still unconfirmed at a restart resumes when its fill shows.
- `book`: the open positions, one per (venue, symbol), as the venues net them.
- `retry`: exits that failed back off per position and reason, and say so once per streak.
- `durable`: writes that must not be lost (fills, stop moves) are kept and retried until the
  database has them.
- `commands`: the trader's actions on a position (close, close part, move stop, trail, put the
  stop on chain), each audited.
- `modes`: SHADOW / LIVE-SMALL switches and the risk state rebuilt at start.
- `events`: the event log and the latest state the UI renders.

Nothing here imports Textual or a venue's SDK: venues are reached through the protocols in
`adapters.base`, the database through `state.store`.
"""
