"""`cockpit replay FILE --signals SIGNALS.csv` (issue 16 item 6): the same signals through the
same intake, each at the first tick at or after its time; a bad file is refused before the
replay starts, with the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.cli import main
from cockpit.config import Settings
from cockpit.config_outside import WebhookConfig
from cockpit.domain import Side, Tick
from cockpit.session import Session
from cockpit.signals.replay import SignalSchedule, read_signals_csv
from tests.signals.rig import NO_COSTS, SYMBOL, T0

HEADER = "ts_ms,id,symbol,side,quality,strategy,notional\n"


def test_signals_file_is_read_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        HEADER + f"{T0 + 5000},b,{SYMBOL},short,,x,\n{T0 + 2500},a,{SYMBOL},buy,88,y,30\n"
    )
    timed = read_signals_csv(path)
    assert [(t.ts_ms, t.signal.external_id, t.signal.side) for t in timed] == [
        (T0 + 2500, "a", Side.LONG),
        (T0 + 5000, "b", Side.SHORT),
    ]
    assert timed[0].signal.quality == 88.0 and timed[0].signal.notional == 30.0
    assert timed[1].signal.quality is None  # an empty cell is an absent field


@pytest.mark.parametrize(
    "line,why",
    [
        (f"soon,a,{SYMBOL},long,,,", "ts_ms must be epoch milliseconds"),
        (f"{T0},a,{SYMBOL},up,,,", "side must be"),
        (f"{T0},a,{SYMBOL},long,high,,", "quality must be a number"),
        (f"{T0},a,{SYMBOL},long,101,,", "quality 101.0 is out of range"),
    ],
)
def test_a_bad_line_stops_the_replay_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, why: str
) -> None:
    candles = tmp_path / "c.csv"
    candles.write_text(f"{T0},100,101,99,100,1\n")
    signals = tmp_path / "sig.csv"
    signals.write_text(HEADER + f"{T0},ok,{SYMBOL},long,,,\n" + line + "\n")
    db = tmp_path / "x.db"
    code = main(
        ["--db", f"sqlite+aiosqlite:///{db}", "replay", str(candles), "--signals", str(signals)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "sig.csv line 3" in err and why in err
    assert len(err.strip().splitlines()) == 1
    assert not db.exists()  # nothing started, nothing written


async def test_signals_enter_at_the_first_tick_at_or_after_their_time(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        HEADER
        + f"{T0 + 2500},long-1,{SYMBOL},long,85,t,25\n"
        + f"{T0 + 3500},short-1,{SYMBOL},short,85,t,25\n"  # refused: the long is open
    )
    settings = Settings(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        paper=NO_COSTS,
        webhook=WebhookConfig(mode="auto"),
    )
    ticks = [
        Tick(SYMBOL, T0 + 1000 * (i + 1), p) for i, p in enumerate([100.0, 100.2, 100.4, 100.6])
    ]
    feed = ReplayFeed({SYMBOL: ticks}, speed=None, simulated=True, label="t", paused=True)
    session = Session(settings, feed, PaperBroker(settings.paper), [SYMBOL])
    session.signal_schedule = SignalSchedule(read_signals_csv(path), session.signals, "replay:s")
    await session.start()
    try:
        await feed.step(2)  # T0+1000, T0+2000: nothing due yet
        assert session.book.positions == []
        await feed.step(1)  # T0+3000: the long is due, entered at this tick's price
        [pos] = session.book.positions
        assert pos.entry == pytest.approx(100.4)
        await feed.step(1)  # T0+4000: the short is due and refused
        statuses = await _statuses(session)
    finally:
        await session.stop()
    assert statuses == [("long-1", "entered", None), ("short-1", "refused", "opposite side")]


async def _statuses(session: Session) -> list[tuple[str | None, str, str | None]]:
    from state.signal_rows import recent_signals

    rows = await recent_signals(session.require_store())
    out = []
    for r in reversed(rows):
        reason = None if r.reject_reason is None else r.reject_reason.split(" of the open")[0]
        out.append((r.external_id, r.status, reason))
    return out
