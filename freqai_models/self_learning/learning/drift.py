"""Drift detection on the prequential error of the return signal (Page-Hinkley, traceable).

The signal watched is x = -(prediction * realized) / spread(prediction), both in units of the
pair's target spread: the part of the squared error (y - p)^2 = y^2 - 2 p y + p^2 that depends
on how the prediction relates to the outcome (y^2 is noise the model cannot change). Its mean
is negative while the model has an edge and rises when the edge fades or flips sign.

`page_hinkley` is river.drift.PageHinkley(mode="up") with one change: its running mean, the
cumulative deviation `alpha * sum + (x - mean) - delta`, its running minimum, an alarm when
`sum - min > threshold` and a fresh start after an alarm are River's (tests/test_drift.py
checks them against River), but the cumulative deviation starts counting only once
`min_instances` values have set the mean: River's sum also holds the deviations from a mean
still settling, which on a stationary stream of prediction errors fired an alarm right after
every warm-up (one a day at 5m, measured). It is written here as TensorFlow ops because it runs
inside the compiled per-candle loop and its state must live in checkpointed variables (the
alarm drives the learning response, exactly once across crashes).
"""

from __future__ import annotations

import tensorflow as tf

FRESH = (0.0, 0.0, 0.0, 1e30)  # count, mean, cumulative deviation, its minimum
SIGNAL_CLIP = 10.0


def fresh_state():
    return tf.constant(FRESH, tf.float32)


def page_hinkley(state, x, *, delta: float, threshold: float, alpha: float,
                 min_instances: int):
    """(new state [count, mean, sum, min], alarm) after observing x."""
    count = state[0] + 1.0
    mean = state[1] + (x - state[1]) / count
    testing = count > float(min_instances)
    total = tf.where(testing, alpha * state[2] + (x - mean) - delta, 0.0)
    low = tf.where(testing, tf.minimum(state[3], total), 0.0)
    alarm = testing & (total - low > threshold)
    new = tf.stack([count, mean, total, low])
    return tf.where(alarm, fresh_state(), new), alarm


def signal(pred_scaled, real_scaled, pred_var):
    """The watched value for one matured sample (see the module docstring)."""
    x = -(pred_scaled * real_scaled) / tf.sqrt(tf.maximum(pred_var, 1e-12))
    return tf.clip_by_value(x, -SIGNAL_CLIP, SIGNAL_CLIP)
