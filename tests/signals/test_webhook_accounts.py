"""Two accounts' cockpits on one database, each with its webhook (issue 17): the same alert sent
to both is entered once by each, a replay is answered only from the account's own signals, and
each signal row carries its account."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.signals.rig import rig, signal

pytestmark = pytest.mark.usefixtures("guard")


async def test_one_alert_to_two_accounts_enters_once_on_each(tmp_path: Path) -> None:
    async with rig(tmp_path, account="paper:a") as a, rig(tmp_path, account="paper:b") as b:
        status_a, answer_a = await a.post("/signal", signal(id="tv-77"))
        status_b, answer_b = await b.post("/signal", signal(id="tv-77"))
        await a.session.signals.settled()
        await b.session.signals.settled()
        assert (status_a, status_b) == (202, 202)
        assert answer_a["signal_id"] != answer_b["signal_id"]
        again, answer = await b.post("/signal", signal(id="tv-77"))
        assert again == 409 and answer["signal_id"] == answer_b["signal_id"]
        assert len(a.session.book.positions) == 1 and len(b.session.book.positions) == 1
        rows = a.rows("SELECT account, external_id, status FROM signals ORDER BY id")
        assert rows == [("paper:a", "tv-77", "entered"), ("paper:b", "tv-77", "entered")]
