"""SelfLearningStrategy's stop (custom_stoploss): `stop_buffer` times the latest analyzed
candle's predicted downward excursion below its close, clamped to [stoploss (STOP_WIDEST by
default), STOP_TIGHTEST] of that close; the static stop while that candle has no usable
prediction, and no change while the price is already under the predicted stop (a user's
stoploss: test_strategy_hyperopt_space)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
TRADE = SimpleNamespace(is_short=False, leverage=1.0, open_rate=100.0)


@pytest.fixture
def module():
    return load_strategy_module()


class Provider:
    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def get_analyzed_dataframe(self, pair, timeframe):
        return self.frame, None


def strategy_on(module, liq_down: float, do_predict: int = 1, close: float = 100.0):
    strategy = module.SelfLearningStrategy({})
    frame = pd.DataFrame({"close": [close * 0.9, close], "&-liq_down": [-0.5, liq_down],
                          "do_predict": [1, do_predict]})
    strategy.dp = Provider(frame)
    return strategy


@pytest.mark.parametrize(("liq_down", "rate"), [
    (-0.01, 90.0),     # 10 x 1 % below the close
    (-0.05, 85.0),     # 50 %: no wider than STOP_WIDEST (15 %)
    (-0.0001, 99.5),   # 0.1 %: no tighter than STOP_TIGHTEST (0.5 %)
])
def test_the_stop_is_the_buffered_downward_excursion_below_the_close(module, liq_down, rate):
    assert module.SelfLearningStrategy.stop_buffer.value == 10.0
    assert strategy_on(module, liq_down).predicted_stop_rate("A/USDT") == pytest.approx(rate)


@pytest.mark.parametrize(("liq_down", "do_predict"), [(-0.01, 0), (np.nan, 1)])
def test_no_predicted_stop_without_a_usable_prediction_on_the_last_candle(module, liq_down,
                                                                          do_predict):
    strategy = strategy_on(module, liq_down, do_predict)
    assert strategy.predicted_stop_rate("A/USDT") is None
    # the static stop, from the entry price: 15 % below it at a profit of 0
    assert strategy.custom_stoploss("A/USDT", TRADE, NOW, 100.0, 0.0, False) == \
        pytest.approx(0.15)


def test_no_predicted_stop_without_the_models_column_or_candles(module):
    strategy = module.SelfLearningStrategy({})
    strategy.dp = Provider(pd.DataFrame({"close": [100.0], "do_predict": [1]}))
    assert strategy.predicted_stop_rate("A/USDT") is None
    strategy.dp = Provider(pd.DataFrame({"close": [], "&-liq_down": [], "do_predict": []}))
    assert strategy.predicted_stop_rate("A/USDT") is None


def test_custom_stoploss_is_the_distance_from_the_current_rate_to_the_predicted_stop(module):
    strategy = strategy_on(module, -0.01)  # predicted stop at 90
    assert strategy.custom_stoploss("A/USDT", TRADE, NOW, 100.0, 0.0, False) == \
        pytest.approx(0.10)
    assert strategy.custom_stoploss("A/USDT", TRADE, NOW, 120.0, 0.2, False) == \
        pytest.approx(0.25)
    # the price already under the predicted stop: the stop stays where it is
    assert strategy.custom_stoploss("A/USDT", TRADE, NOW, 89.0, -0.11, False) is None
