"""SelfLearningStrategy's entry and exit rules on hand-made prediction frames (README
"Trading rules"): which candles enter and exit, and that no rule looks ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.strategy.strategy_columns import Z_CANDLES, prediction_z, scoreboard_ic

N = 600


@pytest.fixture(scope="module")
def module():
    return load_strategy_module()


@pytest.fixture(scope="module")
def strategy(module):
    return module.SelfLearningStrategy({})


def frame(spikes: dict[int, float], **columns) -> pd.DataFrame:
    """N candles of small predictions around 0 (spread 0.0005), `spikes` row -> prediction."""
    rng = np.random.default_rng(0)
    pred = rng.normal(0.0, 0.0005, N)
    for row, value in spikes.items():
        pred[row] = value
    data = {"date": pd.date_range("2018-01-17", periods=N, freq="5min", tz="UTC"),
            "volume": 1.0, "do_predict": 1, "&-s_close": pred, "&-novelty": 0.0,
            "&-score_ic": 0.3}
    data.update(columns)
    return pd.DataFrame(data)


def entries(strategy, df: pd.DataFrame) -> list[int]:
    out = strategy.populate_entry_trend(df.copy(), {"pair": "ETC/BTC"})
    return list(np.flatnonzero(out.get("enter_long", pd.Series(0, index=df.index)) == 1))


def test_entry_needs_return_above_threshold_and_z_above_entry_z(strategy):
    """A prediction that clears the threshold and stands out from the recent ones enters;
    one below the threshold does not, however unusual."""
    df = frame({400: 0.004, 450: 0.0025})
    assert entries(strategy, df) == [400]


def test_entry_needs_a_prediction_that_stands_out_from_its_own_distribution(strategy):
    """When every prediction clears the threshold, clearing it is not enough: only the rows
    whose z-score against the recent predictions exceeds entry_z enter (a minority)."""
    rng = np.random.default_rng(1)
    df = frame({}, **{"&-s_close": 0.0045 + rng.normal(0, 0.0003, N)})
    z = prediction_z(df)
    got = entries(strategy, df)
    assert got == list(np.flatnonzero(z > float(strategy.entry_z.value)))
    assert 0 < len(got) < 0.25 * N


@pytest.mark.parametrize(("column", "value"), [
    ("&-novelty", 4.0),        # a market the autoencoder does not know
    ("&-score_ic", -0.05),     # the model's own recent record is poor
    ("do_predict", 0),         # the model cannot be trusted on this row
    ("volume", 0.0),           # nothing traded
])
def test_each_filter_blocks_an_otherwise_good_entry(strategy, column, value):
    df = frame({400: 0.004, 500: 0.004})
    df.loc[500, column] = value
    assert entries(strategy, df) == [400]


def test_scoreboard_not_filled_yet_does_not_block(strategy):
    """`&-score_ic` is NaN until predictions have matured (and without per-candle learning):
    no evidence either way, so the IC filter lets the entry through."""
    assert entries(strategy, frame({400: 0.004}, **{"&-score_ic": np.nan})) == [400]


def test_scoreboard_zero_filled_by_freqai_backtests_does_not_block(strategy):
    """FreqAI's backtests return the model's NaN as 0: IC and hit-rate both exactly 0 mean
    "no scoreboard yet", not "no skill"; an IC of 0 with a real hit-rate still blocks."""
    df = frame({400: 0.004, 500: 0.004}, **{"&-score_ic": 0.0, "&-score_hit_rate": 0.0})
    df.loc[500, "&-score_hit_rate"] = 0.52
    assert entries(strategy, df) == [400]
    assert scoreboard_ic(df).iloc[[400, 500]].isna().tolist() == [True, False]


def test_other_models_without_novelty_or_scoreboard_still_trade(strategy):
    """LightGBM & co. provide neither `&-novelty` nor `&-score_ic`: those filters are skipped."""
    df = frame({400: 0.004}).drop(columns=["&-novelty", "&-score_ic"])
    assert entries(strategy, df) == [400]


def test_prediction_z_ignores_rows_without_a_prediction():
    """Rows with do_predict == 0 (zero-filled by FreqAI) are neither scored nor part of the
    distribution: zeros inserted between the predictions leave every z-score unchanged."""
    df = frame({400: 0.004})
    z = prediction_z(df)
    padded = pd.concat([df, df.assign(**{"&-s_close": 0.0, "do_predict": 0})])
    padded = padded.sort_index(kind="stable").reset_index(drop=True)
    z_padded = prediction_z(padded)
    assert z_padded[padded["do_predict"] == 0].isna().all()
    np.testing.assert_allclose(z_padded[padded["do_predict"] == 1].to_numpy(), z.to_numpy())
    assert z.iloc[: Z_CANDLES // 4 - 1].isna().all()


def test_signals_use_only_past_candles(strategy):
    """Entry and exit signals on a frame cut at any row equal the full frame's up to there."""
    df = frame({300: 0.004, 350: -0.003, 420: 0.005, 480: -0.002, 560: 0.0045})

    def signals(f):
        f = strategy.populate_exit_trend(strategy.populate_entry_trend(f.copy(), {}), {})
        return f.reindex(columns=["enter_long", "exit_long"]).fillna(0)

    full = signals(df)
    for cut in (310, 425, 500, N):
        pd.testing.assert_frame_equal(signals(df.iloc[:cut]), full.iloc[:cut])


def test_exit_on_a_predicted_reversal(strategy):
    """exit_long where the expected return falls below exit_threshold (0) on predicted rows."""
    df = frame({}, **{"&-s_close": [0.001, -0.0001, 0.0, -0.002] * (N // 4)})
    df.loc[3, "do_predict"] = 0
    out = strategy.populate_exit_trend(df.copy(), {})
    assert list(np.flatnonzero(out["exit_long"] == 1)[:3]) == [1, 5, 7]


@pytest.mark.parametrize(("timeframe", "horizon", "roi", "window"), [
    ("5m", 12, {"0": 0.03, "60": 0.01, "180": 0.0}, 288),
    ("1h", 12, {"0": 0.03, "720": 0.01, "2160": 0.0}, 24),
    ("15m", 6, {"0": 0.03, "90": 0.01, "270": 0.0}, 96),
])
def test_roi_and_z_window_are_in_candles_of_the_configured_timeframe(module, timeframe, horizon,
                                                                     roi, window):
    """minimal_roi (minutes) steps at H and 3H candles of the timeframe, and the z-score
    window is one day of its candles: on 1h a 5m table would break even after 3 candles."""
    config = {"timeframe": timeframe,
              "freqai": {"enabled": True, "feature_parameters": {"label_period_candles": horizon}}}
    strategy = module.SelfLearningStrategy(config)
    assert strategy.minimal_roi == roi
    assert strategy.z_candles == window


def test_entries_use_the_z_window_of_the_timeframe(module):
    """On 1h the prediction is compared with its last 24 predictions, not 288."""
    hourly = module.SelfLearningStrategy({"timeframe": "1h"})
    rng = np.random.default_rng(1)
    df = frame({}, **{"&-s_close": 0.0045 + rng.normal(0, 0.0003, N) + np.linspace(0, 0.002, N)})
    got = entries(hourly, df)
    assert got == list(np.flatnonzero(prediction_z(df, 24) > float(hourly.entry_z.value)))
    assert got != list(np.flatnonzero(prediction_z(df, 288) > float(hourly.entry_z.value)))
