"""A user's `stoploss` bounds SelfLearningStrategy's stop: the config's, hyperopt's stoploss
space's or a saved parameter file's (all set the strategy attribute); STOP_WIDEST is only its
default. freqtrade lets custom_stoploss move the stop down right after the entry fill, so the
model's stop must respect it there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from freqtrade.enums import RunMode
from freqtrade.persistence import LocalTrade
from freqtrade.resolvers import StrategyResolver
from strategy_support import STRATEGY_FILE

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


class Predicted:
    """The latest analyzed candle: close 100, a predicted downward excursion of 5 % (times
    stop_buffer 10: a stop 50 % below, clamped to the widest stop)."""

    def get_analyzed_dataframe(self, pair, timeframe):
        return pd.DataFrame({"close": [100.0], "&-liq_down": [-0.05], "do_predict": [1]}), None


def loaded(config_stoploss: float | None):
    """The strategy as freqtrade's resolver loads it, with the config's `stoploss` if given
    (freqtrade sets the strategy attribute from it, as hyperopt's stoploss space does)."""
    config = {"strategy": "SelfLearningStrategy", "strategy_path": str(STRATEGY_FILE.parent),
              "user_data_dir": Path(STRATEGY_FILE.parents[1]), "timeframe": "1h",
              "stake_currency": "USDT", "dry_run": True, "runmode": RunMode.BACKTEST,
              "exchange": {"name": "binance", "pair_whitelist": ["A/USDT"]}}
    if config_stoploss is not None:
        config["stoploss"] = config_stoploss
    strategy = StrategyResolver.load_strategy(config)
    strategy.dp = Predicted()
    return strategy


def stop_after_entry(strategy, open_rate: float = 100.0) -> float:
    """The trade's stop once freqtrade has asked custom_stoploss after the entry fill (the one
    call that may move the stop down, allow_refresh)."""
    trade = LocalTrade(pair="A/USDT", open_rate=open_rate, amount=1.0, stake_amount=open_rate,
                       fee_open=0.001, fee_close=0.001, open_date=NOW, is_short=False,
                       leverage=1.0, exchange="binance")
    strategy.ft_stoploss_adjust(open_rate, trade, NOW, 0.0, 0, after_fill=True)
    return trade.stop_loss


@pytest.mark.parametrize(("stoploss", "stop"), [
    (None, 85.0),      # the strategy's stoploss, STOP_WIDEST: 15 %
    (-0.05, 95.0),     # the user's 5 %
    (-0.30, 70.0),     # a wider one the model may use
    (-0.003, 99.7),    # tighter than STOP_TIGHTEST: still the user's
])
def test_the_users_stoploss_is_the_widest_stop_the_model_places(stoploss, stop):
    strategy = loaded(stoploss)
    assert stop_after_entry(strategy) == pytest.approx(stop)


def test_the_stop_is_never_wider_than_stoploss_below_the_entry_price():
    """Filled above the predicted candle's close (101 against 100): the stop is the user's 5 %
    below the entry price, not below the close."""
    assert stop_after_entry(loaded(-0.05), open_rate=101.0) == pytest.approx(95.95)


def test_a_stoploss_set_after_loading_bounds_the_stop_too():
    """Hyperopt's stoploss space sets the attribute on the loaded strategy for each epoch."""
    strategy = loaded(None)
    strategy.stoploss = -0.08
    assert stop_after_entry(strategy) == pytest.approx(92.0)
