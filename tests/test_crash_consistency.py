"""Exactly-once learning across crashes: a run killed (SIGKILL) and restarted several times
ends with the same weights and training counter as a run that was never interrupted."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "binance" / "XMR_BTC-5m.feather"
sys.path.insert(0, str(ROOT / "benchmarks"))

from crash_consistency import drill  # noqa: E402


@pytest.mark.e2e
def test_killed_and_restarted_run_matches_uninterrupted_run(tmp_path):
    result = drill(candles=160, kills=3, seed=1, data=DATA, save_interval=10, workdir=tmp_path)
    assert result["kills"] == 3
    assert result["failed_loads"] == 0
    assert result["counter_killed"] == result["counter_uninterrupted"] > 100
    assert result["max_abs_weight_diff"] <= 1e-6
