"""The optional take-profit at the predicted upward excursion (roi_band, freqtrade's
custom_roi; docs/hourly.md "The band as a take-profit"): the level is roi_band times the
signal candle's `&-liq_up` above its close (band_high at 1), converted to the trade's profit
ratio with fees, at least one round trip of fees; off (0) leaves minimal_roi alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.strategy.strategy_columns import band_levels, band_roi, excursion_level

OPEN = datetime(2025, 1, 1, 12, tzinfo=UTC)
FEE = 0.001  # per side


def no_fee_profit(open_rate: float):
    return lambda price: price / open_rate - 1


@pytest.mark.parametrize(("liq_up", "k", "roi"), [
    (0.02, 1.0, 0.02),     # the band's level itself
    (0.02, 0.5, 0.01),     # half the predicted excursion
    (0.001, 1.0, 0.002),   # below one round trip: the fee floor
    (-0.01, 1.0, 0.002),   # no upward excursion predicted: the floor
])
def test_band_roi_is_the_profit_at_k_times_the_predicted_excursion(liq_up, k, roi):
    assert band_roi(100.0, liq_up, k, 2 * FEE, no_fee_profit(100.0)) == pytest.approx(roi)


def test_band_roi_measures_the_level_from_the_signal_close_through_the_trade_profit():
    prices = []

    def profit_at(price):
        prices.append(price)
        return price / 101.0 - 1 - 2 * FEE   # entered at 101, fees included

    roi = band_roi(100.0, 0.04, 1.0, 2 * FEE, profit_at)
    assert prices == [pytest.approx(104.0)]
    assert roi == pytest.approx(104.0 / 101.0 - 1 - 2 * FEE)


@pytest.mark.parametrize(("close", "liq_up", "k"), [
    (100.0, 0.02, 0.0), (100.0, np.nan, 1.0), (np.nan, 0.02, 1.0), (0.0, 0.02, 1.0)])
def test_band_roi_is_off_without_k_or_a_usable_candle(close, liq_up, k):
    assert band_roi(close, liq_up, k, 2 * FEE, no_fee_profit(100.0)) is None


def test_band_high_is_the_excursion_level_of_liq_up():
    frame = pd.DataFrame({"close": [100.0, 200.0], "do_predict": [1, 1],
                          "&-liq_up": [0.02, 0.05], "&-liq_down": [-0.01, -0.02],
                          "&-s_close": [0.0, 0.01]})
    levels = band_levels(frame.copy())
    assert levels["band_high"].tolist() == pytest.approx([102.0, 210.0])
    assert excursion_level(100.0, 0.02) == pytest.approx(102.0)


@pytest.fixture
def strategy():
    """A fresh module per test (hyperoptable parameters are class attributes); a 1h strategy
    whose data provider serves three analyzed candles before OPEN and the one at OPEN."""
    module = load_strategy_module()
    config = {"timeframe": "1h", "fee": FEE,
              "freqai": {"enabled": True, "feature_parameters": {"label_period_candles": 4}}}
    strategy = module.SelfLearningStrategy(config)
    strategy.timeframe = "1h"
    frame = pd.DataFrame({
        "date": [OPEN - timedelta(hours=h) for h in (3, 2, 1, 0)],
        "close": [90.0, 95.0, 100.0, 110.0],
        "&-liq_up": [0.5, 0.5, 0.03, 0.5],   # 0.03: the signal candle (OPEN - 1h)
        "do_predict": [1, 1, 1, 1],
    })
    strategy.dp = SimpleNamespace(get_analyzed_dataframe=lambda pair, tf: (frame, None))
    strategy.frame = frame
    return strategy


def trade_at(open_rate: float, open_date: datetime = OPEN):
    return SimpleNamespace(open_date_utc=open_date, pair="BTC/USDT",
                           calc_profit_ratio=no_fee_profit(open_rate))


def roi_of(strategy, trade, k):
    strategy.roi_band.value = k
    return strategy.custom_roi("BTC/USDT", trade, OPEN + timedelta(hours=2), 120, "ai_long",
                               "long")


def test_custom_roi_is_off_by_default(strategy):
    assert strategy.roi_band.value == 0.0
    assert strategy.custom_roi("BTC/USDT", trade_at(100.0), OPEN, 0, "ai_long", "long") is None


@pytest.mark.parametrize(("k", "roi"), [(1.0, 0.03), (0.5, 0.015)])
def test_custom_roi_reads_the_signal_candle_before_the_entry(strategy, k, roi):
    assert roi_of(strategy, trade_at(100.0), k) == pytest.approx(roi)
    # a live order placed within the candle: the same signal candle
    assert roi_of(strategy, trade_at(100.0, OPEN + timedelta(minutes=7)), k) == pytest.approx(roi)


def test_custom_roi_falls_back_without_a_usable_signal_candle(strategy):
    strategy.frame.loc[2, "do_predict"] = 0
    assert roi_of(strategy, trade_at(100.0), 1.0) is None
    assert roi_of(strategy, trade_at(100.0, OPEN + timedelta(hours=10)), 1.0) is None


def test_the_lower_of_the_band_and_the_table_wins(strategy):
    """freqtrade's min_roi_reached_entry: the table's 3 % at once, the band's 1.5 % with
    roi_band 0.5, the table alone with roi_band 0."""
    trade = SimpleNamespace(open_date_utc=OPEN, pair="BTC/USDT", enter_tag="ai_long",
                            trade_direction="long", calc_profit_ratio=no_fee_profit(100.0))
    # minutes as ints, as freqtrade's StrategyResolver leaves the table
    strategy.minimal_roi = {int(m): r for m, r in strategy.minimal_roi.items()}
    strategy.roi_band.value = 0.0
    assert strategy.min_roi_reached_entry(trade, 60, OPEN + timedelta(hours=1))[1] == 0.03
    strategy.roi_band.value = 0.5
    assert strategy.min_roi_reached_entry(trade, 60, OPEN + timedelta(hours=1))[1] == (
        pytest.approx(0.015))


def test_custom_roi_floors_at_the_pairs_round_trip_of_fees(strategy):
    strategy.frame.loc[2, "&-liq_up"] = 0.0005
    assert roi_of(strategy, trade_at(100.0), 1.0) == pytest.approx(2 * FEE)
