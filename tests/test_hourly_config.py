"""The shipped configs: `-c config.json` alone is the 1h setup of docs/hourly.md (horizon,
memory and windows chosen on the dev windows of benchmarks/quality.py --set usdt-1h), and
`-c config.json -c config.5m.json` the 5m setup that was the default before (README
"Configuration"); each is a valid configuration for freqtrade, the model and the strategy."""

from __future__ import annotations

from pathlib import Path

import pytest
from freqtrade.configuration.load_config import load_from_files
from strategy_support import load_strategy_module

from self_learning.config import SelfLearningConfig, parse_config
from self_learning.startup_checks import check_startup

ROOT = Path(__file__).resolve().parents[1]
HOUR_S, FIVE_MINUTES_S = 3600, 300


@pytest.fixture(scope="module")
def hourly() -> dict:
    return load_from_files([str(ROOT / "config.json")])


@pytest.fixture(scope="module")
def five_minute() -> dict:
    return load_from_files([str(ROOT / "config.json"), str(ROOT / "config.5m.json")])


def test_config_json_is_the_hourly_setup(hourly):
    assert hourly["timeframe"] == "1h"
    freqai = hourly["freqai"]
    assert (freqai["train_period_days"], freqai["backtest_period_days"]) == (30, 7)
    assert freqai["live_retrain_hours"] == 24
    assert freqai["feature_parameters"]["include_timeframes"] == ["1h"]
    assert freqai["feature_parameters"]["indicator_periods_candles"] == [10, 20]
    model = parse_config(freqai)
    assert (model.label_period_candles, model.memory_candles) == (4, 8760)
    assert model.epochs == 30


def test_the_5m_overlay_restores_the_5m_setup(five_minute):
    """Every key the 1h setup changed, back at the 5m values (memory_candles at the model's
    default: an overlay cannot delete a key)."""
    assert five_minute["timeframe"] == "5m"
    freqai = five_minute["freqai"]
    assert (freqai["train_period_days"], freqai["backtest_period_days"]) == (5, 1)
    assert freqai["live_retrain_hours"] == 1
    assert freqai["feature_parameters"]["include_timeframes"] == ["5m", "15m", "1h"]
    assert freqai["feature_parameters"]["indicator_periods_candles"] == [10, 20]  # kept
    model = parse_config(freqai)
    assert (model.label_period_candles, model.memory_candles) == (
        12, SelfLearningConfig.memory_candles)
    assert model.epochs == 30  # config.json's, untouched


@pytest.mark.parametrize(("setup", "timeframe_s"), [("hourly", HOUR_S),
                                                     ("five_minute", FIVE_MINUTES_S)])
def test_both_setups_pass_the_startup_checks(setup, timeframe_s, request):
    """No refusal: among others, train_period_days holds window_candles - 1 + H + 64 candles
    (30 days = 720 1h candles against 99; 5 days = 1440 5m candles against 107)."""
    assert check_startup(request.getfixturevalue(setup), timeframe_s).refusals == ()


def test_the_strategy_counts_every_window_in_hours(hourly):
    strategy = load_strategy_module().SelfLearningStrategy(hourly)
    assert strategy.minimal_roi == {"0": 0.03, "240": 0.01, "720": 0.0}  # H, 3H of 1h candles
    assert strategy.z_candles == 24
    assert strategy.market_windows == (1, 3, 6, 24)
    assert strategy.calibration_candles == 14 * 24


def test_the_strategy_counts_every_window_in_5m_candles(five_minute):
    strategy = load_strategy_module().SelfLearningStrategy(five_minute)
    assert strategy.minimal_roi == {"0": 0.03, "60": 0.01, "180": 0.0}  # H, 3H of 5m candles
    assert strategy.market_windows == (1, 12, 72, 288)
