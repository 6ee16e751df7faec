"""`cockpit backtest --scheduler`: the same grid on a real Dask cluster on 127.0.0.1 gives
byte-identical outputs, survives a worker killed mid-grid, and without the `cluster` extra is
one line and exit 2. Skipped only where dask is not installed (it is in the dev group)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cockpit.backtest import run as run_module
from cockpit.backtest.cluster import run_on_cluster
from cockpit.backtest.data import load_market
from cockpit.backtest.plans import ParamSet, Trades, encode
from cockpit.backtest.run import chunks_of, concat, run_chunk, trade_bounds
from cockpit.backtest.tables import CANDLES, sparse_tables
from tests.backtest.test_cli import backtest, write_candles

distributed = pytest.importorskip("distributed")

COMMON = [
    "--policy",
    "fixed,atr_scaled,quality_tiers",
    "--scores",
    "90,75,65,55",
    "--entries",
    "every:2:230",
]


@pytest.fixture
def candles(tmp_path: Path) -> Path:
    return write_candles(tmp_path / "SOLUSDT_test_1m.csv")


def test_scheduler_gives_the_same_bytes_as_one_process(candles: Path, tmp_path: Path) -> None:
    local = [tmp_path / "1.csv", tmp_path / "1.md"]
    remote = [tmp_path / "c.csv", tmp_path / "c.md"]
    assert backtest(str(candles), *COMMON, "--trades", str(local[0]), "--out", str(local[1])) == 0
    with distributed.LocalCluster(
        protocol="tcp",
        host="127.0.0.1",
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
    ) as cluster:
        code = backtest(
            str(candles),
            *COMMON,
            "--scheduler",
            cluster.scheduler_address,
            "--trades",
            str(remote[0]),
            "--out",
            str(remote[1]),
        )
    assert code == 0
    assert local[0].read_bytes() == remote[0].read_bytes()
    assert local[1].read_bytes() == remote[1].read_bytes()
    assert len(local[0].read_text().splitlines()) > 2 * run_module.CHUNK_TRADES  # several tasks


class KillOnce(distributed.WorkerPlugin):  # type: ignore[misc,name-defined]
    """Kills the worker process that starts its second task, once per test (an O_EXCL file
    says it happened): a worker lost mid-grid, with a chunk done and one in hand."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.started = 0

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing":
            return
        self.started += 1
        if self.started < 2:
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(1)


def test_a_worker_killed_mid_grid_loses_nothing(
    candles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = load_market(candles)
    entries = np.arange(230, len(market) - 1, 2, dtype=np.int64)
    n = len(entries)
    rng = np.random.default_rng(3)
    trades = Trades(
        np.where(np.arange(n) % 2 == 0, 1.0, -1.0),
        market.close[entries],
        rng.uniform(0.5, 2.0, n),
        np.resize(np.array([90.0, 75.0, 65.0]), n),
    )
    sets = encode([ParamSet(p) for p in ("fixed", "atr_scaled", "quality_tiers")], "SOLUSDT")
    starts, ends = trade_bounds(market, entries, None)
    chunks = chunks_of(trades, starts, ends, 50)
    arrays = (market.open, market.high, market.low, market.close)
    tables = sparse_tables(*arrays, CANDLES)
    want = concat([run_chunk(tables, sets, c, False) for c in chunks])

    marker = tmp_path / "killed"
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))  # the plugin's module
    with (
        distributed.LocalCluster(
            host="127.0.0.1",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(KillOnce(str(marker)))
        done: list[int] = []
        parts = run_on_cluster(
            client, arrays, CANDLES, sets, chunks, False, lambda part: done.append(1)
        )
    assert marker.exists()  # a worker died while the grid ran
    assert len(done) == len(chunks) > 2
    got = concat(parts)
    for field in ("fill_bar", "fill_price", "fill_frac", "fill_reason", "n_fills", "pnl_pct"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
    np.testing.assert_array_equal(got.mfe_pct, want.mfe_pct)


def test_without_the_extra_it_is_one_line_and_exit_2(
    candles: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    out = tmp_path / "t.csv"
    code = backtest(str(candles), *COMMON, "--scheduler", "local", "--trades", str(out))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "cockpit[cluster]" in err
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_line_and_exit_2(
    candles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = backtest(str(candles), *COMMON, "--scheduler", "tcp://127.0.0.1:9")
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "tcp://127.0.0.1:9" in err
