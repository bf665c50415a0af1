"""A pair with too little history to train (listed less than a training window ago) is not a
failure: SelfLearningModel's training logs one warning naming the pair and returns a handle,
so FreqAI neither logs a traceback nor (live) retries the training in a loop, and the pair
gets do_predict = 0 until a later training finds enough candles.

Both shapes seen with the stock CLI (benchmarks/odd_candles.py, case `listing`): a training
window without a single complete row (a backtest window before the pair's first candle:
FreqAI's filter_features raises "all training data dropped due to NaNs"), and a
few days of candles, fewer than a first training needs (InsufficientDataError)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from fit_support import FEATURES, LABELS, PAIR, kitchen, training_frame
from freqtrade.enums import RunMode

from self_learning.candles.samples import MIN_FIT_SAMPLES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model(tmp_path):
    from SelfLearningModel import SelfLearningModel

    config = json.loads((ROOT / "config.json").read_text())
    config.update(user_data_dir=tmp_path, runmode=RunMode.DRY_RUN)
    config["api_server"]["enabled"] = False
    config["exchange"]["pair_whitelist"] = [PAIR]
    model = SelfLearningModel(config=config)
    yield model
    model.shutdown()


@pytest.mark.parametrize(("candles", "live", "reason"), [
    (0, False, "none with every feature and target known"),   # backtest window before listing
    (MIN_FIT_SAMPLES, True, "usable samples, need at least"),  # a few days live
])
def test_a_pair_with_too_little_history_is_not_trained_and_not_traded(model, caplog, candles,
                                                                     live, reason):
    """fit returns an unavailable handle and logs one warning naming the pair and why; the
    kitchen is left as FreqAI needs it to save the handle and append null predictions; the
    predictions of the pair's candles are not tradable."""
    dk = kitchen(model, live)
    with caplog.at_level(logging.WARNING):
        handle = model.fit({"frame": training_frame(candles)}, dk)
    assert handle.pair == PAIR and not handle.available
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(PAIR in w and reason in w and "do_predict = 0" in w for w in warnings), warnings
    assert set(LABELS) <= set(dk.data["labels_mean"]) and set(LABELS) <= set(dk.data["labels_std"])
    assert list(dk.data_dictionary["train_features"].columns) == FEATURES

    later = training_frame(200)
    _, do_predict = model.predict(later, kitchen(model, live))
    assert not np.asarray(do_predict).any()


def test_a_timeframe_without_candles_is_named_in_the_warning(model, caplog):
    """A timeframe of include_timeframes without candles in the datadir (config.5m.json's 15m
    on ../shared/data/binance_usdt, which holds 1h and 5m): every training row lacks its
    features. The warning names the pair and timeframe and what to do, not a recent listing;
    a window before a listing (no candle at all) names no timeframe."""
    df = training_frame(200)
    one_hour = [f"%-{name}_{PAIR}_1h" for name in ("a", "b")]
    missing = [f"%-{name}_{PAIR}_15m" for name in ("a", "b")]
    df = df.rename(columns=dict(zip(FEATURES, one_hour, strict=True)))
    df = df.assign(**dict.fromkeys(missing, np.nan))
    dk = kitchen(model, live=False)
    dk.training_features_list = [*one_hour, *missing]
    with caplog.at_level(logging.WARNING):
        handle = model.fit({"frame": df}, dk)
        model.fit({"frame": training_frame(0)}, kitchen(model, live=False))
    assert not handle.available
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert f"the 2 features of {PAIR} 15m (%-a_{PAIR}_15m, ...)" in warnings[0], warnings
    assert "--timeframes 15m" in warnings[0] and "include_timeframes" in warnings[0]
    assert f"{PAIR} 1h" not in warnings[0]
    assert "include_timeframes" not in warnings[1], warnings
