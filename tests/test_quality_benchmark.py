"""The pure metric functions of benchmarks/quality.py (no freqtrade run)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

_SPEC = importlib.util.spec_from_file_location(
    "quality_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "quality.py")
quality = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = quality
_SPEC.loader.exec_module(quality)


def test_realized_target_matches_strategy_label():
    """Same numbers as SelfLearningStrategy's `&-s_close` (rolling mean ending at t+H, shifted
    back by H), NaN exactly where the future is unknown."""
    close = pd.Series(np.random.default_rng(0).uniform(1.0, 2.0, 200))
    horizon = 12
    want = close.rolling(horizon).mean().shift(-horizon) / close - 1
    got = quality.realized_target(close.to_numpy(), horizon)
    np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)
    assert np.isnan(got[-horizon:]).all() and np.isfinite(got[:-horizon]).all()


def test_realized_target_by_hand():
    got = quality.realized_target(np.array([1.0, 2.0, 4.0, 8.0]), 2)
    np.testing.assert_allclose(got[:2], [(2 + 4) / 2 / 1 - 1, (4 + 8) / 2 / 2 - 1])


def test_fill_gaps_carries_close_forward_like_freqtrade():
    dates = pd.to_datetime(["2018-01-10 00:00", "2018-01-10 00:05", "2018-01-10 00:20"], utc=True)
    frame = quality.fill_gaps(pd.DataFrame({"date": dates, "close": [1.0, 2.0, 3.0]}))
    assert list(frame["close"]) == [1.0, 2.0, 2.0, 2.0, 3.0]
    assert frame["date"].diff().dropna().eq(pd.Timedelta(minutes=5)).all()


def test_fill_gaps_names_a_missing_column():
    with pytest.raises(quality.BenchError, match="close"):
        quality.fill_gaps(pd.DataFrame({"date": [], "open": []}))


def test_naive_signal_is_minus_distance_to_sma():
    close = np.arange(1.0, 31.0)
    got = quality.naive_signal(close, period=20)
    assert np.isnan(got[:19]).all()
    assert got[19] == pytest.approx(-(20.0 / np.mean(close[:20]) - 1))


@pytest.mark.parametrize("pred,target,ic", [
    ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
    ([1, 2, 3, 4], [1, 8, 27, 64], 1.0),      # rank correlation ignores scale
    ([4, 3, 2, 1], [10, 20, 30, 40], -1.0),
])
def test_spearman_ic_table(pred, target, ic):
    assert quality.spearman_ic(np.array(pred), np.array(target)) == pytest.approx(ic)


def test_spearman_ic_undefined_for_constant_or_tiny_input():
    """A model that outputs a constant (e.g. FreqAI's null predictions) has no IC, not 0."""
    assert np.isnan(quality.spearman_ic(np.zeros(10), np.arange(10.0)))
    assert np.isnan(quality.spearman_ic(np.array([1.0, 2.0]), np.array([1.0, 2.0])))


def test_hit_rate_counts_sign_agreement_and_zero_prediction_as_miss():
    pred = np.array([0.1, -0.1, 0.1, 0.0, 0.2])
    target = np.array([0.2, -0.3, -0.1, 0.1, 0.0])  # last row: target 0, not counted
    assert quality.hit_rate(pred, target) == pytest.approx(2 / 4)


def test_train_seconds_parses_freqai_done_lines():
    log = ("... - INFO - -------------------- Done training ETC/BTC (13.56 secs) ----\n"
           "... - INFO - incremental update of ETC/BTC: 288 new samples, 0.62 s\n"
           "... - INFO - -------------------- Done training ETC/BTC (0.68 secs) ----\n"
           "... - INFO - -------------------- Done training LTC/BTC (2.50 secs) ----\n")
    assert quality.train_seconds(log) == {"ETC/BTC": [13.56, 0.68], "LTC/BTC": [2.5]}


def test_train_failure_line_is_detected():
    line = ("2026 - freqtrade.freqai.freqai_interface - WARNING - Training ETC/BTC raised "
            "exception ValueError. Message: DataFrame for label cannot have multiple columns")
    assert quality.TRAIN_FAILED.search(line)
