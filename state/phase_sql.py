"""The phase starts read with plain sqlite3, for the journal reader's worker thread."""

from __future__ import annotations

import sqlite3

from cockpit.analytics.phases import PhaseStart


def phase_starts_sync(conn: sqlite3.Connection) -> list[PhaseStart]:
    rows = conn.execute("SELECT phase, started_at_ms FROM phases ORDER BY phase").fetchall()
    return [PhaseStart(int(phase), int(at)) for phase, at in rows]
