"""freqtrade dataframe <-> learner arrays, and the prediction frame handed back to FreqAI."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from self_learning.candles.features import OHLCV, TARGET_NAMES
from self_learning.candles.predictions import Predictions
from self_learning.candles.samples import Candles, InsufficientDataError

logger = logging.getLogger(__name__)

TARGET_COLUMNS = list(TARGET_NAMES)
# Columns the model adds to the strategy's dataframe besides the targets: novelty, the
# training counter, the prequential scoreboard (monitor/scoreboard.py), and which return
# model a drift challenge serves (monitor/challenge.py: 0 none on, 1 the challenger, -1 the
# incumbent).
EXTRA_COLUMNS = {"&-novelty": "novelty", "&-training_counter": "training_counter",
                 "&-score_ic": "ic", "&-score_hit_rate": "hit_rate",
                 "&-score_band_up": "band_up", "&-score_band_down": "band_down",
                 "&-drift": "drift", "&-since_learned": "since_learned",
                 "&-challenge": "challenge"}
OUTPUT_COLUMNS = TARGET_COLUMNS + list(EXTRA_COLUMNS)
# dk.data key of the factor that puts `&-s_close` on its label's scale (label_scale); FreqAI
# saves dk.data with the model's metadata, so a reloaded model serves the same scale.
SCALE_KEY = "self_learning_s_close_scale"
# Significant digits of the served columns: the networks compute in float32 (~7 digits), and
# FreqUI prints every digit of a float64 (0.0012345678432178497).
SERVED_DIGITS = 7
# whole numbers: kept as they are
COUNT_COLUMNS = ("&-training_counter", "&-since_learned", "&-drift", "&-challenge")
# FreqAI names a feature of an included timeframe `<name>_<PAIR>_<timeframe>`
# (data_kitchen.populate_features), e.g. `%-rsi-period_10_BTC/USDT_15m`.
SOURCE_SUFFIX = re.compile(r"_([^_]+/[^_]+)_([0-9]+[smhdwM])$")


def fix_date_dtypes(dd) -> None:
    """freqtrade 2026.9 on pandas 3: live retrains concat history loaded from disk
    (datetime64[ms, zoneinfo UTC]) with new candles (datetime64[us, timezone.utc]) into an
    object-dtype "date" column that the strategy's `.dt` features cannot use."""
    with dd.history_lock:
        for frames in dd.historic_data.values():
            for frame in frames.values():
                if not pd.api.types.is_datetime64_any_dtype(frame["date"]):
                    frame["date"] = pd.to_datetime(frame["date"], utc=True)


def extend_saved_predictions(historic: dict[str, pd.DataFrame], pair: str,
                             columns) -> list[str]:
    """FreqAI's saved predictions of `pair` (dd.historic_predictions, restored at start from
    historic_predictions.pkl) take every column the model serves now: a column that did not
    exist when they were written (`&-challenge` for a bot upgraded from before it) is added,
    with its `_mean` and `_std`, NaN on the candles before (FreqAI's start-up merge,
    set_initial_return_values, then fills them with 0, its gap marker). FreqAI writes each
    new candle's prediction into that frame by column name and would fail (KeyError) at
    every candle. The frame is replaced, not changed in place. Returns the columns added."""
    frame = historic.get(pair)
    missing = [] if frame is None else [c for c in columns if c not in frame.columns]
    if missing:
        historic[pair] = frame.assign(**{name: np.nan for column in missing
                                         for name in (column, f"{column}_mean",
                                                      f"{column}_std")})
        logger.info(f"{pair}: FreqAI's saved predictions take the new column(s) {missing} "
                    f"(empty before now)")
    return missing


def prepare_kitchen(dk, df: pd.DataFrame, predicting: bool = False) -> None:
    """What FreqAI's data kitchen needs from a model: the feature list, and label statistics
    (for the targets from the training labels; zeros for our extra columns). A training
    frame without a complete row raises InsufficientDataError, the kitchen left ready for
    FreqAI to save the model's handle and append its null predictions."""
    if predicting:
        dk.find_features(df)
        dk.DI_values = np.zeros(len(df))
    elif not complete_rows(df, [*dk.training_features_list, *dk.label_list]).any():
        # FreqAI's filter_features would drop every row (raising, in a backtest): a pair whose
        # candles start after the training window, e.g. one listed mid-run.
        dk.train_dates = df["date"].iloc[:0]
        dk.data_dictionary = {
            "train_features": df.reindex(columns=dk.training_features_list).iloc[:0],
            "train_labels": df.reindex(columns=dk.label_list).iloc[:0],
            "train_dates": dk.train_dates}
        _zero_label_stats(dk, [*dk.label_list, *EXTRA_COLUMNS])
        raise InsufficientDataError(
            f"the training window holds {len(df)} candles and none with every feature and "
            f"target known{empty_sources(df, dk.training_features_list)}")
    else:
        features, labels = dk.filter_features(df, dk.training_features_list, dk.label_list,
                                              training_filter=True)
        dk.data_dictionary = {"train_features": features, "train_labels": labels,
                              "train_dates": dk.train_dates}
        dk.fit_labels()
    _zero_label_stats(dk, EXTRA_COLUMNS)


