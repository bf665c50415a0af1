"""FreqAI's outlier detectors for SelfLearningModel: `feature_parameters.
use_SVM_to_remove_outliers` (with `svm_params`), `DI_threshold` and
`use_DBSCAN_to_remove_outliers`, fitted on a training window's complete feature rows; a
prediction row they flag gets do_predict 0 (and with `DI_threshold` its `DI_values`), as with
FreqAI's own regressors, so a strategy that enters only on do_predict == 1 does not trade it.

The detectors set do_predict only. FreqAI's regressors also leave the flagged training rows out
of their fit; this model learns every row of the window and, per candle, every matured candle,
flagged or not: its learners read the strategy's features as they are (not FreqAI's scaled
ones), its windows of consecutive candles would be cut by dropped rows, and an unusual candle
(a crash) is what its per-candle learning should see. So with every detector off or on, the
predicted columns are the same; only do_predict (and DI_values) differ.

The pipeline is FreqAI's own (`IFreqaiModel.define_data_pipeline`: constant-feature filter,
scaler to [-1, 1], then the detectors in FreqAI's order, SVM before DI before DBSCAN, each
fitted on the rows the one before kept), without its steps that change features the learners
never see (`IGNORED_STEPS`: PCA and the training noise; the start-up checks warn about those
keys). FreqAI pickles the fitted pipeline with each model (`<model>_feature_pipeline.pkl`, scikit-
learn objects only) and loads it back with the model, also after a restart.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from datasieve.pipeline import Pipeline

# feature_parameters key -> its step in FreqAI's pipeline
DETECTORS = {"use_SVM_to_remove_outliers": "svm", "DI_threshold": "di",
             "use_DBSCAN_to_remove_outliers": "dbscan"}
IGNORED_STEPS = frozenset({"pca", "post-pca-scaler", "noise"})


def configured(feature_parameters: dict[str, Any]) -> tuple[str, ...]:
    """The detector keys of `feature_parameters` that are on (FreqAI's truth test)."""
    return tuple(key for key in DETECTORS if feature_parameters.get(key))


def detector_steps(pipeline: Pipeline) -> tuple[str, ...]:
    """The detectors in a (fitted or loaded) pipeline, by FreqAI's step name."""
    return tuple(name for name, _ in pipeline.steps if name in DETECTORS.values())


def without_ignored(pipeline: Pipeline) -> Pipeline:
    """`pipeline`'s steps but the IGNORED_STEPS, as a new pipeline (its own fit parameters:
    datasieve's default is one dict shared by every pipeline)."""
    return Pipeline([(name, step) for name, step in pipeline.steps
                     if name not in IGNORED_STEPS], {})


def fit(pipeline: Pipeline, train_features: pd.DataFrame) -> int:
    """Fits `pipeline` on the training window's complete feature rows; returns how many of
    them its detectors flag (as FreqAI's fit_transform drops them)."""
    kept, _, _ = pipeline.fit_transform(train_features)
    return len(train_features) - len(kept)


def prediction_features(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The features the detectors check, as FreqAI's filter_features gives them at prediction:
    infinite and missing values as 0 (such rows are not predicted anyway)."""
    values = df.reindex(columns=names).to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(np.where(np.isfinite(values), values, 0.0), columns=names)


def inliers(pipeline: Pipeline, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of `features` every detector of `pipeline` keeps, and their dissimilarity
    index (zeros without the DI step). FreqAI counts the flags down from 1 (-1 when two
    detectors flag a row); here a row is kept or not."""
    _, outliers, _ = pipeline.transform(features, outlier_check=True)
    di = pipeline["di"].di_values if "di" in pipeline else np.zeros(len(features))
    return np.asarray(outliers) == 1, np.asarray(di, np.float64)
