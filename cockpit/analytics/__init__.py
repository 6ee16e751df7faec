"""Analytics: the roadmaps' questions answered from the journal of closed trades.

Pure functions over plain `TradeRecord`s (numpy inside): no I/O, no clock, no Textual. The state
layer (`state/journal.py`) reads the records; the session, the analytics screen and
`cockpit report` all call `build_snapshot` and render the same `AnalyticsSnapshot`, so the screen
and the report cannot disagree (DESIGN.md sections 1 and 7, docs/analytics.md).
"""
