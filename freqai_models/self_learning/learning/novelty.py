"""`&-novelty`: the autoencoder's log reconstruction error of a candle's window, z-scored
against the statistics of the candles served before it (an exponentially weighted mean and
variance, weight `novelty_alpha` for the newest).

Each served candle is scored first, then folded in. The compiled per-candle step does it in
TensorFlow (program.py `_predict_one`); serving without per-candle learning does it here, in
numpy (learner.py `serve`). Both fold with `fold`: plain arithmetic, so one formula runs on
tensors and on floats alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-8  # keeps the log of a zero error and the z of a zero variance finite


@dataclass(frozen=True)
class NoveltyStats:
    mean: float
    var: float


def fold(mean, var, log_error, alpha):
    """The statistics (mean, var) after one more candle's log reconstruction error."""
    delta = log_error - mean
    return mean + alpha * delta, (1.0 - alpha) * (var + alpha * delta**2)


def log_errors(z: np.ndarray, stats: NoveltyStats) -> np.ndarray:
    """The log reconstruction errors behind novelty scores `z` given against `stats` (the
    inverse of the score program.py `outputs` serves), in float64."""
    return np.asarray(z, np.float64) * np.sqrt(stats.var + EPS) + stats.mean


def score_and_fold(errors: np.ndarray, stats: NoveltyStats,
                   alpha: float) -> tuple[np.ndarray, NoveltyStats]:
    """Novelty of each log error in time order against the statistics of those before it,
    each folded in after it is scored; returns the scores and the statistics after the last."""
    mean, var = float(stats.mean), float(stats.var)
    z = np.empty(len(errors), np.float64)
    for i, e in enumerate(np.asarray(errors, np.float64)):
        z[i] = (e - mean) / np.sqrt(var + EPS)
        mean, var = fold(mean, var, float(e), alpha)
    return z, NoveltyStats(mean, var)
