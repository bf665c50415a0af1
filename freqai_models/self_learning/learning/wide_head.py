"""WideHead: the training-time life of the discovery network's wide head.

Its state lives in the discovery module's variables (networks/discovery.py) and the learner
state's `linear_learned_ts`; this class moves it: the first fit from a window (Huber IRLS,
plus what the other pairs know), consolidation of each later training's new rows (choosing
the ridge penalty by every candidate's record on those rows before they are learned), and
the statistics the pool shares. The arithmetic is learning/linear.py's, through wide.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from self_learning.learning import wide
from self_learning.learning.pool import LinearStats
from self_learning.learning.state import NEVER
from self_learning.networks.discovery import PENALTIES
from self_learning.samples import Samples

DEFAULT_PENALTY = 0.3  # the ridge penalty until the record chooses one

Others = Callable[[int], wide.Moments]  # what the other pairs knew at a time


class WideHead:
    def __init__(self, discovery, state, spec: wide.WideSpec, timeframe_s: int):
        self.disc, self.m, self.state = discovery, discovery.module, state
        self.spec, self.timeframe_s = spec, int(timeframe_s)

    @property
    def ready(self) -> bool:
        """Whether it has learned anything (not after an upgrade from a layout without it,
        until the next training)."""
        return int(self.state.linear_learned_ts.numpy()) != NEVER

    def forget_everything(self) -> None:
        self.state.linear_learned_ts.assign(NEVER)

    def rows(self, s: Samples, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, y): standardised features and targets in units of the target spread."""
        z = self.disc.wide_inputs(s.features[rows]).numpy()
        y = self.disc.scaled_target(s.targets[rows, 0]).numpy()
        return z, y

    def fit_train_part(self, s: Samples, rows: np.ndarray, others: wide.Moments) -> None:
        """Coefficients from `rows` only (the deep head learns the residual of a wide head
        that has not seen the validation tail)."""
        z, y = self.rows(s, rows)
        ts = s.ts[rows]
        self.m.wide_beta.assign(wide.irls(z, y, ts, int(ts[-1]), self.spec,
                                          float(self.m.ridge_lambda.numpy()), others))

    def first_fit(self, s: Samples, rows: np.ndarray, others: wide.Moments) -> None:
        """From scratch on the window's rows plus the pool: Huber IRLS, then statistics
        anchored at the newest row."""
        z, y = self.rows(s, rows)
        ts = s.ts[rows]
        anchor = int(ts[-1])
        lam = float(self.m.ridge_lambda.numpy())
        beta = wide.irls(z, y, ts, anchor, self.spec, lam, others)
        own = wide.own_moments(z, y, ts, anchor, self.spec, beta)
        pooled = others.discounted(int(s.ts[-1]), anchor, self.spec.half_life_s)
        self._set(own, anchor, wide.solve(own + pooled, lam))
        # The drift detector's scale of the prediction starts from its in-sample spread.
        p = z @ self.m.wide_beta.numpy()
        self.state.drift.assign(np.concatenate([self.state.drift.numpy()[:4],
                                                [float(np.mean(p * p))]]).astype(np.float32))

    def consolidate(self, s: Samples, rows: np.ndarray, others: Others,
                    with_shadow: bool = False) -> None:
        """Move the statistics to the newest learned sample: the consolidated ones
        discounted to it plus these rows at full weight; what per-candle steps learned of the
        same rows is dropped (it was a small-weight preview of them). `with_shadow`: the
        incumbent a drift response's challenge keeps aside (learning/challenge.py) takes the
        same rows, so either can win later."""
        m = self.m
        z, y = self.rows(s, rows)
        ts = s.ts[rows]
        anchor, old_anchor, newest = int(ts[-1]), int(m.stats_ts.numpy()), int(s.ts[-1])
        d = 0.5 ** ((anchor - old_anchor) / self.spec.half_life_s)
        own = self._consolidated("", d)
        pooled = others(newest).discounted(newest, anchor, self.spec.half_life_s)
        # Each candidate penalty is scored on the new rows before they are learned (rows
        # whose label overlaps one already learned are left out: purged).
        fresh = ts > old_anchor + self.spec.horizon * self.timeframe_s
        gains, powers = wide.penalty_record(own, pooled, z[fresh], y[fresh], PENALTIES)
        m.penalty_gain.assign(m.penalty_gain.numpy() * d + gains)
        m.penalty_power.assign(m.penalty_power.numpy() * d + powers)
        lam = wide.best_penalty(m.penalty_gain.numpy(), m.penalty_power.numpy(), PENALTIES,
                                float(m.ridge_lambda.numpy()))
        m.ridge_lambda.assign(lam)
        if with_shadow:
            kept = self._consolidated("shadow_", d) + wide.own_moments(
                z, y, ts, anchor, self.spec, m.shadow_wide_beta.numpy())
            self._store("shadow_", kept, wide.solve(kept + pooled, lam))
        own = own + wide.own_moments(z, y, ts, anchor, self.spec, m.wide_beta.numpy())
        self._set(own, anchor, wide.solve(own + pooled, lam))

    def _consolidated(self, prefix: str, d: float) -> wide.Moments:
        """The consolidated statistics of the wide head ("") or of the incumbent a challenge
        keeps aside ("shadow_"), times the discount `d`."""
        m = self.m
        return wide.Moments(getattr(m, prefix + "stats_a").numpy() * d,
                            getattr(m, prefix + "stats_b").numpy() * d,
                            float(getattr(m, prefix + "stats_n").numpy()) * d)

    def _store(self, prefix: str, own: wide.Moments, beta: np.ndarray) -> None:
        """Consolidated statistics and coefficients of the wide head or the incumbent; the
        recent (per-candle) statistics start again from zero."""
        m = self.m
        getattr(m, prefix + "stats_a").assign(own.a)
        getattr(m, prefix + "stats_b").assign(own.b)
        getattr(m, prefix + "stats_n").assign(own.n)
        for name in ("recent_a", "recent_b", "recent_n"):
            var = getattr(m, prefix + name)
            var.assign(tf.zeros_like(var))
        getattr(m, prefix + "wide_beta").assign(beta)

    def _set(self, own: wide.Moments, anchor: int, beta: np.ndarray) -> None:
        self._store("", own, beta)
        self.m.stats_ts.assign(anchor)
        self.state.linear_learned_ts.assign(anchor)

    def stats(self, newest_learned: int) -> LinearStats:
        """Consolidated plus recent statistics as of the moment all they hold was known (the
        newest sample's label matured `horizon` candles after it): what the pool shares."""
        m = self.m
        anchor = int(m.stats_ts.numpy())
        known = max(newest_learned, anchor) + self.spec.horizon * self.timeframe_s
        d = 0.5 ** ((known - anchor) / self.spec.half_life_s)
        return LinearStats((m.stats_a.numpy() + m.recent_a.numpy()) * d,
                           (m.stats_b.numpy() + m.recent_b.numpy()) * d,
                           float(m.stats_n.numpy() + m.recent_n.numpy()) * d, known)
