"""Seeded synthetic candles with planted, learnable structure for the unit tests.

* a persistent hidden signal `s` drives the next returns (feature `f_signal` reveals it);
* volatility switches between calm and wild regimes (feature `f_vol` reveals it);
* the other features are noise.
"""

from __future__ import annotations

import numpy as np

from self_learning.candles.samples import Candles

TIMEFRAME_S = 300
FEATURES = ["f_signal", "f_vol", "f_noise1", "f_noise2", "f_noise3"]


def planted_candles(n: int, seed: int = 0, strength: float = 0.4) -> Candles:
    rng = np.random.default_rng(seed)
    signal = np.zeros(n)
    for t in range(1, n):
        signal[t] = 0.95 * signal[t - 1] + rng.normal(0, np.sqrt(1 - 0.95**2))
    regime = (np.arange(n) // 250) % 2
    vol = np.where(regime == 1, 0.004, 0.0012)
    eps = rng.standard_t(5, n) / np.sqrt(5 / 3)
    ret = np.zeros(n)
    ret[1:] = strength * vol[1:] * signal[:-1] + vol[1:] * eps[1:]
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.r_[close[0], close[:-1]]
    wick = np.abs(rng.normal(0, 1, (2, n))) * vol * 0.5
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(3 + regime, 0.3)
    ohlcv = np.stack([open_, high, low, close, volume], axis=1)
    features = np.stack([
        signal,
        vol * 1000 + rng.normal(0, 0.1, n),
        rng.normal(0, 1, n), rng.normal(0, 1, n), rng.normal(0, 1, n),
    ], axis=1)
    ts = 1_700_000_000 + TIMEFRAME_S * np.arange(n, dtype=np.int64)
    return Candles(ts, ohlcv, features)


def small_config(**overrides):
    from self_learning.config import parse_config

    section = {"window_candles": 16, "latent_dim": 4, "hidden_units": 32, "epochs": 8,
               "incremental_epochs": 2, "batch_size": 128, "replay_size": 256, "seed": 7}
    section.update(overrides)
    return parse_config({"self_learning": section,
                         "feature_parameters": {"label_period_candles": 6}})


def deterministic(seed: int = 7) -> None:
    import keras
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)


def small_learner(**overrides):
    """A fresh PairLearner on small_config(**overrides), FEATURES and 5m candles, its random
    state seeded first (deterministic())."""
    from self_learning.learning.learner import PairLearner

    deterministic()
    return PairLearner(small_config(**overrides), FEATURES, TIMEFRAME_S)


def weights_of(learner) -> list[np.ndarray]:
    return [v.numpy().copy() for m in learner.modules().values() for v in m.state_variables()]


HOUR_S = 3600


def weekend_filled_frame(hours: int, seed: int = 0, start: str = "2024-01-01"):
    """Hourly forex-like candles (a seeded random walk) as freqtrade hands them over: the
    market is closed from Friday 22:00 to Sunday 22:00 UTC and freqtrade fills those hours with
    open = high = low = close = the previous close and volume 0 (`ohlcv_fill_up_missing_data`).
    Returns a DataFrame with date, open, high, low, close, volume, and a `filled` column."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=hours, freq="1h", tz="UTC")
    week_hour = dates.day_of_week * 24 + dates.hour
    closed = (week_hour >= 4 * 24 + 22) & (week_hour < 6 * 24 + 22)
    ret = rng.normal(0, 0.001, hours)
    close = 1.1 * np.exp(np.cumsum(ret))
    open_ = np.r_[close[0], close[:-1]]
    wick = np.abs(rng.normal(0, 0.0005, (2, hours)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(5, 0.3, hours)
    frame = pd.DataFrame({"date": dates, "open": open_, "high": high, "low": low,
                          "close": close, "volume": volume, "filled": closed})
    # freqtrade's fill: the last close before the closed hours, carried forward.
    real_close = frame["close"].where(~frame["filled"]).ffill()
    for column in ("open", "high", "low", "close"):
        frame.loc[frame["filled"], column] = real_close[frame["filled"]]
    frame.loc[frame["filled"], "volume"] = 0.0
    # The walk went on while the market was closed: Sunday's first candle opens with a gap.
    return frame


def weekend_filled_candles(hours: int, seed: int = 0) -> tuple[Candles, np.ndarray]:
    """`weekend_filled_frame` as learner Candles with five finite features, and its
    filled-candle mask."""
    frame = weekend_filled_frame(hours, seed)
    import pandas as pd

    ts = ((frame["date"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()
    ohlcv = frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    rng = np.random.default_rng(seed + 1)
    features = rng.normal(0, 1, (hours, len(FEATURES)))
    features[:, 0] = np.r_[0.0, np.diff(np.log(ohlcv[:, 3]))] * 1000
    return Candles(ts.astype(np.int64), ohlcv, features), frame["filled"].to_numpy()


def small_runtime(root, **overrides):
    """A SelfLearningRuntime on `root` with small_config(**overrides), seeded (deterministic)."""
    from self_learning.runtime.lifecycle import SelfLearningRuntime

    deterministic()
    return SelfLearningRuntime(small_config(**overrides), root, TIMEFRAME_S)
