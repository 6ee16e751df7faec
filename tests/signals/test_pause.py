"""Pause entries (issue 16 item 7): no entry from any source while paused, open positions still
managed, every pause and resume audited, on the keyboard and over the webhook."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.domain import ExitReason, Side
from cockpit.session import OrderRejected
from tests.cockpit.test_execution_db_faults import fail_inserts, heal
from tests.signals.rig import SYMBOL, rig, signal

pytestmark = pytest.mark.usefixtures("guard")


async def test_paused_entries_refused_from_the_ticket_path_while_stops_still_work(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        s = r.session
        pos = await s.open_position(SYMBOL, Side.LONG, 25.0, 2)
        assert await s.pause_entries("user", "news at 14:30")
        assert not await s.pause_entries("user")  # already paused: no second row
        with pytest.raises(OrderRejected, match="entries are paused"):
            await s.open_position(SYMBOL, Side.SHORT, 25.0, 2)
        # 100.5 moves the stop to breakeven (+0.5 %), 99 goes through it: managed while paused
        await r.feed.step(3)
        assert pos.closed
        assert r.rows("SELECT exit_reason FROM trades") == [(ExitReason.BREAKEVEN.value,)]
        assert r.rows("SELECT COUNT(*) FROM stop_moves") == [(1,)]
        with pytest.raises(OrderRejected, match="entries are paused"):
            await s.open_position(SYMBOL, Side.LONG, 25.0, 2)  # flat now, still paused
        assert await s.resume_entries("user", "news done")
        await s.open_position(SYMBOL, Side.LONG, 25.0, 2)
        assert len(s.book.positions) == 1
        audit = r.rows("SELECT kind, who, action, reason FROM audit_events ORDER BY id")
        assert audit[0] == ("pause", "user", "pause entries", "news at 14:30")
        assert [a[0] for a in audit[1:3]] == ["refusal", "refusal"]
        assert all("entries are paused" in a[3] for a in audit[1:3])
        assert audit[3] == ("pause", "user", "resume entries", "news done")
        assert r.rows("SELECT COUNT(*) FROM trades") == [(2,)]


async def test_pause_and_resume_over_the_webhook_need_the_token(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        status, _ = await r.post("/pause", {"reason": "x"}, token="wrong")
        assert status == 401 and r.session.latest.entries_paused is None
        status, answer = await r.post("/pause", {"reason": "FOMC"})
        assert (status, answer) == (200, {"paused": True, "changed": True})
        assert "webhook:127.0.0.1" in (r.session.latest.entries_paused or "")
        status, answer = await r.post("/signal", signal(id="while-paused"))
        assert status == 409 and "entries are paused" in answer["error"]
        await r.session.signals.settled()
        assert r.rows("SELECT status, reject_reason LIKE 'entries are paused%' FROM signals") == [
            ("refused", 1)
        ]
        status, answer = await r.post("/resume")
        assert (status, answer) == (200, {"paused": False, "changed": True})
        status, _ = await r.post("/signal", signal(id="after"))
        await r.session.signals.settled()
        assert status == 202 and len(r.session.book.positions) == 1
        assert r.rows("SELECT kind, who, action, reason FROM audit_events ORDER BY id") == [
            ("webhook", "webhook:127.0.0.1", "POST /pause", "bad or missing token"),
            ("pause", "webhook:127.0.0.1", "pause entries", "FOMC"),
            ("pause", "webhook:127.0.0.1", "resume entries", "no reason given"),
        ]


async def test_a_resume_the_database_cannot_record_leaves_entries_paused(tmp_path: Path) -> None:
    """Pausing takes risk away and holds even unrecorded; resuming adds it back, so it happens
    only once its audit row is on disk (not queued in memory, where a kill would lose it)."""
    async with rig(tmp_path) as r:
        s = r.session
        assert await s.pause_entries("user", "news")
        await fail_inserts(r.db, "audit_events", "NEW.action = 'resume entries'")
        assert not await s.resume_entries("user", "news done")
        assert s.latest.entries_paused is not None
        assert any(
            "entries stay paused: the resume could not be recorded" in e.text
            for e in s.latest.events
        )
        with pytest.raises(OrderRejected, match="entries are paused"):
            await s.open_position(SYMBOL, Side.LONG, 25.0, 2)
        status, answer = await r.post("/resume")  # the webhook's resume: refused the same way
        assert (status, answer["paused"]) == (200, True)
        await heal(r.db, "fault")
        assert await s.resume_entries("user", "news done")
        await s.open_position(SYMBOL, Side.LONG, 25.0, 2)
    actions = r.rows("SELECT action FROM audit_events WHERE kind = 'pause' ORDER BY id")
    assert actions == [("pause entries",), ("resume entries",)]
