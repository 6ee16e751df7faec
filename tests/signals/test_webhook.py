"""The signals webhook over real HTTP on 127.0.0.1: every signal stored before anything else,
entries only through the ticket's path, and everything a sender can get wrong refused with
the reason (issue 16 item 6)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

import pytest
from pydantic import SecretStr

from cockpit.domain import Side
from tests.signals.rig import SYMBOL, TOKEN, rig, signal

pytestmark = pytest.mark.usefixtures("guard")

SIGNALS = (
    "SELECT id, external_id, accepted, status, reject_reason, trade_id FROM signals ORDER BY id"
)


async def test_auto_signal_is_stored_then_entered_through_the_entry_path(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        body = signal(
            id="tv-1", quality=85, policy="quality_tiers", notional=40, regime="trend", rsi=55.5
        )
        status, answer = await r.post("/signal", body)
        assert status == 202, answer
        await r.session.signals.settled()
        [pos] = r.session.book.positions
        assert (pos.side, pos.symbol, pos.plan.policy) == (Side.LONG, SYMBOL, "quality_tiers")
        assert pos.initial_size * pos.entry == pytest.approx(40.0)
        [(sid, ext, accepted, st, reason, trade_id)] = r.rows(SIGNALS)
        assert (sid, ext, accepted, st, reason) == (answer["signal_id"], "tv-1", 1, "entered", None)
        assert trade_id == pos.trade_id
        [(quality, regime, rsi, payload)] = r.rows(
            "SELECT quality_score, regime, rsi, payload_json FROM signals"
        )
        assert (quality, regime, rsi) == (85.0, "trend", 55.5)
        assert TOKEN not in payload


async def test_a_signal_is_not_entered_when_its_row_cannot_be_written(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.rows(  # the database refuses every new signal row
            "CREATE TRIGGER no_signals BEFORE INSERT ON signals "
            "BEGIN SELECT RAISE(FAIL, 'disk full'); END"
        )
        status, answer = await r.post("/signal", signal(id="x"))
        await r.session.signals.settled()
        assert status == 503 and "disk full" in answer["error"]
        assert r.session.book.positions == []
        assert r.rows("SELECT COUNT(*) FROM orders") == [(0,)]


@pytest.mark.parametrize(
    "token,in_body",
    [("wrong", False), (None, False), ("wrong", True), ("", False)],
    ids=["bad-header", "missing", "bad-body-field", "empty-bearer"],
)
async def test_bad_token_is_401_and_leaves_only_an_audit_row(
    tmp_path: Path, token: str | None, in_body: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig(tmp_path) as r:
        body = signal(id="t1")
        if in_body:
            body["token"] = token
        status, answer = await r.post("/signal", body, token=None if in_body else token)
        assert status == 401 and answer == {"error": "bad or missing token"}
        await r.session.signals.settled()
        assert r.rows("SELECT COUNT(*) FROM signals") == [(0,)]
        assert r.session.book.positions == []
        [(who, action, reason)] = r.rows("SELECT who, action, reason FROM audit_events")
        assert (who, action, reason) == (
            "webhook:127.0.0.1",
            "POST /signal",
            "bad or missing token",
        )
    assert TOKEN not in caplog.text


async def test_token_in_the_body_is_accepted_and_never_stored(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        status, _ = await r.post("/signal", signal(id="b1", token=TOKEN), token=None)
        assert status == 202
        [(payload,)] = r.rows("SELECT payload_json FROM signals")
        assert TOKEN not in payload and "token" not in json.loads(payload)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_16_kb_is_413_and_not_read(tmp_path: Path, chunked: bool) -> None:
    async with rig(tmp_path) as r:
        huge = json.dumps(signal(id="big", strategy="x" * 20_000)).encode()

        async def chunks():  # type: ignore[no-untyped-def]
            for i in range(0, len(huge), 1000):
                yield huge[i : i + 1000]

        raw = chunks() if chunked else huge
        async with r.http.post(
            r.url + "/signal", data=raw, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as response:
            assert response.status == 413
            assert "16 KB" in (await response.json())["error"]
        assert r.rows("SELECT COUNT(*) FROM signals") == [(0,)]
        [(reason,)] = r.rows("SELECT reason FROM audit_events")
        assert "16 KB" in reason


@pytest.mark.parametrize(
    "raw,why",
    [
        (b'{"symbol": "SOL-PERP", "side": "long"', "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"symbol": "SOL-PERP", "side": "long", "quality": NaN}', "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b'{"side": "long"}', "symbol"),
        (b'{"symbol": "SOL-PERP", "side": "up"}', "side"),
        (b'{"symbol": "SOL-PERP", "side": "long", "id": {"a": 1}}', "id"),
    ],
    ids=["truncated", "array", "nan", "not-utf8", "no-symbol", "bad-side", "bad-id"],
)
async def test_malformed_body_is_400_with_the_reason(tmp_path: Path, raw: bytes, why: str) -> None:
    async with rig(tmp_path) as r:
        status, answer = await r.post("/signal", raw=raw)
        assert status == 400 and why in answer["error"]
        assert r.rows("SELECT COUNT(*) FROM signals") == [(0,)]
        assert r.session.book.positions == []
        assert len(r.rows("SELECT id FROM audit_events")) == 1


@pytest.mark.parametrize(
    "fields,status_code,why",
    [
        ({"symbol": "SOL\u2011PERP"}, 422, "unknown symbol"),
        ({"symbol": "BTC-PERP"}, 422, "unknown symbol"),
        ({"quality": 140}, 422, "quality 140"),
        ({"quality": True}, 422, "quality must be a number"),
        ({"notional": -5}, 422, "notional"),
        ({"policy": "yolo"}, 422, "policy"),
        ({"qualty": 90}, 422, "unknown fields: qualty"),
    ],
    ids=["unicode-dash", "other-symbol", "quality-range", "bool", "notional", "policy", "typo"],
)
async def test_bad_field_is_stored_refused_with_the_reason(
    tmp_path: Path, fields: dict[str, object], status_code: int, why: str
) -> None:
    async with rig(tmp_path) as r:
        status, answer = await r.post("/signal", signal(id="f1", **fields))
        assert status == status_code and why in answer["error"]
        await r.session.signals.settled()
        [(_, ext, accepted, st, reason, trade_id)] = r.rows(SIGNALS)
        assert (ext, accepted, st, trade_id) == ("f1", 0, "refused", None)
        assert why in reason
        assert r.session.book.positions == []


async def test_unicode_text_is_kept_intact(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        status, _ = await r.post("/signal", signal(id="ü-1", strategy="Trend 🚀 ß", regime="牛市"))
        assert status == 202
        assert r.rows("SELECT external_id, strategy, regime FROM signals") == [
            ("ü-1", "Trend 🚀 ß", "牛市")
        ]


async def test_replayed_id_is_idempotent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        first = await r.post("/signal", signal(id="once"))
        await r.session.signals.settled()
        again = await asyncio.gather(*(r.post("/signal", signal(id="once")) for _ in range(3)))
        await r.session.signals.settled()
        assert first[0] == 202
        for status, answer in again:
            assert status == 409 and "duplicate id once" in answer["error"]
            assert answer["signal_id"] == first[1]["signal_id"]
            assert answer["status"] == "entered"
        assert len(r.rows(SIGNALS)) == 1
        assert len(r.session.book.positions) == 1
        assert r.rows("SELECT COUNT(*) FROM orders") == [(1,)]


async def test_opposite_side_of_an_open_position_is_refused_and_stored(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        pos = await r.session.open_position(SYMBOL, Side.LONG, 25.0, 2)
        status, answer = await r.post("/signal", signal(id="s1", side="sell"))
        await r.session.signals.settled()
        assert status == 409 and "opposite side" in answer["error"]
        [(_, _, accepted, st, reason, trade_id)] = r.rows(SIGNALS)
        assert (accepted, st, trade_id) == (0, "refused", None)
        assert f"open long {SYMBOL} #{pos.trade_id}" in reason
        assert r.session.book.positions == [pos] and not pos.closed
        assert r.rows("SELECT COUNT(*) FROM orders") == [(1,)]


async def test_refusal_by_the_entry_path_is_written_back_to_the_signal(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        # quality 50 is below every quality tier: the policy cannot plan it, so no order
        status, _ = await r.post("/signal", signal(id="low", quality=50, policy="quality_tiers"))
        assert status == 202
        await r.session.signals.settled()
        [(_, _, accepted, st, reason, _)] = r.rows(SIGNALS)
        assert (accepted, st) == (0, "refused")
        assert reason and "quality" in reason
        assert r.rows("SELECT COUNT(*) FROM orders") == [(0,)]
        [(who,)] = r.rows("SELECT who FROM audit_events WHERE kind = 'refusal'")
        assert who.startswith("signal #")


async def test_100_signals_in_a_second_enter_once_and_are_all_stored(tmp_path: Path) -> None:
    async with rig(tmp_path, burst=100) as r:
        answers = await asyncio.gather(
            *(r.post("/signal", signal(id=f"burst-{i}")) for i in range(100))
        )
        await r.session.signals.settled()
        assert [status for status, _ in answers] == [202] * 100
        rows = r.rows(SIGNALS)
        assert len(rows) == 100
        entered = [row for row in rows if row[3] == "entered"]
        refused = [row for row in rows if row[3] == "refused"]
        assert len(entered) == 1 and len(refused) == 99
        assert all(
            "one position per symbol" in (row[4] or "") or "already long" in (row[4] or "")
            for row in refused
        )
        assert len(r.session.book.positions) == 1
        assert r.rows("SELECT COUNT(*) FROM orders") == [(1,)]


async def test_rate_limit_per_source_answers_429_and_audits_once(tmp_path: Path) -> None:
    async with rig(tmp_path, burst=10) as r:
        answers = await asyncio.gather(
            *(r.post("/signal", signal(id=f"rl-{i}", side="long")) for i in range(100))
        )
        await r.session.signals.settled()
        statuses = [status for status, _ in answers]
        assert statuses.count(429) == 90
        assert len(r.rows(SIGNALS)) == 10
        assert r.rows("SELECT reason FROM audit_events WHERE kind = 'webhook'") == [
            ("rate limit reached",)
        ]
        r.clock.now += 60_000  # a minute later the source has 10 requests again (60/min, burst)
        status, _ = await r.post("/signal", signal(id="later"))
        assert status == 409  # not 429: it reached the intake (and found the open position)


async def test_ask_mode_waits_for_the_trader_then_enters(tmp_path: Path) -> None:
    async with rig(tmp_path, mode="ask") as r:
        status, answer = await r.post("/signal", signal(id="ask-1", quality=88))
        assert (status, answer["status"]) == (202, "waiting")
        assert r.session.book.positions == []  # nothing before the trader says so
        assert r.rows("SELECT COUNT(*) FROM orders") == [(0,)]
        [waiting] = r.session.signals.waiting.values()
        assert "long SOL-PERP q88" in waiting.text
        outcome = await r.session.signals.confirm(waiting.signal_id)
        assert "entered as #" in outcome
        [(_, _, accepted, st, _, trade_id)] = r.rows(SIGNALS)
        assert (accepted, st) == (1, "entered") and trade_id == r.session.book.positions[0].trade_id


async def test_ask_mode_skip_and_expiry_enter_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path, mode="ask") as r:
        await r.post("/signal", signal(id="no"))
        await r.post("/signal", signal(id="late"))
        first, second = list(r.session.signals.waiting)
        await r.session.signals.skip(first)
        r.clock.now += 301_000  # past ask_timeout_s (300 s)
        assert "expired" in await r.session.signals.confirm(second)
        assert r.rows("SELECT external_id, status, reject_reason FROM signals ORDER BY id") == [
            ("no", "skipped", "skipped by user"),
            ("late", "skipped", "not confirmed within 300 s"),
        ]
        assert r.session.book.positions == []
        assert r.rows("SELECT COUNT(*) FROM orders") == [(0,)]


async def test_webhook_that_cannot_start_is_said_and_the_cockpit_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.paper import PaperBroker
    from adapters.replay import ReplayFeed
    from cockpit.config import Settings
    from cockpit.config_outside import WebhookConfig
    from cockpit.session import Session

    monkeypatch.delenv("COCKPIT_WEBHOOK_TOKEN", raising=False)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        for n, (cfg, expected) in enumerate(
            [
                (WebhookConfig(enabled=True), "webhook not started: no token"),
                (
                    WebhookConfig(enabled=True, listen=f"127.0.0.1:{port}", token=SecretStr("t")),
                    f"webhook not started on 127.0.0.1:{port}",
                ),
            ]
        ):
            settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / f'{n}.db'}", webhook=cfg)
            feed = ReplayFeed({SYMBOL: []}, speed=None, simulated=True, label="t", paused=True)
            session = Session(settings, feed, PaperBroker(settings.paper), [SYMBOL])
            await session.start()
            try:
                assert session.webhook is None
                assert any(expected in e.text for e in session.latest.events if e.level == "error")
                assert TOKEN not in " ".join(e.text for e in session.latest.events)
            finally:
                await session.stop()
    finally:
        busy.close()
