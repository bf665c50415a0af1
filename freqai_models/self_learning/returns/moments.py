"""The ridge's sufficient statistics and their half-life discount (pure numpy, no TensorFlow).

    A = sum_i d_i w_i z_i z_i',   b = sum_i d_i w_i z_i y_i,   n = sum_i d_i

with d = `discount(age, half_life)` (returns/ridge.py builds them from rows). Statistics valued
at the same time add up, whichever pair or training they come from; `as_of` is the candle
time they are valued at, where it matters (what the pool shares, the step's pooled part).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def discount(dt, half_life):
    """0.5 ** (dt / half_life): the weight left after `dt` at that half-life (same units).

    The one formula of the discount: Python and numpy floats (float64), or float32 tensors
    (the compiled step passes `tf.cast(dt, tf.float32)`). A negative `dt` grows the weight;
    callers that must never grow clamp it first (`Moments.at`)."""
    return 0.5 ** (dt / half_life)


@dataclass(frozen=True)
class Moments:
    a: np.ndarray   # (F, F)
    b: np.ndarray   # (F,)
    n: float
    as_of: int = 0  # candle time (s) they are valued at

    def __add__(self, other: Moments) -> Moments:
        """The sum of statistics valued at the same time (the left one's `as_of`)."""
        return Moments(self.a + other.a, self.b + other.b, self.n + other.n, self.as_of)

    def scaled(self, d: float, as_of: int) -> Moments:
        return Moments(self.a * d, self.b * d, self.n * d, as_of)

    def discounted(self, from_ts: int, to_ts: int, half_life_s: float) -> Moments:
        """The moments valued at `to_ts` instead of `from_ts` (earlier: grown, later:
        discounted), so they add up with moments anchored at `to_ts`."""
        return self.scaled(discount(to_ts - from_ts, half_life_s), to_ts)

    def at(self, to_ts: int, half_life_s: float) -> Moments:
        """Valued at `to_ts` from their own `as_of`, never grown (what the pool answers)."""
        return self.scaled(discount(max(to_ts - self.as_of, 0), half_life_s), to_ts)

    @staticmethod
    def zeros(n_features: int, as_of: int = 0) -> Moments:
        return Moments(np.zeros((n_features, n_features), np.float32),
                       np.zeros(n_features, np.float32), 0.0, as_of)
