"""The strategy's chart: plot_config names only columns the strategy's dataframe has (model
outputs, FreqAI's do_predict, the band levels), and the band levels are the model's outputs
as prices on the same row, drawn only where the row may be traded on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.candles.frames import (
    OUTPUT_COLUMNS,
    label_scale_factor,
    prediction_frame,
    served,
)
from self_learning.candles.predictions import Predictions
from self_learning.strategy.strategy_columns import band_levels, scoreboard_or_nan


@pytest.fixture(scope="module")
def module():
    return load_strategy_module()


def model_frame(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({c: rng.normal(0, 0.01, n) for c in OUTPUT_COLUMNS})
    frame["close"] = 100 + np.arange(n, dtype=float)
    frame["do_predict"] = [1, 1, 0, 1, 0, 1]
    return frame


def test_plot_config_names_only_columns_the_dataframe_has(module):
    strategy = module.SelfLearningStrategy({})
    candles = model_frame()
    candles = candles.assign(open=candles["close"], high=candles["close"], low=candles["close"],
                             volume=1.0, enter_long=1)
    frame = strategy.record_entries(band_levels(candles), "BTC/USDT")
    plot = module.SelfLearningStrategy.plot_config
    named = set(plot["main_plot"]) | {c for sub in plot["subplots"].values() for c in sub}
    named |= {spec["fill_to"] for spec in plot["main_plot"].values() if "fill_to" in spec}
    assert named <= set(frame.columns), sorted(named - set(frame.columns))
    assert {"band_high", "band_low", "&-score_ic", "&-novelty", "&-drift", "&-challenge",
            "entry_predicted", "entry_realized", "round_trip_fee"} <= named


def test_band_levels_are_the_predictions_as_prices_where_tradable():
    frame = band_levels(model_frame())
    ok = frame["do_predict"] == 1
    np.testing.assert_allclose(frame.loc[ok, "band_high"],
                               frame.loc[ok, "close"] * (1 + frame.loc[ok, "&-liq_up"]))
    np.testing.assert_allclose(frame.loc[ok, "band_low"],
                               frame.loc[ok, "close"] * (1 + frame.loc[ok, "&-liq_down"]))
    np.testing.assert_allclose(frame.loc[ok, "predicted_close"],
                               frame.loc[ok, "close"] * (1 + frame.loc[ok, "&-s_close"]))
    assert frame.loc[~ok, ["band_high", "band_low", "predicted_close"]].isna().all().all()


def test_scoreboard_is_absent_not_zero_before_the_first_matured_prediction():
    """FreqAI's stand-ins (IC and hit-rate exactly 0) become NaN in every scoreboard column, so
    FreqUI draws no flat 0 line; a filled scoreboard is kept as it is."""
    frame = model_frame()
    frame.loc[:2, ["&-score_ic", "&-score_hit_rate", "&-score_band_up", "&-score_band_down"]] = 0.0
    frame.loc[3, "&-score_ic"] = np.nan
    out = scoreboard_or_nan(frame.copy())
    scores = ["&-score_ic", "&-score_hit_rate", "&-score_band_up", "&-score_band_down"]
    assert out.loc[:3, scores].isna().all().all()
    pd.testing.assert_frame_equal(out.loc[4:, scores], frame.loc[4:, scores])


def test_chart_and_served_values_print_short():
    """The band levels carry 8 significant digits, the served model columns 7 (float32's
    precision); counts are kept whole."""
    frame = band_levels(model_frame())
    assert all(len(repr(float(v))) <= 10 for v in frame["band_high"].dropna())
    raw = pd.DataFrame({"&-s_close": [float(np.float32(0.0012345678))],
                        "&-training_counter": [123456789.0]})
    out = served(raw.copy(), None)
    assert repr(float(out.loc[0, "&-s_close"])) == "0.001234568"
    assert out.loc[0, "&-training_counter"] == 123456789.0
    scaled = served(raw.copy(), 5.0)
    assert scaled.loc[0, "&-s_close"] == pytest.approx(5 * 0.0012345678, rel=1e-6)


def test_label_scale_factor_is_label_spread_over_prediction_spread():
    """label std / std of the usable predictions; None when either spread is unknown."""
    pred = np.array([0.001, -0.001, 0.002, -0.002, 50.0])
    ok = np.array([True, True, True, True, False])
    assert label_scale_factor(0.01, pred, ok) == pytest.approx(0.01 / np.std(pred[:4]))
    assert label_scale_factor(None, pred, ok) is None
    assert label_scale_factor(0.01, np.zeros(5), ok) is None
    assert label_scale_factor(0.01, pred, np.zeros(5, bool)) is None


def test_served_frame_says_which_model_a_drift_challenge_served():
    """`&-challenge` is the learner's `challenge` score of each row (0 no challenge, 1 the
    challenger, -1 the incumbent), served as is beside the other columns."""
    n = 4
    f = np.full(n, 0.001)
    p = Predictions(np.arange(n), f, f, -f, f, np.ones(n, int), np.ones(n, bool),
                    scores={"challenge": np.array([0.0, -1.0, -1.0, 1.0], np.float32)})
    frame, ok = prediction_frame(p)
    out = served(frame, 3.0)
    assert list(out["&-challenge"]) == [0.0, -1.0, -1.0, 1.0] and list(ok) == [1] * n
    assert set(OUTPUT_COLUMNS) == set(out.columns)