def empty_sources(df: pd.DataFrame, features: list[str]) -> str:
    """Why no training row is complete when a candle source is missing: each pair and
    timeframe (FreqAI's feature suffix) none of whose feature columns holds a value in `df`
    while another's do, e.g. a timeframe of `include_timeframes` without candles in the
    datadir; "" when none (a window too short for any feature, e.g. before a listing)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in features:
        match = SOURCE_SUFFIX.search(name)
        if match:
            groups.setdefault((match[1], match[2]), []).append(name)
    empty = [(source, names) for source, names in groups.items()
             if not np.isfinite(df.reindex(columns=names).to_numpy(
                 dtype=np.float64, na_value=np.nan)).any()]
    if not empty or len(empty) == len(groups):
        return ""
    named = "; ".join(f"the {len(names)} features of {pair} {tf} ({names[0]}, ...)"
                      for (pair, tf), names in empty)
    timeframes = " ".join(sorted({tf for (_, tf), _ in empty}))
    return (f": no candle gives a value to {named}. Are those candles missing from the data "
            "(freqtrade warns `No history for ...`)? Download them (`freqtrade download-data "
            f"--timeframes {timeframes}`) or take the timeframe out of "
            "freqai.feature_parameters.include_timeframes (the pair out of "
            "include_corr_pairlist)")


def _zero_label_stats(dk, names) -> None:
    """Label statistics 0 for `names` that have none (FreqAI appends them to every saved
    prediction)."""
    for name in names:
        dk.data.setdefault("labels_mean", {}).setdefault(name, 0.0)
        dk.data.setdefault("labels_std", {}).setdefault(name, 0.0)


def complete_rows(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Rows of `df` whose `columns` are all finite (what FreqAI's filter_features keeps for
    training; a missing column counts as NaN)."""
    values = df.reindex(columns=columns).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.isfinite(values).all(axis=1)


def candles_from_frame(df: pd.DataFrame, feature_names: list[str]) -> Candles:
    missing = [c for c in ["date", *OHLCV] if c not in df.columns]
    if missing:
        raise ValueError(f"dataframe lacks column(s) {missing}")
    # Unit-safe (pandas 3 may hold dates in ms/us/ns): seconds since the epoch.
    dates = pd.to_datetime(df["date"], utc=True)
    ts = ((dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()
    # One selection for prices and features: each costs ~0.5-1.5 ms on a wide live frame,
    # whatever its row count (the live profile in the README).
    values = df.reindex(columns=[*OHLCV, *feature_names]).to_numpy(dtype=np.float64,
                                                                    na_value=np.nan)
    return Candles(ts.astype(np.int64), values[:, : len(OHLCV)], values[:, len(OHLCV) :])


def prediction_frame(p: Predictions) -> tuple[pd.DataFrame, np.ndarray]:
    """The model's columns for FreqAI, and do_predict (1 where the row may be traded on:
    usable and finite predictions). Scoreboard values stay NaN where not known yet."""
    columns = {"&-s_close": p.s_close, "&-liq_up": p.liq_up, "&-liq_down": p.liq_down,
               "&-novelty": p.novelty, "&-training_counter": p.training_counter}
    for column, name in EXTRA_COLUMNS.items():
        if column not in columns:
            columns[column] = p.score(name)
    arrays = {k: np.asarray(v, np.float64) for k, v in columns.items()}
    core = TARGET_COLUMNS + ["&-novelty", "&-training_counter"]
    finite = np.logical_and.reduce([np.isfinite(arrays[k]) for k in core])
    for k in core:
        arrays[k] = np.where(np.isfinite(arrays[k]), arrays[k], 0.0)
    return pd.DataFrame(arrays, copy=False), (p.ok & finite).astype(np.int_)


def significant(values: np.ndarray, digits: int) -> np.ndarray:
    """`values` rounded to `digits` significant digits (0, NaN and inf stay as they are)."""
    values = np.asarray(values, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    scale = 10.0 ** (digits - 1 - np.where(np.isfinite(magnitude), magnitude, 0.0))
    return np.where(np.isfinite(magnitude), np.round(values * scale) / scale, values)


def served(pred_df: pd.DataFrame, scale: float | None) -> pd.DataFrame:
    """The frame handed to FreqAI: `&-s_close` times `scale` (label_scale; unchanged when
    None), every other column than the counts to SERVED_DIGITS significant digits."""
    if scale is not None:
        pred_df["&-s_close"] = pred_df["&-s_close"] * scale
    for column in pred_df.columns.difference(COUNT_COLUMNS):
        pred_df[column] = significant(pred_df[column].to_numpy(), SERVED_DIGITS)
    return pred_df


def label_scale_factor(label_std: float | None, s_close: np.ndarray,
                       ok: np.ndarray) -> float | None:
    """std of the `&-s_close` label over std of the usable predictions (`freqai.self_learning.
    label_scale`): the factor that gives a calibrated prediction its label's spread. None when
    either is unknown or zero (fewer than 2 finite predictions, a constant prediction)."""
    values = np.asarray(s_close, np.float64)[np.asarray(ok, bool)]
    values = values[np.isfinite(values)]
    if label_std is None or not np.isfinite(label_std) or label_std <= 0 or len(values) < 2:
        return None
    spread = float(np.std(values))
    return float(label_std) / spread if spread > 0 else None


def null_predictions(n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows no trade may be opened on (no model, or TensorFlow missing)."""
    return pd.DataFrame(0.0, index=range(n), columns=OUTPUT_COLUMNS), np.zeros(n, dtype=np.int_)
