"""The pair's signal record: what its own recent entry signals realized, once they matured.

An edge can fade while the predictions still clear the entry threshold: the model keeps
predicting what its training window taught it until that window forgets (docs/design.md
"Markets that change character"). The signal record watches the outcome instead of the
prediction: at candle t, the mean return of the pair's last `signals` signal candles whose
H candles (label_period_candles) have passed by t, each held close to close over those H
observed candles, before fees. A signal candle is one the entry rule fired on, whether or
not a trade opened there, so the record keeps moving while it blocks entries. Pure pandas;
a row's value depends on that row and earlier ones only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from self_learning.candles.features import OHLCV, observed_candles


def held_returns(dataframe: pd.DataFrame, horizon: int) -> pd.Series:
    """close[s + H] / close[s] - 1 over the observed candles (H = `horizon` observed candles
    later), NaN on the last H observed rows and on rows freqtrade filled. Looks ahead: the
    value of row s is known at row s + H only (matured_signals places it there)."""
    observed = observed_candles(dataframe[OHLCV].to_numpy(dtype=np.float64))
    close = dataframe.loc[observed, "close"].astype(float)
    return (close.shift(-horizon) / close - 1).reindex(dataframe.index)


def matured_signals(dataframe: pd.DataFrame, signals: pd.Series, horizon: int) -> pd.Series:
    """At row t, the held return of the signal candle H observed candles before t, if that
    candle was a signal (else NaN): each outcome on the row where it becomes known."""
    observed = observed_candles(dataframe[OHLCV].to_numpy(dtype=np.float64))
    held = held_returns(dataframe, horizon).loc[observed]
    fired = signals.reindex(dataframe.index).fillna(False).astype(bool).loc[observed]
    return held.where(fired).shift(horizon).reindex(dataframe.index)


def signal_record(dataframe: pd.DataFrame, signals: pd.Series, horizon: int,
                  count: int) -> pd.Series:
    """The mean held return of the last `count` signal candles matured by each row
    (matured_signals), NaN until `count` have matured; rows in between carry the last mean."""
    matured = matured_signals(dataframe, signals, horizon).dropna()
    record = matured.rolling(int(count), min_periods=int(count)).mean()
    return record.reindex(dataframe.index).ffill()


def record_allows(record: pd.Series, bar: float) -> pd.Series:
    """Rows where the record does not block an entry: above `bar` (the round trip of fees
    plus a margin), or not known yet."""
    return ~(record <= bar)
