"""A live or dry-run bot upgraded to a model that serves a new column (`&-challenge`) keeps
running on the predictions FreqAI saved before (historic_predictions.pkl): FreqAI writes
each new candle's prediction into that frame by column name (append_model_predictions),
which fails on a column the frame lacks. At a restart FreqAI first merges the model's first
prediction into the restored frame (set_initial_return_values, which keeps only the saved
columns and fills every gap with 0) and appends from the next candle on; the model's
predict (SelfLearningModel.predict) extends the frame before that merge."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from freqtrade.freqai.data_drawer import FreqaiDataDrawer

from self_learning.candles.frames import OUTPUT_COLUMNS, extend_saved_predictions

PAIR = "BTC/USDT"


def saved_before(columns: list[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Historic predictions as FreqAI builds them (set_initial_historic_predictions)."""
    frame = pd.DataFrame(0.1, index=range(len(dates)), columns=columns)
    for column in columns:
        frame[f"{column}_mean"] = 0.0
        frame[f"{column}_std"] = 0.0
    return frame.assign(do_predict=1, high_price=1.1, low_price=0.9, close_price=1.0,
                        date_pred=dates)


def strategy_frame(dates: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({"date": dates, "open": 1.0, "high": 1.1, "low": 0.9, "close": 1.0})


def kitchen() -> SimpleNamespace:
    return SimpleNamespace(data={"labels_mean": dict.fromkeys(OUTPUT_COLUMNS, 0.0),
                                 "labels_std": dict.fromkeys(OUTPUT_COLUMNS, 0.0),
                                 "extra_returns_per_train": {}})


def test_saved_predictions_without_a_new_column_take_it_and_freqai_appends(tmp_path):
    dd = FreqaiDataDrawer(tmp_path, {"freqai": {"feature_parameters": {}}})
    dates = pd.date_range("2025-01-01", periods=6, freq="1h", tz="UTC")
    before = [c for c in OUTPUT_COLUMNS if c != "&-challenge"]
    dd.historic_predictions[PAIR] = saved_before(before, dates[:5])
    served = pd.DataFrame(0.5, index=[0], columns=OUTPUT_COLUMNS)
    dk = kitchen()

    assert extend_saved_predictions(dd.historic_predictions, PAIR, served.columns) == [
        "&-challenge"]
    dd.append_model_predictions(PAIR, served, np.ones(1, np.int_), dk, strategy_frame(dates))
    saved = dd.historic_predictions[PAIR]
    assert len(saved) == 6 and saved["date_pred"].iloc[-1] == dates[-1]
    assert saved["&-challenge"].iloc[-1] == 0.5 and saved["&-challenge"].iloc[:5].isna().all()
    assert (saved["&-s_close"].iloc[:5] == 0.1).all()  # what was saved stays
    assert extend_saved_predictions(dd.historic_predictions, PAIR, served.columns) == []
    assert extend_saved_predictions(dd.historic_predictions, "ETH/USDT", served.columns) == []


def test_a_restart_on_saved_predictions_without_the_column_merges_then_appends(tmp_path):
    """FreqAI's order after a restart (build_strategy_return_arrays): the first prediction
    covers the whole strategy frame and is merged into the restored frame, then each new
    candle is appended. The model extends the frame inside that first prediction; the merge
    fills the earlier candles' new column with 0 (FreqAI's gap marker), not NaN."""
    dd = FreqaiDataDrawer(tmp_path, {"freqai": {"feature_parameters": {}}})
    dates = pd.date_range("2025-01-01", periods=8, freq="1h", tz="UTC")
    before = [c for c in OUTPUT_COLUMNS if c != "&-challenge"]
    dd.historic_predictions[PAIR] = saved_before(before, dates[:5])
    first = pd.DataFrame(0.5, index=range(7), columns=OUTPUT_COLUMNS)  # candles 0..6

    extend_saved_predictions(dd.historic_predictions, PAIR, first.columns)  # in predict
    dd.set_initial_return_values(PAIR, first, strategy_frame(dates[:7]))
    served = pd.DataFrame(-1.0, index=[0], columns=OUTPUT_COLUMNS)
    dd.append_model_predictions(PAIR, served, np.ones(1, np.int_), kitchen(),
                                strategy_frame(dates))
    saved = dd.historic_predictions[PAIR]
    assert list(saved["date_pred"]) == list(dates)
    assert list(saved["&-challenge"]) == [0.0] * 7 + [-1.0]
    assert (saved["&-s_close"].iloc[:5] == 0.1).all()
