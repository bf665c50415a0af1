"""The prequential scoreboard: how good the model's own matured predictions turned out.

Computed from the last N matured predictions held in LearnerState's scoreboard ring (the
same numbers in live, dry-run and prequential backtests, because the same compiled step fills
the ring): rolling Spearman IC and hit-rate of `&-s_close` against the realized target, and the
share of realized upward and downward excursions inside the predicted band. Traceable
(TensorFlow ops, run inside the compiled step); ranks are ordinal with ties broken by age
(oldest first), which `reference_scores` (numpy) reproduces for tests.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _ranks(x):
    """Ordinal ranks, ties broken by position (one stable sort and a scatter)."""
    order = tf.argsort(x, stable=True)
    n = tf.shape(x)[0]
    return tf.scatter_nd(order[:, None], tf.range(n, dtype=tf.float32), [n])


def scores(pred, real, filled):
    """[ic, hit_rate, band_up, band_down] over the first `filled` rows of the ring, rows in
    age order (oldest first); NaN where fewer than 3 rows have matured.

    pred, real: (N, 3) [s_close, liq_up, liq_down] predicted and realized."""
    n = tf.shape(pred)[0]
    valid = tf.range(n) < filled
    big = tf.where(valid, 0.0, 1e30)
    # Rows that are not filled yet rank last and get zero weight.
    rp, rr = _ranks(pred[:, 0] + big), _ranks(real[:, 0] + big)
    w = tf.cast(valid, tf.float32)
    m = tf.maximum(tf.reduce_sum(w), 1.0)
    dp, dr = (rp - tf.reduce_sum(rp * w) / m) * w, (rr - tf.reduce_sum(rr * w) / m) * w
    ic = tf.reduce_sum(dp * dr) / tf.sqrt(tf.maximum(tf.reduce_sum(dp * dp)
                                                     * tf.reduce_sum(dr * dr), 1e-30))
    moved = w * tf.cast(tf.not_equal(real[:, 0], 0.0), tf.float32)
    hit = tf.reduce_sum(moved * tf.cast(tf.sign(pred[:, 0]) == tf.sign(real[:, 0]), tf.float32)
                        ) / tf.maximum(tf.reduce_sum(moved), 1.0)
    up = tf.reduce_sum(w * tf.cast(real[:, 1] <= pred[:, 1], tf.float32)) / m
    down = tf.reduce_sum(w * tf.cast(real[:, 2] >= pred[:, 2], tf.float32)) / m
    out = tf.stack([ic, hit, up, down])
    return tf.where(filled >= 3, out, tf.fill([4], float("nan")))


def in_age_order(ring, count):
    """Ring rows (N, k) oldest first, given how many were ever pushed."""
    size = tf.shape(ring, out_type=tf.int64)[0]
    start = tf.where(count > size, count % size, 0)
    idx = (start + tf.range(size, dtype=tf.int64)) % size
    return tf.gather(ring, idx)


def reference_scores(pred: np.ndarray, real: np.ndarray) -> np.ndarray:
    """numpy twin of `scores` over all rows given (oldest first), for tests."""
    pred, real = np.asarray(pred, np.float64), np.asarray(real, np.float64)
    if len(pred) < 3:
        return np.full(4, np.nan)
    rank = lambda x: np.argsort(np.argsort(x, kind="stable"), kind="stable")  # noqa: E731
    ic = np.corrcoef(rank(pred[:, 0]), rank(real[:, 0]))[0, 1]
    moved = real[:, 0] != 0
    hit = np.mean(np.sign(pred[moved, 0]) == np.sign(real[moved, 0])) if moved.any() else 0.0
    return np.array([ic, hit, np.mean(real[:, 1] <= pred[:, 1]),
                     np.mean(real[:, 2] >= pred[:, 2])])
