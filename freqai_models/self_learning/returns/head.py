"""WideHead: the training-time life of the discovery network's wide head.

Its state lives in the discovery module's variables (networks/discovery.py) and the learner
state's `linear_learned_ts`; this class moves it: the first fit from a window (Huber IRLS,
plus what the other pairs know), consolidation of each later training's new rows (choosing
the ridge penalty by every candidate's record on those rows before they are learned), and
the statistics the pool shares. The arithmetic is returns/ridge.py's, through wide.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from self_learning.candles.samples import Samples
from self_learning.candles.timeline import NEVER
from self_learning.learning.state import read_scalar
from self_learning.monitor import drift
from self_learning.returns import ridge
from self_learning.returns.models import PENALTIES, RidgeModel
from self_learning.returns.moments import Moments, discount

if TYPE_CHECKING:
    from self_learning.learning.state import LearnerState
    from self_learning.networks.discovery import FeatureDiscoveryNetwork

Others = Callable[[int], Moments]  # what the other pairs knew at a time


class WideHead:
    def __init__(self, discovery: FeatureDiscoveryNetwork, state: LearnerState,
                 spec: ridge.WideSpec, timeframe_s: int):
        self.disc, self.models, self.state = discovery, discovery.module.models, state
        self.spec, self.timeframe_s = spec, int(timeframe_s)

    @property
    def ready(self) -> bool:
        """Whether it has learned anything (not after an upgrade from a layout without it,
        until the next training)."""
        return int(read_scalar(self.state.linear_learned_ts)) != NEVER

    def forget_everything(self) -> None:
        self.state.linear_learned_ts.assign(NEVER)

    def rows(self, s: Samples, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, y): standardised features and targets in units of the target spread."""
        z = self.disc.wide_inputs(s.features[rows]).numpy()
        y = self.disc.scaled_target(s.targets[rows, 0]).numpy()
        return z, y

    def fit_train_part(self, s: Samples, rows: np.ndarray, others: Moments) -> None:
        """Coefficients from `rows` only (the deep head learns the residual of a wide head
        that has not seen the validation tail)."""
        z, y = self.rows(s, rows)
        ts = s.ts[rows]
        r = self.models
        r.challenger.beta.assign(ridge.irls(z, y, ts, int(ts[-1]), self.spec,
                                           float(r.ridge_lambda.numpy()), others))

    def first_fit(self, s: Samples, rows: np.ndarray, others: Moments) -> None:
        """From scratch on the window's rows plus the pool: Huber IRLS, then statistics
        anchored at the newest row."""
        z, y = self.rows(s, rows)
        ts = s.ts[rows]
        anchor = int(ts[-1])
        lam = float(self.models.ridge_lambda.numpy())
        beta = ridge.irls(z, y, ts, anchor, self.spec, lam, others)
        own = ridge.own_moments(z, y, ts, anchor, self.spec, beta)
        pooled = others.discounted(int(s.ts[-1]), anchor, self.spec.half_life_s)
        solved = ridge.solve_moments(own + pooled, lam)
        # The drift detector's scale of the prediction starts from its in-sample spread,
        # checked before anything is set.
        p = ridge.row_predictions(z, solved)
        spread = drift.checked_spread(float(np.mean(p * p)))
        self._set(own, anchor, solved)
        drift.set_prediction_spread(self.state.drift, spread)

    def consolidate(self, s: Samples, rows: np.ndarray, others: Others,
                    with_incumbent: bool = False) -> None:
        """Move the statistics to the newest learned sample: the consolidated ones
        discounted to it plus these rows at full weight; what per-candle steps learned of the
        same rows is dropped (it was a small-weight preview of them). `with_incumbent`: the
        incumbent a drift response's challenge keeps aside (monitor/challenge.py) takes the
        same rows, so either can win later."""
        r = self.models
        z, y = self.rows(s, rows)
        ts = s.ts[rows]
        anchor, old_anchor, newest = int(ts[-1]), int(r.stats_ts.numpy()), int(s.ts[-1])
        d = discount(anchor - old_anchor, self.spec.half_life_s)
        own = self._consolidated(r.challenger, d)
        pooled = others(newest).discounted(newest, anchor, self.spec.half_life_s)
        # Each candidate penalty is scored on the new rows before they are learned (rows
        # whose label overlaps one already learned are left out: purged).
        fresh = ts > old_anchor + self.spec.horizon * self.timeframe_s
        gains, powers = ridge.penalty_record(own, pooled, z[fresh], y[fresh], PENALTIES)
        r.penalty_gain.assign(r.penalty_gain.numpy() * d + gains)
        r.penalty_power.assign(r.penalty_power.numpy() * d + powers)
        lam = ridge.best_penalty(r.penalty_gain.numpy(), r.penalty_power.numpy(), PENALTIES,
                                float(r.ridge_lambda.numpy()))
        r.ridge_lambda.assign(lam)
        if with_incumbent:
            kept = self._consolidated(r.incumbent, d) + ridge.own_moments(
                z, y, ts, anchor, self.spec, r.incumbent.beta.numpy())
            self._store(r.incumbent, kept, ridge.solve_moments(kept + pooled, lam))
        own = own + ridge.own_moments(z, y, ts, anchor, self.spec, r.challenger.beta.numpy())
        self._set(own, anchor, ridge.solve_moments(own + pooled, lam))

    @staticmethod
    def _consolidated(model: RidgeModel, d: float) -> Moments:
        """The consolidated statistics of a ridge model, times the discount `d`."""
        return Moments(model.stats_a.numpy() * d, model.stats_b.numpy() * d,
                            float(model.stats_n.numpy()) * d)

    @staticmethod
    def _store(model: RidgeModel, own: Moments, beta: np.ndarray) -> None:
        """Consolidated statistics and coefficients of a ridge model; its recent (per-candle)
        statistics start again from zero."""
        model.stats_a.assign(own.a)
        model.stats_b.assign(own.b)
        model.stats_n.assign(own.n)
        for var in (model.recent_a, model.recent_b, model.recent_n):
            var.assign(tf.zeros_like(var))
        model.beta.assign(beta)

    def _set(self, own: Moments, anchor: int, beta: np.ndarray) -> None:
        self._store(self.models.challenger, own, beta)
        self.models.stats_ts.assign(anchor)
        self.state.linear_learned_ts.assign(anchor)

    def stats(self, newest_learned: int) -> Moments:
        """Consolidated plus recent statistics as of the moment all they hold was known (the
        newest sample's label matured `horizon` candles after it): what the pool shares."""
        r, c = self.models, self.models.challenger
        anchor = int(r.stats_ts.numpy())
        known = max(newest_learned, anchor) + self.spec.horizon * self.timeframe_s
        d = discount(known - anchor, self.spec.half_life_s)
        return Moments((c.stats_a.numpy() + c.recent_a.numpy()) * d,
                       (c.stats_b.numpy() + c.recent_b.numpy()) * d,
                       float(c.stats_n.numpy() + c.recent_n.numpy()) * d, known)
