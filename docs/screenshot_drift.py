"""Regenerate docs/cockpit-drift.svg, the README's picture of LIVE-SMALL on Drift.

    uv run python docs/screenshot_drift.py

Offline: the real session, DriftBroker and oracle feed over the fake chain the tests use
(tests/fakes/drift_harness.py), in a throwaway database. A live long has taken TP1 and TP2 and its
runner trails, but the last trail move did not reach Drift: the position shows `no chain SL` in
red and the note under the chart says where the on-chain stop still stands.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from cockpit.app import CockpitApp
from cockpit.domain import Side
from tests.cockpit.drift_rig import SYMBOL, T0, Clock, build_session, drift_config, new_wallet
from tests.fakes.drift_harness import make_harness

OUT = Path(__file__).with_name("cockpit-drift.svg")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = drift_config()
        wallet = new_wallet()
        h = make_harness(wallet, config=cfg)
        clock = Clock(T0)
        session, gate = build_session(Path(tmp) / "shot.db", h, wallet, cfg, clock, 2.0)
        app = CockpitApp(session)
        async with app.run_test(size=(150, 44)) as pilot:
            await gate.first()
            for _ in range(100):
                if session.live_precondition() is None:
                    break
                await pilot.pause(0.02)
            await session.enter_live("LIVE")
            app.set_class(True, "-live-mode")
            pos = await session.open_position(
                SYMBOL, Side.LONG, 50, 2, policy="quality_tiers", quality_score=88
            )
            assert session.venue is not None
            await session.venue.poll_once()

            async def price(p: float) -> None:
                clock.now += 1000
                h.set_oracle(p)
                await gate.release()

            for p in (150.4, 151.0, 151.6, 152.1, 153.0, 154.1, 156.0, 158.2):
                await price(p)
                await session.venue.poll_once()
            h.sender.failures = ["lost"] * 4  # the next trail move does not reach the chain
            await price(160.3)
            await session.venue.poll_once()
            assert pos.trade_id is not None
            await pilot.pause(0.6)
            app.save_screenshot(str(OUT))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
