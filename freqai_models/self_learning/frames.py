"""freqtrade dataframe <-> learner arrays, and the prediction frame handed back to FreqAI."""

from __future__ import annotations

import numpy as np
import pandas as pd

from self_learning.predictions import Predictions
from self_learning.samples import Candles

OHLCV = ["open", "high", "low", "close", "volume"]
OUTPUT_COLUMNS = ["&-s_close", "&-liq_up", "&-liq_down", "&-novelty", "&-training_counter"]
EXTRA_OUTPUTS = ["&-novelty", "&-training_counter"]


def candles_from_frame(df: pd.DataFrame, feature_names: list[str]) -> Candles:
    missing = [c for c in ["date", *OHLCV] if c not in df.columns]
    if missing:
        raise ValueError(f"dataframe lacks column(s) {missing}")
    # Unit-safe (pandas 3 may hold dates in ms/us/ns): seconds since the epoch.
    dates = pd.to_datetime(df["date"], utc=True)
    ts = ((dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()
    feats = df.reindex(columns=feature_names).to_numpy(dtype=np.float64, na_value=np.nan)
    return Candles(ts.astype(np.int64), df[OHLCV].to_numpy(dtype=np.float64), feats)


def merge_predictions(base: Predictions, stepped: Predictions | None) -> Predictions:
    """`base` covers every row; rows that were stepped online take the online prediction."""
    if stepped is None or len(stepped.ts) == 0:
        return base
    pos = np.searchsorted(base.ts, stepped.ts)
    fields = {}
    for name in ("s_close", "liq_up", "liq_down", "novelty", "training_counter", "ok"):
        values = np.array(getattr(base, name), copy=True)
        values[pos] = getattr(stepped, name)
        fields[name] = values
    return Predictions(base.ts, learned=stepped.learned, **fields)


def prediction_frame(p: Predictions) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.DataFrame({
        "&-s_close": p.s_close.astype(np.float64),
        "&-liq_up": p.liq_up.astype(np.float64),
        "&-liq_down": p.liq_down.astype(np.float64),
        "&-novelty": p.novelty.astype(np.float64),
        "&-training_counter": p.training_counter.astype(np.float64),
    })
    finite = np.isfinite(frame.to_numpy()).all(axis=1)
    frame = frame.where(np.isfinite(frame), 0.0)
    return frame, (p.ok & finite).astype(np.int_)


def null_predictions(n: int) -> tuple[pd.DataFrame, np.ndarray]:
    return pd.DataFrame(0.0, index=range(n), columns=OUTPUT_COLUMNS), np.zeros(n, dtype=np.int_)
