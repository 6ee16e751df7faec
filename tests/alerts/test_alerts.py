"""Alerts (issue 16 item 8): the default rules raised from a real session, kept in the alerts
table, cooled down per rule and subject, and delivered to a fake Telegram Bot API on 127.0.0.1
that answers 429 and 500 (retried with backoff, the alert kept, the token never logged)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cockpit.alerts.rules import AlertWatcher
from cockpit.config import FixedPolicyConfig, RiskLimits
from cockpit.config_outside import AlertsConfig, TelegramConfig
from cockpit.domain import FeedState, FeedStatus, Side
from tests.fakes.telegram_bot import FakeBotApi
from tests.signals.rig import SYMBOL, rig, signal

pytestmark = pytest.mark.usefixtures("guard")

TG_TOKEN = "123456:ABC-tg-secret-token"
TG_ENV = "COCKPIT_TEST_TG_TOKEN"
ALERTS = "SELECT rule, level, message, delivery FROM alerts WHERE rule IS NOT NULL ORDER BY id"


def telegram(fake: FakeBotApi, **fields: object) -> AlertsConfig:
    cfg = TelegramConfig(
        chat_id="42",
        token_env=TG_ENV,
        api_url=fake.api_url,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        **fields,  # type: ignore[arg-type]
    )
    return AlertsConfig(telegram=cfg)


async def test_tp_fill_and_stop_hit_reach_telegram_through_429_and_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(TG_ENV, TG_TOKEN)
    async with FakeBotApi(TG_TOKEN, "42") as fake:
        fake.fail_next(429, 500)
        async with rig(tmp_path, prices=[100.0, 101.6, 100.0], alerts=telegram(fake)) as r:
            pos = await r.session.open_position(SYMBOL, Side.LONG, 25.0, 2)
            await r.feed.step(2)  # TP1 at +1.5 % (stop to profit lock), then back through it
            assert pos.closed
            await r.session.alerts.settled()
            rows = r.rows(ALERTS)
            events = [e.text for e in r.session.latest.events]
    assert [(rule, level, delivery) for rule, level, _, delivery in rows] == [
        ("tp_fill", "info", "sent"),
        ("stop_hit", "info", "sent"),
    ]
    assert f"#{pos.trade_id} tp1 filled" in rows[0][2]
    assert f"#{pos.trade_id} profit_lock hit" in rows[1][2]
    # the first message was answered 429, then 500, then taken; the second at once
    assert [q.split()[0] for q in fake.requests] == ["429", "500", "200", "200"]
    assert [m.text for m in fake.messages] == [f"Cockpit: {rows[0][2]}", f"Cockpit: {rows[1][2]}"]
    assert all(m.content_type.startswith("application/json") for m in fake.messages)
    assert any(e.startswith("ALERT ") and "tp1 filled" in e for e in events)
    assert TG_TOKEN not in caplog.text


async def test_telegram_failing_for_good_keeps_the_alert_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(TG_ENV, TG_TOKEN)
    async with FakeBotApi(TG_TOKEN, "42") as fake:
        fake.fail_next(500, 500, 500, 500)
        async with rig(tmp_path, alerts=telegram(fake, max_retries=2)) as r:
            assert r.session.alerts.fire("daily_loss", "day", "error", "daily loss stop: test")
            await r.session.alerts.settled()
            rows = r.rows(ALERTS)
            events = [e.text for e in r.session.latest.events if e.level == "error"]
    assert rows == [
        ("daily_loss", "error", "daily loss stop: test", "failed: 500 Internal Server Error")
    ]
    assert len(fake.requests) == 3 and fake.messages == []  # 1 try + 2 retries
    assert any("alert not delivered to Telegram: failed: 500" in e for e in events)
    assert TG_TOKEN not in caplog.text and all(TG_TOKEN not in e for e in events)


async def test_a_request_telegram_refuses_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TG_ENV, TG_TOKEN)
    fake = FakeBotApi(TG_TOKEN, "43")  # the bot is not in chat 42
    async with fake, rig(tmp_path, alerts=telegram(fake)) as r:
        r.session.alerts.fire("mfe", "#1", "info", "runner candidate")
        await r.session.alerts.settled()
        [(_, _, _, delivery)] = r.rows(ALERTS)
    assert delivery == "failed: 400 Bad Request: chat not found"
    assert len(fake.requests) == 1


async def test_missing_bot_token_is_said_and_alerts_still_shown(tmp_path: Path) -> None:
    fake = FakeBotApi(TG_TOKEN, "42")
    async with fake, rig(tmp_path, alerts=telegram(fake)) as r:  # TG_ENV is not set
        assert r.session.alerts.sender is None
        assert any(f"${TG_ENV}" in e.text for e in r.session.latest.events)
        r.session.alerts.fire("mfe", "#1", "info", "runner candidate")
        await r.session.alerts.settled()
        assert [row[0] for row in r.rows(ALERTS)] == ["mfe"]
    assert fake.requests == []


async def test_mfe_above_5_pct_alerts_once_per_position(tmp_path: Path) -> None:
    wide = FixedPolicyConfig(tp1_pct=8.0, tp2_pct=12.0)
    async with rig(tmp_path, prices=[100.0, 104.0, 106.0, 107.0], policy=wide) as r:
        pos = await r.session.open_position(SYMBOL, Side.LONG, 25.0, 2)
        await r.feed.step(1)
        r.session.alert_watcher.check()
        await r.feed.step(1)  # 106: MFE 6 %
        r.session.alert_watcher.check()
        await r.feed.step(1)  # 107: still above, already said
        r.session.alert_watcher.check()
        await r.session.alerts.settled()
        rows = r.rows(ALERTS)
        assert [row[0] for row in rows] == ["mfe"]
        assert f"#{pos.trade_id} long {SYMBOL} MFE 6.00 %" in rows[0][2]


async def test_feed_down_alerts_after_n_seconds_then_cools_down(tmp_path: Path) -> None:
    async with rig(tmp_path, alerts=AlertsConfig(feed_down_after_s=30, cooldown_s=300)) as r:
        status = FeedStatus(FeedState.CONNECTED)
        watcher = AlertWatcher(
            r.session.alerts,
            feed_status=lambda: status,
            positions=lambda: [],
            failing_exits=dict,
            daily_loss=lambda _now: None,
            clock=r.clock,
        )
        watcher.check()
        status = FeedStatus(FeedState.STALE, age_s=5)
        watcher.check()
        r.clock.now += 29_000
        watcher.check()
        assert r.session.alerts.seq == 0  # stale 29 s: not yet
        r.clock.now += 2_000
        watcher.check()
        status = FeedStatus(FeedState.DOWN, detail="3 failed reconnects")
        r.clock.now += 60_000
        watcher.check()  # still bad, within the cooldown: no second alert
        status = FeedStatus(FeedState.CONNECTED)
        watcher.check()
        status = FeedStatus(FeedState.DOWN, detail="again")
        r.clock.now += 300_000
        watcher.check()
        r.clock.now += 31_000
        watcher.check()
        await r.session.alerts.settled()
        messages = [row[2] for row in r.rows(ALERTS)]
    assert len(messages) == 2
    assert messages[0].startswith("feed stale for 31 s")
    assert messages[1].startswith("feed down for 31 s (again)")


async def test_exit_failing_and_daily_loss_alert_once(tmp_path: Path) -> None:
    limits = RiskLimits(daily_loss_limit_usdt=0.1)
    async with rig(tmp_path, risk=limits) as r:
        failing: dict[int, str] = {}
        watcher = AlertWatcher(
            r.session.alerts,
            feed_status=lambda: FeedStatus(FeedState.CONNECTED),
            positions=lambda: [],
            failing_exits=lambda: failing,
            daily_loss=r.session.risk.daily_loss_reached,
            clock=r.clock,
        )
        watcher.check()
        failing[7] = "exit failing: stop_loss venue down"
        watcher.check()
        watcher.check()
        r.session.risk.record_realized(-0.25, r.clock())
        watcher.check()
        watcher.check()
        await r.session.alerts.settled()
        rows = r.rows(ALERTS)
    assert [(rule, level) for rule, level, _, _ in rows] == [
        ("exit_failing", "error"),
        ("daily_loss", "error"),
    ]
    assert rows[0][2] == "#7 exit failing: stop_loss venue down"
    assert "daily loss stop: 0.25 USDT lost today" in rows[1][2]


async def test_premium_signal_alerts_and_rules_can_be_turned_off(tmp_path: Path) -> None:
    async with rig(tmp_path, alerts=AlertsConfig(rules=["quality"])) as r:
        await r.post("/signal", signal(id="p1", quality=93))
        await r.post("/signal", signal(id="p2", quality=90))  # not above 90
        await r.session.signals.settled()
        r.session.alerts.fire("stop_hit", "#1", "warning", "off: not raised")
        await r.session.alerts.settled()
        rows = r.rows(ALERTS)
    assert [(rule, message.split(":")[0]) for rule, _, message, _ in rows] == [
        ("quality", "premium setup")
    ]
    assert "q93" in rows[0][2]
