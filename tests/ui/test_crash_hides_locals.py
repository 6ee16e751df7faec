"""A crash inside the running cockpit is printed without the frames' local variables.

Textual prints an unhandled exception with every frame's locals; driftpy keeps the wallet's
solders Keypair (whose repr is the whole secret key) in the locals of its send path, so such a
crash would put the key on the terminal (issue 13, item 8).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.keypair import Keypair

from adapters.paper import PaperBroker
from adapters.replay import simulated_market
from cockpit.app import CockpitApp
from cockpit.config import Settings
from cockpit.session import Session
from tests.cockpit.key_leaks import leaks_in


async def test_a_crash_with_a_keypair_in_a_frame_prints_no_key(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    keypair = Keypair()
    settings = Settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    feed = simulated_market(
        symbol="SOL-PERP", start_price=150.0, seed=1, start_ms=0, speed=None, paused=True
    )
    app = CockpitApp(Session(settings, feed, PaperBroker(settings.paper), ["SOL-PERP"]))

    def send_like_driftpy(payer: Keypair) -> None:
        raise RuntimeError("the RPC hung up mid-send")

    def crash() -> None:
        send_like_driftpy(keypair)

    with pytest.raises(RuntimeError, match="mid-send"):
        async with app.run_test() as pilot:
            app.call_later(crash)
            for _ in range(400):  # the crash closes the app; wait for it, bounded
                await pilot.pause(0.05)
                if not app.is_running:
                    break
    captured = capfd.readouterr()
    text = captured.out + captured.err
    assert "mid-send" in text and "send_like_driftpy" in text, "the crash is still shown"
    assert not leaks_in(text.encode(), keypair)
