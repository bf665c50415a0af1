"""The strategy's entry record (self_learning.strategy.entry_record): which entry signals have
matured at each candle, what they predicted and realized on average, that no value looks
ahead, and the log line SelfLearningStrategy writes as signals mature."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from freqtrade.enums import RunMode
from strategy_support import load_strategy_module

from self_learning.candles.features import OHLCV, observed_targets
from self_learning.strategy.entry_record import (
    MATURED,
    PREDICTED,
    REALIZED,
    EntryRecordLine,
    EntryRecordLog,
    describe,
    entry_record,
    matured_signals,
)

H = 4
N = 120


def candles(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, n))
    return pd.DataFrame({"date": pd.date_range("2025-01-01", periods=n, freq="1h", tz="UTC"),
                         "open": close, "high": close * 1.002, "low": close * 0.998,
                         "close": close, "volume": 10.0, "do_predict": 1,
                         "&-s_close": rng.normal(0.004, 0.001, n)})


def with_signals(frame: pd.DataFrame, rows: list[int]) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[rows, "enter_long"] = 1
    return frame


def realized(frame: pd.DataFrame) -> np.ndarray:
    return observed_targets(frame[OHLCV].to_numpy(dtype=np.float64), H)[:, 0]


def test_a_signal_counts_once_its_h_candles_have_passed():
    frame = with_signals(candles(), [10, 20, 21])
    record = entry_record(frame, H)
    assert record[MATURED].tolist()[:14] == [0] * 14
    assert record[MATURED].iloc[14] == 1 and record[MATURED].iloc[24] == 2
    assert record[MATURED].iloc[25] == 3 and record[MATURED].iloc[-1] == 3
    assert record[PREDICTED].iloc[:14].isna().all() and record[REALIZED].iloc[:14].isna().all()
    truth = realized(frame)
    assert record[REALIZED].iloc[14] == pytest.approx(truth[10])
    assert record[PREDICTED].iloc[14] == pytest.approx(frame["&-s_close"].iloc[10])
    assert record[REALIZED].iloc[-1] == pytest.approx(truth[[10, 20, 21]].mean())
    assert record[PREDICTED].iloc[-1] == pytest.approx(frame["&-s_close"].iloc[[10, 20, 21]].mean())


def test_the_means_are_over_the_last_signals_only():
    frame = with_signals(candles(), [5, 10, 20, 30])
    record = entry_record(frame, H, signals=2)
    truth = realized(frame)
    assert record[MATURED].iloc[-1] == 4
    assert record[REALIZED].iloc[-1] == pytest.approx(truth[[20, 30]].mean())
    everything = entry_record(frame, H, signals=None)
    assert everything[REALIZED].iloc[-1] == pytest.approx(truth[[5, 10, 20, 30]].mean())


def test_no_value_depends_on_later_candles():
    frame = with_signals(candles(), list(range(3, N, 7)))
    full = entry_record(frame, H)
    for end in (30, 61, 90):
        cut = frame.iloc[:end].copy()
        changed = frame.copy()
        changed.loc[end:, ["open", "high", "low", "close"]] *= 3.0
        changed.loc[end:, "enter_long"] = 1
        pd.testing.assert_frame_equal(entry_record(cut, H), full.iloc[:end])
        pd.testing.assert_frame_equal(entry_record(changed, H).iloc[:end], full.iloc[:end])


def test_signals_without_a_prediction_or_target_are_not_counted():
    frame = with_signals(candles(), [10, 20, N - 2])
    frame.loc[20, "&-s_close"] = np.nan
    record = entry_record(frame, H)
    assert record[MATURED].iloc[-1] == 1  # row 20 has no prediction; N - 2 never matures


def filled(frame: pd.DataFrame, rows: slice) -> pd.DataFrame:
    """`rows` as freqtrade fills missing candles: the previous close, no volume."""
    frame = frame.copy()
    frame.loc[rows, ["open", "high", "low", "close"]] = frame["close"].iloc[rows.start - 1]
    frame.loc[rows, "volume"] = 0.0
    return frame


def test_horizon_and_record_run_over_observed_candles():
    frame = filled(with_signals(candles(), [10]), slice(12, 13))
    record = entry_record(frame, H)
    # the signal's H observed candles are 11, 14, 15, 16: known from row 16 on
    assert record[MATURED].iloc[15] == 0 and record[MATURED].iloc[16] == 1
    observed = frame.drop(index=[12, 13])
    assert record[REALIZED].iloc[16] == pytest.approx(realized(observed.reset_index(drop=True))[10])
    quiet = entry_record(filled(with_signals(candles(), [10, 24]), slice(30, 31)), H)
    assert quiet[MATURED].iloc[29] == 2
    assert quiet.loc[30:31].equals(quiet.loc[[29, 29]].set_axis([30, 31]))


def test_no_signal_no_record():
    record = entry_record(candles(), H)
    assert (record[MATURED] == 0).all() and record[[PREDICTED, REALIZED]].isna().all().all()
    assert EntryRecordLine.over(matured_signals(candles(), H), 50).matured == 0
    assert EntryRecordLine.over(matured_signals(candles().iloc[:0], H), None).matured == 0
    unobserved = filled(with_signals(candles(8), [1]), slice(1, 7))
    unobserved.loc[0, "volume"] = 0.0
    unobserved.loc[0, ["open", "high", "low"]] = unobserved.loc[0, "close"]
    quiet = entry_record(unobserved, H)
    assert quiet[MATURED].tolist() == [0] * 8 and quiet[REALIZED].isna().all()


def test_an_empty_frame_gets_the_columns(module):
    strategy = module.SelfLearningStrategy({"runmode": RunMode.DRY_RUN})
    empty = candles().iloc[:0].assign(**{"&-novelty": 0.0})
    out = strategy.populate_entry_trend(empty, {"pair": "BTC/USDT"})
    assert out.empty and {MATURED, PREDICTED, REALIZED} <= set(out.columns)


def test_the_log_says_each_new_maturity_once(caplog):
    log = EntryRecordLog()
    caplog.set_level(logging.INFO, logger="self_learning.strategy.entry_record")
    assert not log.update("BTC/USDT", EntryRecordLine(0, np.nan, np.nan), 0.002)
    assert log.update("BTC/USDT", EntryRecordLine(3, 0.005, 0.0001), 0.002)
    assert not log.update("BTC/USDT", EntryRecordLine(3, 0.005, 0.0001), 0.002)
    assert log.update("ETH/USDT", EntryRecordLine(3, 0.005, 0.0001), 0.002)
    assert log.update("BTC/USDT", EntryRecordLine(4, 0.005, 0.003), 0.002)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0] == ("Entry signals of BTC/USDT: 3 matured; the last 3 predicted +0.500 % on "
                        "average and realized +0.010 %, not above the round trip of fees "
                        "(0.200 %)")
    assert "above the round trip" in lines[2] and "not above" not in lines[2]


def test_the_line_names_the_window_of_a_long_record():
    text = describe("SOL/USDT", EntryRecordLine(137, 0.004, -0.001), 0.002, signals=50)
    assert "137 matured; the last 50 predicted +0.400 %" in text and "-0.100 %" in text
    assert "137 matured; all predicted" in describe("SOL/USDT", EntryRecordLine(
        137, 0.004, -0.001), 0.002, signals=None)
    assert "1 matured; it predicted" in describe("SOL/USDT", EntryRecordLine(
        1, 0.004, -0.001), 0.002, signals=None)


@pytest.fixture(scope="module")
def module():
    return load_strategy_module()


def analysed(strategy, pair: str) -> pd.DataFrame:
    frame = candles()
    frame["&-s_close"] = 0.0
    frame.loc[[10, 40, 70], "&-s_close"] = 0.05  # above the threshold: three signals
    frame["&-novelty"] = 0.0
    return strategy.populate_entry_trend(frame, {"pair": pair})


@pytest.mark.parametrize("runmode, logged", [(RunMode.BACKTEST, True), (RunMode.DRY_RUN, True),
                                             (RunMode.LIVE, True), (RunMode.PLOT, False)])
def test_the_strategy_draws_the_record_and_logs_it_where_it_runs(module, caplog, runmode,
                                                                  logged):
    strategy = module.SelfLearningStrategy({"runmode": runmode})
    caplog.set_level(logging.INFO, logger="self_learning.strategy.entry_record")
    out = analysed(strategy, "BTC/USDT")
    assert out[MATURED].iloc[-1] == 3
    assert out[PREDICTED].iloc[-1] == pytest.approx(0.05)
    assert (out["round_trip_fee"] == strategy.round_trip_fee("BTC/USDT")).all()
    analysed(strategy, "BTC/USDT")  # the same candles again: nothing new matured
    lines = [r.getMessage() for r in caplog.records if "Entry signals of" in r.getMessage()]
    assert len(lines) == (1 if logged else 0)


def test_a_backtest_logs_all_its_signals_a_bot_the_last_ones(module, caplog):
    frame = candles(400)
    frame["&-s_close"] = 0.0
    frame.loc[range(5, 390, 5), "&-s_close"] = 0.05  # 77 signals
    frame["&-novelty"] = 0.0
    caplog.set_level(logging.INFO, logger="self_learning.strategy.entry_record")
    for runmode in (RunMode.BACKTEST, RunMode.DRY_RUN):
        module.SelfLearningStrategy({"runmode": runmode}).populate_entry_trend(
            frame.copy(), {"pair": "BTC/USDT"})
    backtest, bot = [r.getMessage() for r in caplog.records]
    horizon = module.DEFAULT_HORIZON  # the strategy's H without a FreqAI config
    truth = observed_targets(frame[OHLCV].to_numpy(dtype=np.float64), horizon)[:, 0]
    matured = [row for row in range(5, 390, 5) if row + horizon < 400]
    assert f"{len(matured)} matured; all predicted" in backtest
    assert f"realized {100 * truth[matured].mean():+.3f} %" in backtest
    assert f"{len(matured)} matured; the last 50 predicted" in bot
    assert f"realized {100 * truth[matured[-50:]].mean():+.3f} %" in bot


def test_hyperopt_epochs_skip_the_record_but_not_the_signals(module):
    """Hyperopt re-analyses every epoch and reads neither the chart nor the log."""
    frame = analysed(module.SelfLearningStrategy({"runmode": RunMode.HYPEROPT}), "BTC/USDT")
    assert MATURED not in frame.columns and "round_trip_fee" not in frame.columns
    assert (frame["enter_long"] == 1).sum() == 3
