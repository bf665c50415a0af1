"""The dataframe boundary of the model (candles/frames.py) and candle times for people
(candles/timeline.py): what enters (dates in seconds, complete training rows, the sources
that give no value) and what is served (non-finite predictions never traded, the label
scale, the null output)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from self_learning.candles.frames import (
    OUTPUT_COLUMNS,
    candles_from_frame,
    complete_rows,
    empty_sources,
    fix_date_dtypes,
    label_scale_factor,
    null_predictions,
    prediction_frame,
)
from self_learning.candles.predictions import Predictions
from self_learning.candles.timeline import NEVER, iso_utc


def test_a_non_finite_prediction_is_served_as_zero_and_not_traded():
    """A NaN or inf in a served column (s_close, liq_up, liq_down, novelty, the counter)
    makes the row untradable (do_predict 0) and is served as 0; scores stay NaN."""
    n = 4
    f = np.full(n, 0.001)
    s_close = f.copy()
    s_close[1] = np.nan
    novelty = f.copy()
    novelty[2] = np.inf
    p = Predictions(np.arange(n), s_close, f, -f, novelty, np.ones(n, int), np.ones(n, bool))
    frame, ok = prediction_frame(p)
    assert list(ok) == [1, 0, 0, 1]
    assert frame.loc[1, "&-s_close"] == 0.0 and frame.loc[2, "&-novelty"] == 0.0
    assert frame["&-score_ic"].isna().all()


def test_label_scale_factor_skips_non_finite_predictions_and_needs_a_label_spread():
    pred = np.array([0.001, -0.001, np.nan, 0.002, -0.002])
    ok = np.ones(5, bool)
    finite = pred[np.isfinite(pred)]
    assert label_scale_factor(0.01, pred, ok) == pytest.approx(0.01 / np.std(finite))
    assert label_scale_factor(0.0, pred, ok) is None


def test_complete_rows_need_every_column_finite_and_present():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.inf], "b": [1.0, 2.0, np.nan, 4.0]})
    assert list(complete_rows(df, ["a", "b"])) == [True, False, False, False]
    assert not complete_rows(df, ["a", "missing"]).any()


def test_empty_sources_names_a_missing_timeframe_only_beside_one_that_has_values():
    """Only when another source gives values is an empty one the reason; all empty: ''."""
    names = ["%-rsi_BTC/USDT_1h", "%-rsi_BTC/USDT_4h"]
    one_empty = pd.DataFrame({names[0]: [0.5, 0.6], names[1]: [np.nan, np.nan]})
    message = empty_sources(one_empty, names)
    assert "BTC/USDT 4h" in message and "--timeframes 4h" in message and "1h (" not in message
    assert empty_sources(one_empty.assign(**{names[0]: np.nan}), names) == ""
    assert empty_sources(one_empty.fillna(0.1), names) == ""


def test_candles_from_frame_reads_dates_as_seconds_in_any_unit():
    dates = pd.to_datetime([1_700_000_000, 1_700_003_600], unit="s", utc=True)
    for unit in ("s", "ms", "ns"):
        frame = pd.DataFrame({"date": dates.as_unit(unit), "open": 1.0, "high": 1.0,
                              "low": 1.0, "close": 1.0, "volume": 1.0, "f": [0.1, 0.2]})
        c = candles_from_frame(frame, ["f"])
        assert list(c.ts) == [1_700_000_000, 1_700_003_600]
        np.testing.assert_array_equal(c.features[:, 0], [0.1, 0.2])


def test_null_predictions_trade_nothing():
    frame, do_predict = null_predictions(3)
    assert list(frame.columns) == OUTPUT_COLUMNS and not do_predict.any()


def test_saved_history_with_object_dates_gets_datetime_dates_back():
    """fix_date_dtypes: a history frame whose `date` column became object dtype (mixed
    units) is given UTC datetimes again; frames already datetime are left as they are."""
    mixed = pd.DataFrame({"date": pd.Series([pd.Timestamp("2025-01-01", tz="UTC"),
                                             pd.Timestamp("2025-01-01 01:00", tz="UTC")],
                                            dtype=object)})
    fine = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=2, freq="1h", tz="UTC")})
    dd = SimpleNamespace(history_lock=threading.Lock(),
                         historic_data={"A/USDT": {"1h": mixed, "4h": fine}})
    fix_date_dtypes(dd)
    for frame in dd.historic_data["A/USDT"].values():
        assert pd.api.types.is_datetime64_any_dtype(frame["date"])
    assert mixed["date"].dt.hour.tolist() == [0, 1]


def test_candle_times_read_as_utc_and_never_as_none():
    assert iso_utc(1796113680) == "2026-12-01T08:28:00Z"
    assert iso_utc(NEVER) == "none" and iso_utc(None) == "none"
