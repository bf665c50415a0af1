"""Trading after fees: the entry threshold on `&-s_close` is never below the round trip of
fees the config or the exchange names; the expected return is `&-s_close` calibrated on the
model's own matured predictions (strategy_columns.calibrated_return), and with the optional
fee rule (use_expected_return) an entry needs it to clear that round trip too."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from strategy_support import FLAT_PRICES, load_strategy_module

from self_learning.candles.features import observed_targets
from self_learning.strategy.strategy_columns import calibrated_return, expected_return

N, H, CANDLES = 800, 4, 200


def candles(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, N)))
    return pd.DataFrame({"date": pd.date_range("2025-01-01", periods=N, freq="1h", tz="UTC"),
                         "open": close, "high": close * 1.001, "low": close * 0.999,
                         "close": close, "volume": 1.0, "do_predict": 1})


def realized(df: pd.DataFrame) -> np.ndarray:
    ohlcv = df[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    return observed_targets(ohlcv, H)[:, 0]


def with_predictions(df: pd.DataFrame, slope: float, intercept: float) -> pd.DataFrame:
    """Predictions whose realized return is exactly intercept + slope * prediction (plus
    rows without a target: the last H)."""
    pred = (np.nan_to_num(realized(df)) - intercept) / slope
    return df.assign(**{"&-s_close": pred})


def test_calibration_recovers_the_line_the_matured_predictions_realized():
    df = with_predictions(candles(), slope=0.25, intercept=0.001)
    got = calibrated_return(df, H, CANDLES)
    known = got.notna()
    assert known.iloc[: CANDLES // 4 + H - 1].sum() == 0  # a quarter of the window first
    assert known.iloc[CANDLES:N - H].all()
    rows = np.arange(CANDLES, N - 2 * H)  # windows whose matured rows all have a target
    np.testing.assert_allclose(got.iloc[rows], 0.001 + 0.25 * df["&-s_close"].iloc[rows],
                               rtol=1e-6, atol=1e-9)


def test_a_model_whose_predictions_realized_nothing_is_calibrated_to_the_mean_return():
    df = candles(1)
    df["&-s_close"] = -np.nan_to_num(realized(df))  # realized the opposite: slope < 0
    got = calibrated_return(df, H, CANDLES).iloc[CANDLES:N - H]
    matured = pd.Series(realized(df)).shift(H)
    mean = matured.rolling(CANDLES, min_periods=CANDLES // 4).mean().iloc[CANDLES:N - H]
    np.testing.assert_allclose(got, mean, rtol=1e-9)  # slope clipped at 0


def test_calibration_uses_no_later_candle_or_prediction():
    df = with_predictions(candles(3), slope=0.5, intercept=0.0)
    base = calibrated_return(df, H, CANDLES)
    cut = 500
    changed = df.copy()
    changed.loc[cut:, ["open", "high", "low", "close"]] *= 1.2
    changed.loc[cut:, "&-s_close"] += 0.01
    after = calibrated_return(changed, H, CANDLES)
    pd.testing.assert_series_equal(base.iloc[:cut], after.iloc[:cut])
    assert not np.isclose(base.iloc[cut], after.iloc[cut])


def test_rows_without_a_usable_prediction_neither_calibrate_nor_get_a_value():
    df = with_predictions(candles(4), slope=0.5, intercept=0.0)
    noisy = df.copy()
    noisy.loc[300:340, "&-s_close"] = 5.0  # nonsense the model marked unusable
    noisy.loc[300:340, "do_predict"] = 0
    got, clean = calibrated_return(noisy, H, CANDLES), calibrated_return(df, H, CANDLES)
    assert got.iloc[300:341].isna().all()
    np.testing.assert_allclose(got.iloc[600:N - H], clean.iloc[600:N - H], rtol=1e-6)


def test_expected_return_is_the_prediction_until_enough_predictions_matured():
    df = with_predictions(candles(5), slope=0.5, intercept=0.0)
    got = expected_return(df, H, CANDLES)
    early = slice(0, CANDLES // 4)
    np.testing.assert_array_equal(got.iloc[early], df["&-s_close"].iloc[early])
    pd.testing.assert_series_equal(got.iloc[CANDLES:N - H],
                                   calibrated_return(df, H, CANDLES).iloc[CANDLES:N - H])


@pytest.fixture(scope="module")
def module():
    return load_strategy_module()


def entry_rows(strategy, expected: float, prediction: float = 0.004) -> list[int]:
    """Entries of a frame with one standing-out prediction at row 400 (`prediction`, by
    default 0.004, above the 0.003 threshold) whose expected return is `expected`."""
    rng = np.random.default_rng(0)
    pred = rng.normal(0.0, 0.0005, 600)
    pred[400] = prediction
    df = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=600, freq="5min", tz="UTC"),
                       **FLAT_PRICES, "volume": 1.0, "do_predict": 1, "&-s_close": pred,
                       "expected_return": expected})
    out = strategy.populate_entry_trend(df, {"pair": "BTC/USDT"})
    return list(np.flatnonzero(out.get("enter_long", pd.Series(0, index=df.index)) == 1))


@pytest.mark.parametrize(("fee", "expected", "enters"), [
    (0.001, 0.0025, True),   # clears 2 x 0.1 %
    (0.001, 0.0015, False),  # the prediction clears the threshold, the calibrated return not
    (0.002, 0.0035, False),  # a 0.2 % fee per side: 0.4 % round trip
    (0.002, 0.0045, True),
])
def test_with_use_expected_return_entries_need_it_to_clear_the_round_trip_fee_of_the_config(
        module, monkeypatch, fee, expected, enters):
    strategy = module.SelfLearningStrategy({"fee": fee})
    monkeypatch.setattr(strategy.use_expected_return, "value", True)
    assert strategy.round_trip_fee("BTC/USDT") == pytest.approx(2 * fee)
    assert entry_rows(strategy, expected, prediction=0.005) == ([400] if enters else [])


def test_by_default_the_expected_return_does_not_decide(module):
    """The fee rule on the calibrated return is off by default: a prediction above the
    threshold enters whatever its line-calibrated expected return."""
    strategy = module.SelfLearningStrategy({"fee": 0.001})
    assert entry_rows(strategy, expected=-0.01) == [400]


@pytest.mark.parametrize(("fee", "prediction", "enters"), [
    (0.001, 0.0035, True),   # 0.2 % round trip: the 0.003 threshold decides
    (0.002, 0.0035, False),  # 0.4 % round trip: above the threshold, below the fees
    (0.002, 0.0045, True),
])
def test_the_threshold_is_never_below_the_round_trip_fee(module, fee, prediction, enters):
    strategy = module.SelfLearningStrategy({"fee": fee})
    assert entry_rows(strategy, expected=0.0, prediction=prediction) == (
        [400] if enters else [])
    assert strategy.entry_rules("BTC/USDT").floor == pytest.approx(max(0.003, 2 * fee))


def test_rows_without_a_usable_prediction_leave_the_line_of_the_others():
    """Matured rows without a prediction (do_predict 0) enter neither mean: the rows after
    them still get the line the usable predictions realized."""
    df = with_predictions(candles(4), slope=0.5, intercept=0.0)
    df.loc[300:340, "do_predict"] = 0
    got = calibrated_return(df, H, CANDLES)
    rows = np.arange(350, 500)
    np.testing.assert_allclose(got.iloc[rows], 0.5 * df["&-s_close"].iloc[rows], rtol=1e-6,
                               atol=1e-9)


def test_populate_indicators_calibrates_over_the_configured_horizon(module):
    """`expected_return` of the analyzed frame is calibrated over H = label_period_candles
    (4 here) and the calibration window of the timeframe, on FreqAI's output frame."""
    config = {"timeframe": "1h",
              "freqai": {"enabled": True, "feature_parameters": {"label_period_candles": H}}}
    strategy = module.SelfLearningStrategy(config)
    strategy.freqai = SimpleNamespace(start=lambda df, metadata, strat: df)
    df = with_predictions(candles(5), slope=0.5, intercept=0.0)
    out = strategy.populate_indicators(df.copy(), {"pair": "A/USDT"})
    want = expected_return(df, H, strategy.calibration_candles)
    np.testing.assert_allclose(out["expected_return"], want, rtol=1e-12)
    assert not np.allclose(want, expected_return(df, 1, strategy.calibration_candles),
                           equal_nan=True)
