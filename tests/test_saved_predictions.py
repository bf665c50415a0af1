"""A live or dry-run bot upgraded to a model that serves a new column (`&-challenge`) keeps
running on the predictions FreqAI saved before (historic_predictions.pkl): FreqAI writes
each new candle's prediction into that frame by column name (append_model_predictions),
which fails on a column the frame lacks."""

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


def test_saved_predictions_without_a_new_column_take_it_and_freqai_appends(tmp_path):
    dd = FreqaiDataDrawer(tmp_path, {"freqai": {"feature_parameters": {}}})
    dates = pd.date_range("2025-01-01", periods=6, freq="1h", tz="UTC")
    before = [c for c in OUTPUT_COLUMNS if c != "&-challenge"]
    dd.historic_predictions[PAIR] = saved_before(before, dates[:5])
    strategy_frame = pd.DataFrame({"date": dates, "open": 1.0, "high": 1.1, "low": 0.9,
                                   "close": 1.0})
    served = pd.DataFrame(0.5, index=[0], columns=OUTPUT_COLUMNS)
    dk = SimpleNamespace(data={"labels_mean": dict.fromkeys(OUTPUT_COLUMNS, 0.0),
                               "labels_std": dict.fromkeys(OUTPUT_COLUMNS, 0.0),
                               "extra_returns_per_train": {}})

    assert extend_saved_predictions(dd.historic_predictions, PAIR, served.columns) == [
        "&-challenge"]
    dd.append_model_predictions(PAIR, served, np.ones(1, np.int_), dk, strategy_frame)
    saved = dd.historic_predictions[PAIR]
    assert len(saved) == 6 and saved["date_pred"].iloc[-1] == dates[-1]
    assert saved["&-challenge"].iloc[-1] == 0.5 and saved["&-challenge"].iloc[:5].isna().all()
    assert (saved["&-s_close"].iloc[:5] == 0.1).all()  # what was saved stays
    assert extend_saved_predictions(dd.historic_predictions, PAIR, served.columns) == []
    assert extend_saved_predictions(dd.historic_predictions, "ETH/USDT", served.columns) == []
