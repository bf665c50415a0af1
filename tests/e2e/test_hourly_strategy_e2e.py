"""End to end: SelfLearningStrategy on 1h candles keeps its rules in candles, not minutes, with
the shipped default setup (config.json as shipped: 1h candles, H = 4, market features, long
memory).

`minimal_roi` is in minutes; a table written for 5m candles ({"0": 0.03, "60": 0.01, "180": 0})
makes a 1h trade break even after 3 candles, and a z-score window of 288 candles spans 12 days.
The strategy derives both from the configured timeframe (strategy_columns.roi_table /
z_candles). Generated 1h candles (`python -m self_learning_offline.market --timeframe 1h`, two
pairs, 30 days) served by the replay exchange, ten backtest days in two FreqAI windows, a small
model (about 40 s on two shared cores).
"""

from __future__ import annotations

import json

import pytest
from backtest_support import (
    FAST_MODEL,
    BacktestRun,
    generated_hourly_candles,
    replay_serving,
    small_run,
)
from conftest import ROOT

PAIRS = ["BTC/USDT", "ETH/USDT"]
TIMERANGE = "20250104-20250114"
TRAIN_PERIOD_DAYS = 5
BACKTEST_PERIOD_DAYS = 5
SHIPPED = json.loads((ROOT / "config.json").read_text())
HORIZON = SHIPPED["freqai"]["feature_parameters"]["label_period_candles"]
TIMEOUT_S = 240
HOUR_MIN = 60


@pytest.fixture(scope="module")
def hourly_market(tmp_path_factory):
    """(datadir, overlay): generated 1h candles and a replay exchange serving them."""
    folder = tmp_path_factory.mktemp("hourly")
    datadir = generated_hourly_candles(folder / "data", PAIRS)
    with replay_serving(datadir, folder) as overlay:
        yield datadir, overlay


@pytest.mark.e2e
def test_hourly_trades_follow_the_rules_in_candles(shipped_ft_config, hourly_market,
                                                   freqtrade_cli):
    """The 1h backtest trades, and no trade is closed by the ROI table at break-even before
    3H candles (the 5m table in minutes closed them after 3 candles); its summary shows the
    ROI table in hours."""
    datadir, overlay = hourly_market
    ft_config = shipped_ft_config
    config = ft_config.data
    assert config["timeframe"] == "1h"
    config.update(stake_currency="USDT", dry_run_wallet=1000)
    small_run(config, PAIRS, "hourly", model=FAST_MODEL,
              train_period_days=TRAIN_PERIOD_DAYS,  # shorter, for speed
              backtest_period_days=BACKTEST_PERIOD_DAYS)
    backtest = BacktestRun(ft_config, overlay, datadir, TIMERANGE)

    run = freqtrade_cli(backtest.backtesting(), timeout=TIMEOUT_S)

    assert run.returncode == 0, run.describe()
    assert "raised exception" not in run.log, run.describe()
    trades = backtest.trades()
    assert len(trades) > 0, "no trades on 1h candles\n" + run.describe()
    roi = trades[trades["exit_reason"] == "roi"]
    early_break_even = roi[(roi["trade_duration"] < 3 * HORIZON * HOUR_MIN)
                           & (roi["profit_ratio"] < 0.005)]
    assert early_break_even.empty, \
        f"{len(early_break_even)} of {len(trades)} trades closed at break-even by ROI early:\n" \
        + early_break_even[["pair", "open_date", "trade_duration", "profit_ratio"]].to_string()
