"""The columns SelfLearningStrategy derives from its dataframe: pure pandas, no freqtrade.

Owns the strategy's dataframe arithmetic, so the strategy file keeps only freqtrade's
interface (parameters, populate_* methods, callbacks):

* FreqAI's labels: `add_target_labels` (the one target formula, features.observed_targets);
* indicator plumbing: `ratio` (NaN instead of inf), `over_observed` (indicators over the
  observed candles only, like the model's windows);
* entry-filter inputs: `prediction_z` (the prediction against its own recent distribution),
  `scoreboard_ic` (the model's rolling IC, NaN while unknown);
* chart levels: `band_levels` (the predictions as prices).

Every function maps a DataFrame (or Series) to a Series or DataFrame. Only the labels look
ahead (that is what a label is); in every other column a row's value depends on that row and
earlier ones only (for `over_observed`, as far as its `compute` does).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from self_learning.features import TARGET_NAMES, observed_candles, observed_targets
from self_learning.frames import OHLCV

# The prediction's own recent distribution: its last day of 5m candles (at least a quarter
# of it predicted before a z-score exists).
Z_CANDLES = 288


def add_target_labels(dataframe: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """FreqAI's three labels (`&-s_close`, `&-liq_up`, `&-liq_down`) over the next `horizon`
    observed candles, added to `dataframe` in place (which is returned); rows that are not
    observed and the last `horizon` observed rows are NaN (features.observed_targets)."""
    values = observed_targets(dataframe[OHLCV].to_numpy(dtype=np.float64), horizon)
    for column, name in enumerate(TARGET_NAMES):
        dataframe[name] = values[:, column]
    return dataframe


def prediction_z(dataframe: pd.DataFrame) -> pd.Series:
    """z-score of `&-s_close` against its own last Z_CANDLES predictions (rows with
    do_predict == 1; the others are neither scored nor part of the distribution). Uses past
    rows only, so a signal never depends on later candles."""
    prediction = dataframe.loc[dataframe["do_predict"] == 1, "&-s_close"]
    recent = prediction.rolling(Z_CANDLES, min_periods=Z_CANDLES // 4)
    z = (prediction - recent.mean()) / recent.std().replace(0.0, np.nan)
    return z.reindex(dataframe.index)


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator with NaN instead of inf where the denominator is 0."""
    return numerator / denominator.replace(0.0, np.nan)


def observed_rows(dataframe: pd.DataFrame) -> np.ndarray:
    """Rows that are market observations (self_learning.features.observed_candles): not the
    candles freqtrade filled for closed-market hours or outages, nor broken ones."""
    return observed_candles(dataframe[OHLCV].to_numpy(dtype=np.float64))


def over_observed(dataframe: pd.DataFrame,
                  compute: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """`compute(frame)` (which adds `%` columns) over the observed rows only, so indicators
    run over the sequence of real candles, like the model's windows. A filled row carries the
    previous observation's values, so FreqAI's shifted copies of the first candle after a
    weekend are finite too."""
    observed = observed_rows(dataframe)
    if observed.all():
        return compute(dataframe)
    part = compute(dataframe.loc[observed].copy())
    added = part[[c for c in part.columns if c not in dataframe.columns]]
    added = added.reindex(dataframe.index)
    filled_in = added.where(pd.Series(observed, index=dataframe.index), added.ffill(), axis=0)
    return pd.concat([dataframe, filled_in], axis=1)


def scoreboard_ic(dataframe: pd.DataFrame) -> pd.Series:
    """The model's rolling IC (`&-score_ic`), NaN where its scoreboard holds no matured
    prediction yet (or the model does not learn per candle). FreqAI's backtests hand the
    model's NaN back as 0 (data_kitchen.fill_predictions), so a row whose IC and hit-rate
    are both exactly 0 - which no filled scoreboard shows - counts as unknown too."""
    ic = dataframe["&-score_ic"]
    if "&-score_hit_rate" in dataframe.columns:
        ic = ic.mask((ic == 0.0) & (dataframe["&-score_hit_rate"] == 0.0))
    return ic


def band_levels(dataframe: pd.DataFrame) -> pd.DataFrame:
    """Price levels of the prediction for the chart: `band_high` / `band_low` = close times
    (1 + `&-liq_up` / `&-liq_down`), `predicted_close` = close times (1 + `&-s_close`), each
    known at its candle's close; NaN where the row is not usable (do_predict != 1). Adds the
    columns to `dataframe` in place and returns it."""
    usable = dataframe["do_predict"] == 1 if "do_predict" in dataframe else False
    for level, column in (("band_high", "&-liq_up"), ("band_low", "&-liq_down"),
                          ("predicted_close", "&-s_close")):
        if column in dataframe.columns:
            dataframe[level] = (dataframe["close"] * (1 + dataframe[column])).where(usable)
    return dataframe
