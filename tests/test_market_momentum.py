"""Multi-day momentum as market features (market_features.momentum_columns, the strategy's
`freqai.feature_parameters.market_momentum` option, off by default): the pair's, the basket's
and BTC's log returns over 3, 7 and 14 days, the pair minus the basket, and the pair's rank
among the basket's pairs by its 7-day return; never ahead of time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from freqtrade.exceptions import OperationalException
from strategy_support import load_strategy_module
from test_market_features_cache import FakeProvider, candle_frame

from self_learning.strategy.market_features import (
    basket_of,
    market_windows,
    momentum_columns,
    momentum_windows,
)

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]


def closes(n: int = 120, seed: int = 0) -> dict[str, pd.Series]:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-01", periods=n, freq="1h", tz="UTC")
    return {p: pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=dates)
            for p in PAIRS}


def momentum(data, pair="ETH/USDT", windows=(3, 5), rank_window=5, basket=PAIRS):
    b = basket_of(data, basket, "BTC/USDT", market_windows(3600))
    return momentum_columns(pd.Series(data[pair].index), pair, b, basket, "BTC/USDT",
                            windows, rank_window)


def test_momentum_windows_are_3_7_14_days_and_the_rank_7_days():
    assert momentum_windows(3600) == ((72, 168, 336), 168)
    assert momentum_windows(300) == ((864, 2016, 4032), 2016)


def test_momentum_columns_are_returns_of_pair_basket_btc_relative_and_the_rank():
    data = closes()
    frame = momentum(data)
    logs = pd.DataFrame({p: np.log(c).diff() for p, c in data.items()})
    basket = logs.mean(axis=1)
    for w in (3, 5):
        np.testing.assert_allclose(frame[f"%-mom_pair_ret_{w}"],
                                   logs["ETH/USDT"].rolling(w).sum().to_numpy())
        np.testing.assert_allclose(frame[f"%-mom_basket_ret_{w}"],
                                   basket.rolling(w).sum().to_numpy())
        np.testing.assert_allclose(frame[f"%-mom_btc_ret_{w}"],
                                   logs["BTC/USDT"].rolling(w).sum().to_numpy())
        np.testing.assert_allclose(frame[f"%-mom_rel_ret_{w}"],
                                   (logs["ETH/USDT"] - basket).rolling(w).sum().to_numpy())
    five = logs.rolling(5).sum()
    below = five.lt(five["ETH/USDT"], axis=0).sum(axis=1)  # pairs with a lower 5-candle return
    np.testing.assert_allclose(frame["%-mom_rank_5"].iloc[5:], (below / 3).iloc[5:])
    assert frame.iloc[:5].isna().any(axis=1).all() and frame.iloc[5:].notna().all().all()
    assert not any("vol" in c for c in frame)  # returns only, no volatility


def test_a_future_candle_does_not_change_past_momentum():
    data = closes()
    before = momentum(data)
    changed = {p: c.copy() for p, c in data.items()}
    changed["SOL/USDT"].iloc[80:] *= 1.5
    after = momentum(changed)
    pd.testing.assert_frame_equal(before.iloc[:80], after.iloc[:80])
    assert after["%-mom_basket_ret_5"].iloc[80] > before["%-mom_basket_ret_5"].iloc[80] + 0.05


def strategy(config):
    module = load_strategy_module()
    return module.SelfLearningStrategy(config)


def test_the_strategy_adds_momentum_only_with_the_option_and_warms_up_14_days():
    frames = {p: candle_frame(600, seed) for seed, p in enumerate(PAIRS)}
    off = strategy({"timeframe": "1h"})
    off.dp = FakeProvider(frames)
    assert off.startup_candle_count == 250
    assert not [c for c in off.market_columns(frames["ETH/USDT"], "ETH/USDT") if "mom_" in c]
    hourly = strategy({"timeframe": "1h",
                       "freqai": {"feature_parameters": {"market_momentum": True}}})
    assert hourly.startup_candle_count == 337  # 14 days of 1h returns known at the first row
    daily = strategy({"timeframe": "1d",
                      "freqai": {"feature_parameters": {"market_momentum": True}}})
    daily.dp = FakeProvider(frames)
    got = daily.market_columns(frames["ETH/USDT"], "ETH/USDT")
    closes_ = {p: f.set_index("date")["close"].astype(np.float64) for p, f in frames.items()}
    b = basket_of(closes_, PAIRS, "BTC/USDT", market_windows(86400))
    expected = momentum_columns(frames["ETH/USDT"]["date"], "ETH/USDT", b, PAIRS, "BTC/USDT",
                                (3, 7, 14), 7)
    pd.testing.assert_frame_equal(got[expected.columns], expected)
    assert got[expected.columns].iloc[20:].notna().all().all()


def test_a_bad_option_value_is_an_error_naming_the_key():
    with pytest.raises(OperationalException, match="feature_parameters.market_momentum"):
        strategy({"timeframe": "1h", "freqai": {"feature_parameters": {"market_momentum": 1}}})
