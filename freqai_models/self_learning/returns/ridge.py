"""Robust ridge from decayed sufficient statistics: the wide head of the discovery network.

Return prediction at this signal-to-noise ratio is a bias/variance problem first: measured on
held-out pairs, a ridge regression on the strategy's features beats every network we tried
(networks overfit ~120 independent samples per window), a Huber loss beats squares (fat
tails), and statistics pooled over pairs beat statistics of one pair. So the wide head is
learned in closed form from decayed, Huber-weighted sufficient statistics (A, b, n) of the
samples learned so far (returns/moments.py): z is a sample's standardised features, y its
target in units of the pair's target spread, w its Huber weight (1 inside `delta`,
delta/|r| beyond it, r the residual under the coefficients of the moment it was learned) and
d its age discount, ages measured in seconds against an anchor timestamp. The coefficients
are `solve(A + lam * n * I, b)`: statistics add up, so the statistics of several pairs (each
in its own standardised units) are simply summed.

The tensor functions (TensorFlow ops, traceable under XLA) hold the one formula of each step,
used by the full fit (whole windows), incremental fits and the per-candle step (one sample);
the numpy part below (Moments, IRLS, the penalty record) only decides which rows and weights
go into them at a training. Rows are (z, y, ts): standardised features, targets in units of
the pair's target spread, candle timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from self_learning.returns import moments
from self_learning.returns.moments import Moments

EPS = 1e-12


def discount(dt_seconds, half_life_s):
    """`moments.discount` as a float32 tensor (traceable)."""
    return moments.discount(tf.cast(dt_seconds, tf.float32), tf.cast(half_life_s, tf.float32))


def huber_weights(residual, delta):
    """IRLS weights of the Huber loss: 1 where |r| <= delta, delta / |r| beyond."""
    return tf.minimum(1.0, delta / tf.maximum(tf.abs(residual), EPS))


def weighted_moments(z, y, weights, counts):
    """(A, b, n) of a batch: z (m, F), y (m,), weights (m,) (Huber x discount), counts (m,)
    (discount only; n counts samples, not their Huber weights)."""
    zw = z * weights[:, None]
    return (tf.matmul(zw, z, transpose_a=True), tf.linalg.matvec(zw, y, transpose_a=True),
            tf.reduce_sum(counts))


def refine(a, b, n, lam, beta, iterations: int):
    """`iterations` steps of Jacobi-preconditioned conjugate gradients on the ridge system of
    `solve`, from `beta`: what the per-candle step uses to follow the coefficients as the
    statistics move (XLA's CPU Cholesky costs ~0.6 ms at 60 features, ~9 ms at 220; these
    steps cost microseconds, and start from the previous solution, which is close)."""
    ridge = tf.cast(lam, tf.float32) * tf.maximum(n, 1.0)
    diag = tf.linalg.diag_part(a) + ridge
    inv = 1.0 / tf.maximum(diag, EPS)

    def matvec(v):
        return tf.linalg.matvec(a, v) + ridge * v

    x = beta
    r = b - matvec(x)
    z = inv * r
    p = z
    rz = tf.reduce_sum(r * z)
    for _ in range(iterations):
        ap = matvec(p)
        alpha = rz / tf.maximum(tf.reduce_sum(p * ap), EPS)
        x = x + alpha * p
        r = r - alpha * ap
        z = inv * r
        rz_new = tf.reduce_sum(r * z)
        p = z + (rz_new / tf.maximum(rz, EPS)) * p
        rz = rz_new
    return tf.where(n > 0.0, x, tf.zeros_like(x))


def solve(a, b, n, lam):
    """Ridge coefficients solve(A + lam * max(n, 1) * I, b); zeros when nothing was learned."""
    f = tf.shape(b)[0]
    ridge = tf.cast(lam, tf.float32) * tf.maximum(n, 1.0)
    chol = tf.linalg.cholesky(a + ridge * tf.eye(f))
    beta = tf.linalg.cholesky_solve(chol, b[:, None])[:, 0]
    return tf.where(n > 0.0, beta, tf.zeros_like(beta))


# -- training-time work: IRLS, consolidation, choosing the ridge penalty (numpy) ----------

IRLS_ROUNDS = 5


def _t(x):
    return tf.constant(np.asarray(x, np.float32))


@dataclass(frozen=True)
class WideSpec:
    half_life_s: float
    huber_delta: float
    horizon: int


def own_moments(z, y, ts, anchor: int, spec: WideSpec, beta) -> Moments:
    """Huber-weighted moments of rows under coefficients `beta`, discounted to `anchor`."""
    d = discount(_t(anchor - np.asarray(ts, np.float64)), spec.half_life_s)
    resid = _t(y) - tf.linalg.matvec(_t(z), _t(beta))
    w = huber_weights(resid, spec.huber_delta) * d
    a, b, n = weighted_moments(_t(z), _t(y), w, d)
    return Moments(a.numpy(), b.numpy(), float(n), anchor)


def solve_moments(m: Moments, lam: float) -> np.ndarray:
    """`solve` of numpy moments."""
    return solve(_t(m.a), _t(m.b), tf.constant(m.n, tf.float32), lam).numpy()


def irls(z, y, ts, anchor, spec: WideSpec, lam, others: Moments) -> np.ndarray:
    """Coefficients of the Huber ridge over the rows plus others' statistics, by iteratively
    reweighted least squares from `beta0` (least squares when None)."""
    d = discount(_t(anchor - np.asarray(ts, np.float64)), spec.half_life_s)
    a, b, n = weighted_moments(_t(z), _t(y), d, d)  # least squares to start from
    beta = solve_moments(Moments(a.numpy(), b.numpy(), float(n)) + others, lam)
    for _ in range(IRLS_ROUNDS):
        beta = solve_moments(own_moments(z, y, ts, anchor, spec, beta) + others, lam)
    return beta


def row_predictions(z: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """z @ beta (numpy, float32). OpenBLAS's float32 kernels can raise the invalid flag on
    finite operands (twice in CI in many runs, never reproduced; numpy#24067 is the same
    kind), which numpy turns into a RuntimeWarning: the flag says nothing here, so it is
    silenced, and the callers check the results themselves."""
    with np.errstate(invalid="ignore"):
        return z @ beta


def penalty_record(own: Moments, others: Moments, z, y, penalties) -> tuple[np.ndarray, ...]:
    """Out-of-sample evidence for each candidate penalty on rows the statistics have not seen
    yet: (sum of prediction x outcome, sum of prediction^2), predictions from the
    coefficients each penalty gives the statistics as they are. A ValueError when any of it
    is not a finite number, before it reaches the record kept in the model."""
    gains, powers = [], []
    for lam in penalties:
        p = row_predictions(z, solve_moments(own + others, lam))
        gains.append(float(p @ y))
        powers.append(float(p @ p))
    gains, powers = np.array(gains), np.array(powers)
    if not (np.isfinite(gains).all() and np.isfinite(powers).all()):
        raise ValueError("the wide head's evidence for its ridge penalties holds a NaN or inf "
                         f"(gains {gains}, powers {powers}): its features or statistics hold "
                         "one, so this training is not used")
    return gains, powers


def best_penalty(gains, powers, penalties, default: float) -> float:
    """The penalty whose predictions correlated best with the outcomes so far."""
    score = np.where(powers > 0, gains / np.sqrt(np.maximum(powers, 1e-30)), -np.inf)
    return float(penalties[int(np.argmax(score))]) if np.isfinite(score).any() else default
