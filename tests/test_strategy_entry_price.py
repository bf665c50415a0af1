"""SelfLearningStrategy's limit entry (issue 19, docs/hourly.md "A limit entry below the
signal's close"): `entry_offset` below the signal candle's close, never above freqtrade's
proposed rate; 0 keeps the proposed rate (the market-like entry at the next open)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.strategy.strategy_columns import limit_entry_price

NOW = datetime(2025, 1, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize(("proposed", "close", "offset", "price"), [
    (100.0, 100.0, 0.0, 100.0),      # 0: the proposed rate, whatever the close
    (101.0, 100.0, 0.0, 101.0),
    (100.0, 100.0, 0.005, 99.5),     # 0.5 % below the signal's close
    (101.0, 100.0, 0.0025, 99.75),   # from the close, not from the proposed rate
    (99.0, 100.0, 0.005, 99.0),      # opened below the limit: fills at the open, not above
    (100.0, np.nan, 0.005, 100.0),   # no close: the proposed rate
    (100.0, 0.0, 0.005, 100.0),
])
def test_limit_price_is_the_offset_below_the_signal_close_capped_at_the_proposed_rate(
        proposed, close, offset, price):
    assert limit_entry_price(proposed, close, offset) == pytest.approx(price, rel=1e-12)


class Provider:
    """The analyzed candles of a pair up to its signal candle (freqtrade's data provider in a
    backtest slices them there)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def get_analyzed_dataframe(self, pair, timeframe):
        return self.frame, None


def strategy_with(offset: float, closes: list[float] | None):
    module = load_strategy_module()  # fresh: hyperoptable parameters are class attributes
    strategy = module.SelfLearningStrategy({"timeframe": "1h", "freqai": {
        "enabled": True, "feature_parameters": {"label_period_candles": 4}}})
    strategy.entry_offset.value = offset
    strategy.dp = None if closes is None else Provider(pd.DataFrame({
        "date": pd.date_range("2025-01-01", periods=len(closes), freq="1h", tz="UTC"),
        "close": closes}))
    return strategy


def entry_price(strategy, proposed: float) -> float:
    return strategy.custom_entry_price("BTC/USDT", None, NOW, proposed, "ai_long", "long")


def test_default_offset_is_zero_and_keeps_the_proposed_rate_without_reading_candles():
    strategy = strategy_with(0.0, None)  # no data provider: it must not be read
    assert load_strategy_module().SelfLearningStrategy.entry_offset.value == 0.0
    assert entry_price(strategy, 123.45) == 123.45


def test_offset_prices_the_entry_below_the_last_analyzed_close():
    strategy = strategy_with(0.0025, [90.0, 95.0, 100.0])  # the signal candle closed at 100
    assert entry_price(strategy, 100.2) == pytest.approx(99.75, rel=1e-12)
    assert entry_price(strategy, 99.5) == 99.5  # the next candle opened below the limit


def test_offset_without_analyzed_candles_keeps_the_proposed_rate():
    strategy = strategy_with(0.0025, [])
    assert entry_price(strategy, 100.2) == 100.2
