"""One pair's candles with two features and FreqAI's three labels, and a FreqAI kitchen for
them: what the tests that call SelfLearningModel.fit directly (without freqtrade's backtest)
hand it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

PAIR = "SOL/USDT"
FEATURES = ["%-a", "%-b"]
LABELS = ["&-s_close", "&-liq_up", "&-liq_down"]


def training_frame(n: int) -> pd.DataFrame:
    """n hourly candles of a seeded random walk from 2024-12-04, the two features and the
    labels as seeded noise."""
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    df = pd.DataFrame({"date": pd.date_range("2024-12-04", periods=n, freq="1h", tz="UTC"),
                       "open": close, "high": close * 1.01, "low": close * 0.99,
                       "close": close, "volume": 5.0,
                       "%-a": rng.normal(size=n), "%-b": rng.normal(size=n)})
    for label in LABELS:
        df[label] = rng.normal(0, 0.01, n)
    return df


def kitchen(model, live: bool = True) -> FreqaiDataKitchen:
    """A kitchen for PAIR with FEATURES and LABELS; `live` False is a backtest's kitchen
    (filter_features raises when it drops every row). Made live, so no timerange is needed."""
    dk = FreqaiDataKitchen(model.config, live=True, pair=PAIR)
    dk.live = live
    dk.training_features_list, dk.label_list = list(FEATURES), list(LABELS)
    return dk
