"""The strategy's chart: plot_config names only columns the strategy's dataframe has (model
outputs, FreqAI's do_predict, the band levels), and the band levels are the model's outputs
as prices on the same row, drawn only where the row may be traded on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.frames import OUTPUT_COLUMNS
from self_learning.strategy_columns import band_levels


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
    frame = band_levels(model_frame())
    plot = module.SelfLearningStrategy.plot_config
    named = set(plot["main_plot"]) | {c for sub in plot["subplots"].values() for c in sub}
    named |= {spec["fill_to"] for spec in plot["main_plot"].values() if "fill_to" in spec}
    assert named <= set(frame.columns), sorted(named - set(frame.columns))
    assert {"band_high", "band_low", "&-score_ic", "&-novelty", "&-drift"} <= named


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
