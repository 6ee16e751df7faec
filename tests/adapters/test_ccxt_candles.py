"""The oracle feed's ATR source: ccxt's plain async client against the fake Binance USD-M REST
API on 127.0.0.1, and the Drift oracle feed serving those bars under the Drift symbol."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.ccxt_candles import CcxtCandles
from adapters.drift import DriftOracleFeed
from cockpit.engine.atr import wilder_atr
from tests.adapters.live_feed_harness import SYMBOL, fast_config, running
from tests.cockpit.drift_rig import drift_config, new_wallet
from tests.fakes.binance_usdm import MINUTE_MS, FakeBinanceUSDM
from tests.fakes.drift_harness import make_harness

pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinanceUSDM]:
    async with running(FakeBinanceUSDM()) as server:
        yield server


async def test_rest_history_only_no_websocket(fake: FakeBinanceUSDM) -> None:
    source = CcxtCandles(fast_config(fake.origin))
    try:
        bars = await source.candles(SYMBOL, "15m", None, 8)
    finally:
        await source.close()
    assert len(bars) == 8
    assert [b.ts_ms % (15 * MINUTE_MS) for b in bars] == [0] * 8
    assert all(b.high >= max(b.open, b.close) and b.low <= min(b.open, b.close) for b in bars)
    assert any(r.startswith("GET /fapi/v1/klines") for r in fake.rest_requests)
    assert fake.connections == [], "no websocket was opened"


async def test_the_oracle_feed_serves_them_as_the_drift_market() -> None:
    cfg = drift_config(candle_symbols={"SOL-PERP": SYMBOL})
    h = make_harness(new_wallet(), config=cfg)
    async with running(FakeBinanceUSDM(history_minutes=15 * 50)) as fake:
        source = CcxtCandles(fast_config(fake.origin))
        feed = DriftOracleFeed(h.client, cfg, candle_source=source)
        try:
            bars = await feed.candles("SOL-PERP", "15m", None, 43)
        finally:
            await feed.close()
    assert len(bars) == 43 and {b.symbol for b in bars} == {"SOL-PERP"}
    atr = wilder_atr(bars[:-1], 14)
    assert atr is not None and atr > 0


async def test_an_unknown_exchange_is_refused_with_its_name() -> None:
    source = CcxtCandles(fast_config("http://127.0.0.1:9", exchange="nosuchexchange"))
    with pytest.raises(ValueError, match="nosuchexchange"):
        await source.candles(SYMBOL, "1m")
    await source.close()
