"""SelfLearningStrategy's stake by conviction (custom_stake_amount, `size_by`; issue 19):
the proposed stake times the signal candle's value over the entry floor, clipped to
[size_low, size_high] and to freqtrade's [min_stake, max_stake]; off ("none") by default."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.strategy.sizing import sized_stake, stake_multiple


@pytest.fixture(scope="module")
def module():
    return load_strategy_module()


@pytest.mark.parametrize(("signal", "reference", "multiple"), [
    (0.006, 0.003, 2.0),      # twice the floor
    (0.0045, 0.003, 1.5),
    (0.03, 0.003, 2.5),       # clipped to high
    (0.0003, 0.003, 0.5),     # clipped to low
    (-0.01, 0.003, 0.5),      # a negative expected return: the least stake
    (np.nan, 0.003, 1.0),     # nothing to size by: the proposed stake
    (0.006, 0.0, 1.0),
])
def test_stake_multiple_is_the_signal_over_the_floor_clipped(signal, reference, multiple):
    assert stake_multiple(signal, reference, 0.5, 2.5) == pytest.approx(multiple)


def test_sized_stake_stays_within_freqtrades_min_and_max_stake():
    assert sized_stake(100.0, 1.5, 10.0, 500.0) == pytest.approx(150.0)
    assert sized_stake(100.0, 2.0, 10.0, 120.0) == pytest.approx(120.0)  # max_stake
    assert sized_stake(100.0, 0.05, 10.0, 500.0) == pytest.approx(10.0)  # min_stake
    assert sized_stake(100.0, 0.05, None, 500.0) == pytest.approx(5.0)
    assert sized_stake(100.0, 0.05, 10.0, 8.0) == pytest.approx(8.0)     # max wins


class Provider:
    """freqtrade's analyzed candles of a pair up to its signal candle."""

    def __init__(self, frame: pd.DataFrame, upto: pd.Timestamp):
        self.frame, self.upto = frame, upto

    def get_analyzed_dataframe(self, pair, timeframe):
        return self.frame[self.frame["date"] <= self.upto], None


def stake_of(module, upto: int = 3, max_stake: float = 1000.0, **params) -> float:
    """The stake custom_stake_amount gives a proposed 100 at candle `upto`; the floor is the
    round trip 0.004 at the config's fee 0.002 (above the threshold 0.003)."""
    config = {"timeframe": "1h", "fee": 0.002,
              "freqai": {"enabled": True, "feature_parameters": {"label_period_candles": 4}}}
    strategy = module.SelfLearningStrategy(config)
    # the parameters are the class's objects (shared by instances): set every one
    for name, value in {"size_by": "none", "size_low": 0.5, "size_high": 2.0, **params}.items():
        getattr(strategy, name).value = value
    dates = pd.date_range("2025-01-01", periods=6, freq="1h", tz="UTC")
    frame = pd.DataFrame({"date": dates,
                          "&-s_close": [0.0, 0.0, 0.0, 0.0045, 0.0, 0.0],
                          "expected_return": [0.0, 0.0, 0.0, 0.006, 0.0, 0.03]})
    strategy.dp = Provider(frame, dates[upto])
    return strategy.custom_stake_amount("BTC/USDT", datetime(2025, 1, 1, 4, tzinfo=UTC), 1.0,
                                        100.0, 10.0, max_stake, 1.0, "ai_long", "long")


def test_the_default_stakes_the_proposed_amount(module):
    fresh = load_strategy_module()  # the class's parameters as declared, set by no test
    assert fresh.SelfLearningStrategy.size_by.value == "none"
    assert stake_of(module) == pytest.approx(100.0)
    assert stake_of(module, size_by="none", size_high=3.0) == pytest.approx(100.0)


def test_stake_grows_with_the_signal_candles_value_over_the_floor(module):
    assert stake_of(module, size_by="expected_return") == pytest.approx(150.0)
    assert stake_of(module, size_by="&-s_close") == pytest.approx(112.5)
    assert stake_of(module, size_by="expected_return", size_high=1.0) == pytest.approx(100.0)
    # the signal candle is the last analyzed one: a later candle's 0.03 does not count
    assert stake_of(module, upto=4, size_by="expected_return") == pytest.approx(50.0)
    assert stake_of(module, size_by="expected_return", max_stake=120.0) == pytest.approx(120.0)
    assert stake_of(module, size_by="expected_return", size_high=1.2) == pytest.approx(120.0)
