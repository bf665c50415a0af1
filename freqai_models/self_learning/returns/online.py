"""The challenger ridge model's life inside the compiled per-candle step (traceable).

Each matured sample joins its recent statistics (`learn`), and while those can move between
trainings its coefficients follow the statistics as they are at each candle, the other pairs'
included (`follow`): a few conjugate-gradient steps from the current coefficients (a training
solves exactly, returns/head.py). They can move when per-candle samples enter them
(`wide_online_step` > 0) or a drift response is under way (its step boost);
otherwise the coefficients stay the training's exact solution, and the other pairs' newer
statistics are taken in at the pair's next training. Following the pool alone between
trainings cost IC on the 1h dev windows (docs/hourly.md, "Per-candle learning"): the next
training then weighed its new rows under coefficients that had already seen the other pairs'
rows of the same days. The formulas are returns/ridge.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tensorflow as tf

from self_learning.learning.settings import LearningSettings
from self_learning.networks.base import all_finite
from self_learning.returns import ridge
from self_learning.returns.moments import Moments

if TYPE_CHECKING:
    from self_learning.learning.state import LearnerState
    from self_learning.networks.discovery import FeatureDiscoveryNetwork

REFINE_STEPS = 6  # conjugate-gradient steps per candle on the challenger's coefficients


class OnlineRidge:
    def __init__(self, discovery: FeatureDiscoveryNetwork, state: LearnerState,
                 settings: LearningSettings):
        self.disc, self.models, self.state, self.s = (discovery, discovery.module.models,
                                                      state, settings)

    def totals(self, ts, others: Moments):
        """(A, b, n) the wide head solves with at candle time `ts`: the pair's consolidated and
        recent statistics discounted from their anchor, plus the other pairs' statistics,
        discounted from their `as_of` to `ts` too (a backtest steps many candles with one
        snapshot of the pool), weighted by the pair's trust in the pool."""
        r, c = self.models, self.models.challenger
        g = ridge.discount(ts - r.stats_ts, self.s.half_life_s)
        pooled = self.state.pool_trust * ridge.discount(ts - others.as_of, self.s.half_life_s)
        a = g * (c.stats_a + c.recent_a) + pooled * others.a
        b = g * (c.stats_b + c.recent_b) + pooled * others.b
        n = g * (c.stats_n + c.recent_n) + pooled * others.n
        return a, b, n

    def moving(self):
        """Whether the statistics the coefficients solve can have moved since the training:
        per-candle samples enter them, or a drift response is under way (it forgets, boosts
        the step and distrusts the pool; the boost lasts until a training settles it)."""
        if self.s.wide_online_weight > 0.0:
            return tf.constant(True)
        return self.state.boost > 0.0

    def follow(self, ts, others: Moments):
        """While the statistics can move (`moving`), move the wide head's coefficients
        towards the solution of the statistics as they are at candle `ts` (a few
        conjugate-gradient steps from the current ones; a training solves exactly)."""
        r, c = self.models, self.models.challenger

        def refine():
            a, b, n = self.totals(ts, others)
            beta = ridge.refine(a, b, n, r.ridge_lambda, c.beta, REFINE_STEPS)
            ok = tf.reduce_all(tf.math.is_finite(beta))
            c.beta.assign(tf.where(ok, beta, c.beta))
            return tf.constant(0)

        tf.cond(self.moving(), refine, lambda: tf.constant(0))

    def learn(self, features, s_close, ts, weight):
        """Add one matured sample to the wide head's recent statistics (Huber-weighted under
        the current coefficients, `weight` times, grown to the anchor's scale)."""
        r, c = self.models, self.models.challenger
        z = self.disc.wide_inputs(features[None])
        y = self.disc.scaled_target(s_close)[None]
        resid = y - tf.linalg.matvec(z, c.beta)
        grow = 1.0 / ridge.discount(ts - r.stats_ts, self.s.half_life_s)
        w = ridge.huber_weights(resid, self.s.huber_delta) * weight * grow
        a, b, n = ridge.weighted_moments(z, y, w, weight * grow[None])
        # Never NaN into the statistics (e.g. `grow` overflows without an anchor): skipped.
        ok = all_finite([a, b, n])
        c.recent_a.assign_add(tf.where(ok, a, tf.zeros_like(a)))
        c.recent_b.assign_add(tf.where(ok, b, tf.zeros_like(b)))
        c.recent_n.assign_add(tf.where(ok, n, tf.zeros_like(n)))
