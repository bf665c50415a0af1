"""End to end: a real `freqtrade backtesting` on a market with sessions.

Hourly forex-like candles (a seeded random walk, tests/synthetic.py) recorded without the
closed weekend hours (Friday 22:00 - Sunday 22:00 UTC), as an exchange serves them; freqtrade
fills those hours when it loads the data (open = high = low = close = the previous close,
volume 0). Served by the replay exchange, backtested over eight days that span a weekend, four
FreqAI windows. The model must predict every real candle (do_predict = 1, the first candle
after the weekend included: its window reaches back into Friday) and no filled one, and the
training log names the filled candles it skipped. About 40 s on two shared cores.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from backtest_support import FAST_MODEL, BacktestRun, replay_serving, small_run
from synthetic import weekend_filled_frame

PAIR = "EUR/USDT"
START = "2023-12-25"  # a Monday
HOURS = 24 * 38
TIMERANGE = "20240122-20240130"  # Monday to Tuesday, with the weekend of 26-28 January
TRAIN_PERIOD_DAYS = 10
BACKTEST_PERIOD_DAYS = 2
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def session_market(tmp_path_factory):
    """(datadir, frame, overlay): the recorded candles without the closed hours, the frame as
    freqtrade fills it, and a config overlay pointing ccxt at a replay exchange serving it."""
    folder = tmp_path_factory.mktemp("session")
    datadir = folder / "data"
    datadir.mkdir()
    frame = weekend_filled_frame(HOURS, seed=9, start=START)
    recorded = frame.loc[~frame["filled"], ["date", "open", "high", "low", "close", "volume"]]
    recorded.reset_index(drop=True).to_feather(datadir / "EUR_USDT-1h.feather")
    with replay_serving(datadir, folder) as overlay:
        yield datadir, frame, overlay


@pytest.mark.e2e
def test_backtest_predicts_every_real_candle_of_a_market_with_weekends(
    ft_config, session_market, freqtrade_cli
):
    """Every real candle of the backtest gets do_predict = 1 (Sunday's first candle after the
    closed hours included), every filled one 0, and the trainings name the no-trade candles
    they skipped."""
    datadir, frame, overlay = session_market
    config = ft_config.data
    config.update(timeframe="1h", stake_currency="USDT", dry_run_wallet=1000)
    small_run(config, [PAIR], "session", model=FAST_MODEL, train_period_days=TRAIN_PERIOD_DAYS,
              backtest_period_days=BACKTEST_PERIOD_DAYS)
    config["freqai"]["feature_parameters"]["include_timeframes"] = ["1h"]
    backtest = BacktestRun(ft_config, overlay, datadir, TIMERANGE)

    run = freqtrade_cli(backtest.backtesting(export_trades=False), timeout=TIMEOUT_S)

    assert run.returncode == 0, run.describe()
    assert "raised exception" not in run.log, run.describe()
    assert re.search(r"Missing data fillup for EUR/USDT", run.log), run.describe()
    trainings = re.findall(r"(?:full training|incremental update) of EUR/USDT: .*", run.log)
    assert len(trainings) == 4, run.describe()
    assert all(re.search(r"\d+ no-trade candles", line) for line in trainings), trainings

    folder = backtest.models / "backtesting_predictions"
    predictions = pd.concat(pd.read_feather(p) for p in sorted(folder.glob("*_prediction.feather")))
    dates = pd.to_datetime(predictions["date"], utc=True)
    filled = dates.isin(frame.loc[frame["filled"], "date"])
    assert filled.sum() == 48, "the backtest should span exactly one closed weekend"
    do_predict = predictions["do_predict"].to_numpy()
    assert (do_predict[~filled.to_numpy()] == 1).all(), \
        predictions.loc[~filled.to_numpy() & (do_predict != 1), ["date", "do_predict"]]
    assert (do_predict[filled.to_numpy()] == 0).all()
    reopening = pd.Timestamp("2024-01-28 22:00", tz="UTC")
    assert do_predict[(dates == reopening).to_numpy()].tolist() == [1]
