"""The strategy's indicator plumbing (strategy/strategy_columns.py): prices on a grid of whole
power-of-ten ticks, ratios without inf, indicators over the observed candles only, and the
z-score's warm-up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from self_learning.strategy.strategy_columns import (
    on_price_grid,
    over_observed,
    prediction_z,
    ratio,
)


def prices(close) -> pd.DataFrame:
    close = np.asarray(close, np.float64)
    return pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                         "close": close, "volume": 5.0})


def test_prices_become_whole_ticks_of_a_power_of_ten():
    """0.33375 -> 33375000000 (a tick of 1e-11, 10**-10 of its power of ten), so equal price
    differences stay exactly equal (0.33375 - 0.33265 and 0.33095 - 0.32985)."""
    grid = on_price_grid(prices([0.33375, 0.33265, 0.33095, 0.32985]))["close"].to_numpy()
    np.testing.assert_array_equal(grid, [33375000000, 33265000000, 33095000000, 32985000000])
    assert grid[0] - grid[1] == grid[2] - grid[3]


def test_the_tick_comes_from_the_first_usable_close():
    """A leading candle without a close does not make every price NaN."""
    frame = prices([np.nan, 0.33375, 0.33265])
    grid = on_price_grid(frame)["close"].to_numpy()
    np.testing.assert_array_equal(grid[1:], [33375000000, 33265000000])


def test_a_zero_denominator_gives_nan_not_inf():
    got = ratio(pd.Series([1.0, 2.0, 0.0]), pd.Series([0.0, 4.0, 0.0]))
    assert np.isnan(got[0]) and got[1] == 0.5 and np.isnan(got[2])


def test_a_filled_candle_carries_the_previous_observations_indicator():
    """Indicators run over the observed candles; a filled row (no trade) takes the value of
    the observation before it, and the row after it continues from that observation."""
    frame = prices(100 + np.arange(8.0))
    frame.loc[4, ["open", "high", "low", "close"]] = frame.loc[3, "close"]
    frame.loc[4, "volume"] = 0.0

    def compute(df):
        df["%-mean2"] = df["close"].rolling(2).mean()
        return df

    got = over_observed(frame, compute)["%-mean2"].to_numpy()
    assert got[4] == got[3] == (102 + 103) / 2
    assert got[5] == (103 + 105) / 2


def test_the_z_score_needs_a_quarter_of_its_window_predicted_first():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"&-s_close": rng.normal(0, 1e-3, 40), "do_predict": 1})
    z = prediction_z(df, 24)
    assert z.iloc[:5].isna().all() and z.iloc[5:].notna().all()
