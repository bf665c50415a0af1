"""SelfLearningStrategy's entry and exit rules on hand-made prediction frames (README
"Trading rules"): which candles enter and exit, and that no rule looks ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strategy_support import FLAT_PRICES, load_strategy_module

from self_learning.strategy.strategy_columns import (
    Z_CANDLES,
    EntryRules,
    calibration_candles,
    entry_filters,
    prediction_z,
    scoreboard_ic,
    z_candles,
)

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
            **FLAT_PRICES, "volume": 1.0, "do_predict": 1, "&-s_close": pred, "&-novelty": 0.0,
            "&-score_ic": 0.3}
    data.update(columns)
    return pd.DataFrame(data)


def entries(strategy, df: pd.DataFrame) -> list[int]:
    out = strategy.populate_entry_trend(df.copy(), {"pair": "ETC/BTC"})
    return list(np.flatnonzero(out.get("enter_long", pd.Series(0, index=df.index)) == 1))


@pytest.fixture
def switched_on(strategy, monkeypatch):
    """Switch optional filters of the (shared) strategy on for one test: switched_on("...")."""
    def switch(*names: str):
        for name in names:
            monkeypatch.setattr(getattr(strategy, name), "value", True)
        return strategy
    return switch


def test_by_default_the_threshold_alone_selects(strategy):
    """The defaults (docs/hourly.md "Where the entries come from"): the z-score, IC and fee
    filters are off, so the filters are do_predict/volume, the threshold and novelty."""
    assert not any(getattr(EntryRules(), name) for name in
                   ("use_entry_z", "use_score_ic", "use_expected_return"))
    assert not any(getattr(strategy, name).value for name in
                   ("use_entry_z", "use_score_ic", "use_expected_return"))
    df = frame({400: 0.004}).assign(expected_return=0.0)
    assert list(entry_filters(df, strategy.entry_rules("ETC/BTC"))) == [
        "do_predict == 1 and volume > 0", "&-s_close > entry_threshold 0.003",
        "&-novelty < novelty_max 2.5"]


def test_entry_needs_the_prediction_above_the_threshold(strategy):
    """A prediction that clears the threshold enters; one below it does not, however
    unusual."""
    df = frame({400: 0.004, 450: 0.0025})
    assert entries(strategy, df) == [400]


def test_by_default_every_prediction_above_the_threshold_enters(strategy):
    """A stretch where every prediction clears the threshold enters on every such candle (no
    z-score filter by default)."""
    rng = np.random.default_rng(1)
    df = frame({}, **{"&-s_close": 0.0045 + rng.normal(0, 0.0003, N)})
    assert entries(strategy, df) == list(np.flatnonzero(df["&-s_close"] > 0.003))


def test_with_use_entry_z_a_prediction_must_stand_out_from_its_own_distribution(switched_on):
    """When every prediction clears the threshold, clearing it is not enough: only the rows
    whose z-score against the recent predictions exceeds entry_z enter (a minority)."""
    strategy = switched_on("use_entry_z")
    rng = np.random.default_rng(1)
    df = frame({}, **{"&-s_close": 0.0045 + rng.normal(0, 0.0003, N)})
    z = prediction_z(df)
    got = entries(strategy, df)
    assert got == list(np.flatnonzero(z > float(strategy.entry_z.value)))
    assert 0 < len(got) < 0.25 * N


@pytest.mark.parametrize(("column", "value"), [
    ("&-novelty", 4.0),        # a market the autoencoder does not know
    ("do_predict", 0),         # the model cannot be trusted on this row
    ("volume", 0.0),           # nothing traded
])
def test_each_filter_blocks_an_otherwise_good_entry(strategy, column, value):
    df = frame({400: 0.004, 500: 0.004})
    df.loc[500, column] = value
    assert entries(strategy, df) == [400]


def test_a_poor_rolling_ic_blocks_only_with_use_score_ic(strategy, switched_on):
    """The model's own recent record is poor at row 500: it enters by default, not with the
    IC filter switched on."""
    df = frame({400: 0.004, 500: 0.004})
    df.loc[500, "&-score_ic"] = -0.05
    assert entries(strategy, df) == [400, 500]
    assert entries(switched_on("use_score_ic"), df) == [400]


def test_scoreboard_not_filled_yet_does_not_block(switched_on):
    """`&-score_ic` is NaN until predictions have matured (and without per-candle learning):
    no evidence either way, so the IC filter lets the entry through."""
    strategy = switched_on("use_score_ic")
    assert entries(strategy, frame({400: 0.004}, **{"&-score_ic": np.nan})) == [400]


def test_scoreboard_zero_filled_by_freqai_backtests_does_not_block(switched_on):
    """FreqAI's backtests return the model's NaN as 0: IC and hit-rate both exactly 0 mean
    "no scoreboard yet", not "no skill"; an IC of 0 with a real hit-rate still blocks."""
    strategy = switched_on("use_score_ic")
    df = frame({400: 0.004, 500: 0.004}, **{"&-score_ic": 0.0, "&-score_hit_rate": 0.0})
    df.loc[500, "&-score_hit_rate"] = 0.52
    assert entries(strategy, df) == [400]
    assert scoreboard_ic(df).iloc[[400, 500]].isna().tolist() == [True, False]


def test_other_models_without_novelty_or_scoreboard_still_trade(switched_on):
    """LightGBM & co. provide neither `&-novelty` nor `&-score_ic`: those filters are skipped
    (the IC filter also when switched on)."""
    df = frame({400: 0.004}).drop(columns=["&-novelty", "&-score_ic"])
    assert entries(switched_on("use_score_ic"), df) == [400]


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


def test_entries_use_the_z_window_of_the_timeframe(module, monkeypatch):
    """With use_entry_z on 1h the prediction is compared with its last 24 predictions, not
    288."""
    hourly = module.SelfLearningStrategy({"timeframe": "1h"})
    monkeypatch.setattr(hourly.use_entry_z, "value", True)
    rng = np.random.default_rng(1)
    df = frame({}, **{"&-s_close": 0.0045 + rng.normal(0, 0.0003, N) + np.linspace(0, 0.002, N)})
    got = entries(hourly, df)
    assert got == list(np.flatnonzero(prediction_z(df, 24) > float(hourly.entry_z.value)))
    assert got != list(np.flatnonzero(prediction_z(df, 288) > float(hourly.entry_z.value)))


def test_the_threshold_and_novelty_bounds_are_strict(strategy):
    """A prediction exactly at the threshold does not enter, nor one in a market exactly at
    novelty_max: an entry needs &-s_close > entry_threshold and &-novelty < novelty_max."""
    df = frame({400: 0.004, 450: 0.003, 500: 0.004})
    df.loc[500, "&-novelty"] = 2.5
    assert entries(strategy, df) == [400]


def test_windows_in_candles_have_their_floors():
    """On a daily timeframe the z-score window is MIN_Z_CANDLES (24), not one candle, and the
    calibration window 4 x 24 candles, not 14."""
    assert (z_candles(86_400), z_candles(3600), z_candles(300)) == (24, 24, 288)
    assert (calibration_candles(86_400), calibration_candles(3600)) == (96, 336)
