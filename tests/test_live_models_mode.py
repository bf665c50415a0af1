"""`freqtrade backtesting --freqai-backtest-live-models`: SelfLearningModel builds no runtime on
purpose (run_stores.replays_live_predictions), as it builds none without TensorFlow. FreqAI
calls neither train nor predict in that mode; should it ever, the user is told about the mode,
not that TensorFlow is missing (which would send them installing a package they have)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from self_learning.runtime import runtime_env

ROOT = Path(__file__).resolve().parents[1]
PAIR = "BTC/USDT"


def test_train_or_predict_in_live_models_mode_names_the_mode(tmp_path, caplog):
    """fit and predict raise freqtrade's OperationalException naming
    --freqai-backtest-live-models; the missing-TensorFlow notice goes neither to the log nor
    to freqtrade's notification channel."""
    from SelfLearningModel import SelfLearningModel

    config = json.loads((ROOT / "config.json").read_text())
    config.update(user_data_dir=tmp_path, runmode=RunMode.BACKTEST,
                  freqai_backtest_live_models=True)
    config["api_server"]["enabled"] = False
    model = SelfLearningModel(config=config)
    model.data_provider = DataProvider(config, None)
    assert model.runtime is None
    dk = FreqaiDataKitchen(config, live=False, pair=PAIR)
    dk.training_features_list = ["%-a"]
    n = 50
    df = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=n, freq="1h", tz="UTC"),
                       "open": 1.0, "high": 1.1, "low": 0.9, "close": 1.0, "volume": 5.0,
                       "%-a": np.arange(n, dtype=float)})
    for call in (lambda: model.fit({"frame": df}, dk), lambda: model.predict(df, dk)):
        with pytest.raises(OperationalException,
                           match=r"^--freqai-backtest-live-models: FreqAI asked "
                                 r"SelfLearningModel to train or predict"):
            call()
    assert list(model.data_provider._msg_queue) == []
    assert runtime_env.TF_MISSING_MESSAGE not in caplog.text
