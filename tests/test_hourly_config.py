"""The shipped 1h setup: `-c config.json -c config.1h.json` is a valid configuration for
freqtrade, the model and the strategy, with the horizon, memory and windows of docs/hourly.md
(chosen on the dev windows of benchmarks/quality.py --set usdt-1h)."""

from __future__ import annotations

from pathlib import Path

import pytest
from freqtrade.configuration.load_config import load_from_files
from strategy_support import load_strategy_module

from self_learning.config import parse_config
from self_learning.startup_checks import check_startup

ROOT = Path(__file__).resolve().parents[1]
HOUR_S = 3600


@pytest.fixture(scope="module")
def hourly() -> dict:
    return load_from_files([str(ROOT / "config.json"), str(ROOT / "config.1h.json")])


def test_freqtrade_merges_the_hourly_overlay_over_config_json(hourly):
    assert hourly["timeframe"] == "1h"
    freqai = hourly["freqai"]
    assert (freqai["train_period_days"], freqai["backtest_period_days"]) == (30, 7)
    assert freqai["feature_parameters"]["include_timeframes"] == ["1h"]
    assert freqai["feature_parameters"]["indicator_periods_candles"] == [10, 20]  # kept
    model = parse_config(freqai)
    assert (model.label_period_candles, model.memory_candles) == (4, 8760)
    assert model.epochs == 30  # config.json's, untouched


def test_the_hourly_setup_passes_the_startup_checks(hourly):
    assert check_startup(hourly, HOUR_S).refusals == ()


def test_the_strategy_counts_every_window_in_hours(hourly):
    strategy = load_strategy_module().SelfLearningStrategy(hourly)
    assert strategy.minimal_roi == {"0": 0.03, "240": 0.01, "720": 0.0}  # H, 3H of 1h candles
    assert strategy.z_candles == 24
    assert strategy.market_windows == (1, 3, 6, 24)
    assert strategy.calibration_candles == 14 * 24
