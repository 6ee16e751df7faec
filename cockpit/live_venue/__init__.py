"""LIVE-SMALL on Drift, the session's side of `adapters.drift.DriftBroker`.

The broker knows how to send one order; this package knows what the cockpit owes the venue over
a position's life (issue 6, DESIGN.md sections 3-5):

- **On-chain stops in step with the engine** and the **software stop when the chain has none**
  (stops.py): placed after the entry fill, modified in place on every move, cancelled when the
  position closes; a stop that cannot be placed or moved is retried while the engine's own stop
  protects the position, and one that stands at the engine's stop is given `drift.stop_grace_s`
  before the software stop backs it up. Every stop is read back from the account after each
  change and on every poll; one missing or moved is shown, audited and put back at once.
- **Placed is not filled** and **the venue moves on its own** (pending.py): unconfirmed market
  orders are watched, re-sent with the same ids and expired; a position that shrank without an
  order of ours is recorded as its stop's fill (or `closed_on_venue`).
- **Reconcile on start** (startup.py): orders unconfirmed at a restart resume from their rows,
  then every difference between the database and the venue is logged and audited, an unknown
  position is adopted as `external`, and nothing is silently fixed.
- The keeper (keeper.py, `LiveVenue`) wires them on one shared state (shared.py), runs the poll
  loop and is the only face the session and execution see (`cockpit.execution.venues.Keeper`).

No Textual here; the session owns the keeper and calls it, the UI reads `venue_alerts`.
"""

from cockpit.live_venue.keeper import LiveVenue
from cockpit.live_venue.shared import CLOSED_ON_VENUE, PendingOrder, StopState

__all__ = ["CLOSED_ON_VENUE", "LiveVenue", "PendingOrder", "StopState"]
