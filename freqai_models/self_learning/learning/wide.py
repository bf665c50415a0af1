"""Training-time work of the wide head: IRLS, consolidation, choosing the ridge penalty.

All arithmetic goes through learning/linear.py (the formulas the per-candle step uses too);
this module only decides which rows and weights go in. Rows are (z, y, ts): standardised
features, targets in units of the pair's target spread, candle timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from self_learning.learning import linear

IRLS_ROUNDS = 5


@dataclass(frozen=True)
class Moments:
    a: np.ndarray
    b: np.ndarray
    n: float

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.a + other.a, self.b + other.b, self.n + other.n)

    def discounted(self, from_ts: int, to_ts: int, half_life_s: float) -> Moments:
        """The moments valued at `to_ts` instead of `from_ts` (earlier: grown, later:
        discounted), so they add up with moments anchored at `to_ts`."""
        d = 0.5 ** ((to_ts - from_ts) / half_life_s)
        return Moments(self.a * d, self.b * d, self.n * d)

    @staticmethod
    def zeros(f: int) -> Moments:
        return Moments(np.zeros((f, f), np.float32), np.zeros(f, np.float32), 0.0)


def _t(x):
    return tf.constant(np.asarray(x, np.float32))


@dataclass(frozen=True)
class WideSpec:
    half_life_s: float
    huber_delta: float
    horizon: int


def own_moments(z, y, ts, anchor: int, spec: WideSpec, beta) -> Moments:
    """Huber-weighted moments of rows under coefficients `beta`, discounted to `anchor`."""
    d = linear.discount(_t(anchor - np.asarray(ts, np.float64)), spec.half_life_s)
    resid = _t(y) - tf.linalg.matvec(_t(z), _t(beta))
    w = linear.huber_weights(resid, spec.huber_delta) * d
    a, b, n = linear.moments(_t(z), _t(y), w, d)
    return Moments(a.numpy(), b.numpy(), float(n))


def solve(m: Moments, lam: float) -> np.ndarray:
    return linear.solve(_t(m.a), _t(m.b), tf.constant(m.n, tf.float32), lam).numpy()


def irls(z, y, ts, anchor, spec: WideSpec, lam, others: Moments) -> np.ndarray:
    """Coefficients of the Huber ridge over the rows plus others' statistics, by iteratively
    reweighted least squares from `beta0` (least squares when None)."""
    d = linear.discount(_t(anchor - np.asarray(ts, np.float64)), spec.half_life_s)
    a, b, n = linear.moments(_t(z), _t(y), d, d)  # least squares to start from
    beta = solve(Moments(a.numpy(), b.numpy(), float(n)) + others, lam)
    for _ in range(IRLS_ROUNDS):
        beta = solve(own_moments(z, y, ts, anchor, spec, beta) + others, lam)
    return beta


def penalty_record(own: Moments, others: Moments, z, y, penalties) -> tuple[np.ndarray, ...]:
    """Out-of-sample evidence for each candidate penalty on rows the statistics have not seen
    yet: (sum of prediction x outcome, sum of prediction^2), predictions from the
    coefficients each penalty gives the statistics as they are."""
    gains, powers = [], []
    for lam in penalties:
        p = z @ solve(own + others, lam)
        gains.append(float(p @ y))
        powers.append(float(p @ p))
    return np.array(gains), np.array(powers)


def best_penalty(gains, powers, penalties, default: float) -> float:
    """The penalty whose predictions correlated best with the outcomes so far."""
    score = np.where(powers > 0, gains / np.sqrt(np.maximum(powers, 1e-30)), -np.inf)
    return float(penalties[int(np.argmax(score))]) if np.isfinite(score).any() else default
