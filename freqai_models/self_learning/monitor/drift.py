"""Drift detection on the prequential error of the return signal (Page-Hinkley, traceable).

The signal watched is x = -(prediction * realized) / spread(prediction), both in units of the
pair's target spread: the part of the squared error (y - p)^2 = y^2 - 2 p y + p^2 that depends
on how the prediction relates to the outcome (y^2 is noise the model cannot change). Its mean
is negative while the model has an edge and rises when the edge fades or flips sign.

`page_hinkley` is river.drift.PageHinkley(mode="up") update for update (the tests feed both
the same streams): running mean, cumulative deviation `alpha * sum + (x - mean) - delta`, its
running minimum, an alarm when `sum - min > threshold` once `min_instances` values were seen,
and a fresh start after an alarm. It is written here as TensorFlow ops, not called from River,
because it runs inside the XLA-compiled per-candle loop and its state must live in the
checkpointed variables (the alarm drives the learning response, exactly once across crashes).
"""

from __future__ import annotations

import math

import tensorflow as tf

FRESH = (0.0, 0.0, 0.0, 1e30)  # count, mean, cumulative deviation, its minimum
SIGNAL_CLIP = 10.0
# LearnerState.drift holds the detector's state (FRESH's fields), then the running spread of
# the prediction the signal is scaled by; only the functions below index it.
SPREAD = len(FRESH)


def detector_state(drift_vector):
    return drift_vector[:SPREAD]


def prediction_spread(drift_vector):
    return drift_vector[SPREAD]


def packed(detector, spread):
    """The drift vector of a detector state and a prediction spread (traceable)."""
    return tf.concat([detector, spread[None]], 0)


def checked_spread(spread: float) -> float:
    """`spread` (a mean square of predictions) when it is a finite number >= 0; else a
    ValueError, before it reaches the model or the detector's state."""
    if not (math.isfinite(spread) and spread >= 0.0):
        raise ValueError(f"the in-sample spread of the wide head's predictions is {spread}; "
                         "its features or coefficients hold a NaN or inf, so this training "
                         "is not used")
    return spread


def set_prediction_spread(drift_variable, spread: float) -> None:
    """Start the prediction's running spread from `spread` (eager, at a training)."""
    drift_variable[SPREAD].assign(checked_spread(spread))


def fresh_state():
    return tf.constant(FRESH, tf.float32)


def page_hinkley(state, x, *, delta: float, threshold: float, alpha: float,
                 min_instances: int):
    """(new state [count, mean, sum, min], alarm) after observing x."""
    count = state[0] + 1.0
    mean = state[1] + (x - state[1]) / count
    total = alpha * state[2] + (x - mean) - delta
    low = tf.minimum(state[3], total)
    alarm = (count >= float(min_instances)) & (total - low > threshold)
    new = tf.stack([count, mean, total, low])
    return tf.where(alarm, fresh_state(), new), alarm


def signal(pred_scaled, real_scaled, pred_var):
    """The watched value for one matured sample (see the module docstring)."""
    x = -(pred_scaled * real_scaled) / tf.sqrt(tf.maximum(pred_var, 1e-12))
    return tf.clip_by_value(x, -SIGNAL_CLIP, SIGNAL_CLIP)
