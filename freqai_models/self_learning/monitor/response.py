"""DriftResponse: what the per-candle step does with each matured prediction (traceable).

It fills the scoreboard ring, feeds the drift detector (monitor/drift.py) the prequential
error of the return signal, and responds to an alarm once the scoreboard's rolling IC is
clearly below zero (by `drift_response_z` standard errors): the pair's wide statistics keep
only `forget` of their weight, its trust in the other pairs' statistics drops to `forget`
(recovering over a third of `drift_recovery_candles`) and the per-candle step size is boosted
to a full sample's weight (decaying over `drift_recovery_candles`), so the model re-learns
from what the market does now. An alarm while the signal still pays, or whose IC dip is
within the noise of a weak pair, is a false alarm as far as trading goes: not acted on. A
response is only a challenger: its predictions are served once they beat those of the model
it replaced (monitor/challenge.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tensorflow as tf

from self_learning.learning.settings import LearningSettings
from self_learning.monitor import drift, scoreboard
from self_learning.monitor.challenge import Challenge

if TYPE_CHECKING:
    from self_learning.learning.state import LearnerState
    from self_learning.networks.discovery import FeatureDiscoveryNetwork


class DriftResponse:
    def __init__(self, discovery: FeatureDiscoveryNetwork, state: LearnerState,
                 settings: LearningSettings, challenge: Challenge):
        self.disc, self.models = discovery, discovery.module.models
        self.state, self.s, self.challenge = state, settings, challenge

    def board(self):
        """[ic, hit_rate, band_up, band_down] of the scoreboard ring as it is."""
        st = self.state
        return scoreboard.scores(
            scoreboard.in_age_order(st.board_pred, st.board_count),
            scoreboard.in_age_order(st.board_real, st.board_count),
            tf.cast(tf.minimum(st.board_count, st.scoreboard_size), tf.int32))

    def _losing(self):
        """The rolling IC is below zero by `drift_response_z` of its standard error under no
        signal (~sqrt(H / n) for n matured samples whose H-candle labels overlap)."""
        st = self.state
        ic = self.board()[0]
        n = tf.cast(tf.maximum(tf.minimum(st.board_count, st.scoreboard_size), 1), tf.float32)
        se = tf.sqrt(tf.cast(st.horizon, tf.float32) / n)
        return tf.math.is_finite(ic) & (ic < -self.s.drift_response_z * se)

    def matured(self, pred, real, challenger):
        """Record one matured sample ([s_close, liq_up, liq_down] served and realized;
        `challenger`: the challenger's s_close in target-spread units, which differs from the
        served one while a challenge serves the incumbent); returns whether the drift
        detector, which watches the model that learns, raised an alarm on it."""
        s, st = self.s, self.state
        st.push_board(pred, real)
        p, y = challenger, self.disc.scaled_target(real[0])
        spread = drift.prediction_spread(st.drift)
        var = spread + s.pred_var_alpha * (p * p - spread)
        ph, alarm = drift.page_hinkley(drift.detector_state(st.drift), drift.signal(p, y, var),
                                       delta=s.drift_delta, threshold=s.drift_threshold,
                                       alpha=s.drift_alpha, min_instances=s.drift_min_instances)
        st.drift.assign(drift.packed(ph, var))
        st.boost.assign(st.boost * s.boost_decay)
        st.pool_trust.assign(1.0 - (1.0 - st.pool_trust) * s.trust_decay)
        st.drift_alarms.assign_add(tf.cast(alarm, tf.int64))
        # Samples since an alarm not acted on yet (-1: none pending); it expires after
        # `scoreboard_size` matured samples.
        age = tf.where(alarm, 0.0, tf.where(st.alarm_age >= 0.0, st.alarm_age + 1.0, -1.0))
        age = tf.where(age > float(st.scoreboard_size), -1.0, age)
        if s.drift_response:  # the challenger of a response on trial is not forgotten again
            age = tf.cond((age >= 0.0) & tf.logical_not(self.challenge.active()),
                          lambda: tf.cond(self._losing(), self._respond, lambda: age),
                          lambda: age)
        st.alarm_age.assign(age)
        return alarm

    def _respond(self):
        s, st = self.s, self.state
        self.challenge.begin()  # the model as it is now keeps competing
        self.models.challenger.keep_only(s.forget)
        st.boost.assign(1.0)
        st.pool_trust.assign(s.forget)
        st.drift_responses.assign_add(1)
        return tf.constant(-1.0)
