"""Challenge: a drift response has to beat the model it replaced before its predictions are used.

A drift response (learning/adaptation.py) forgets most of the pair's wide statistics and
re-learns fast from what the market does now. After a real change of regime that is what
adapts (the flip benchmark); after a false alarm it throws away good statistics. So a response
starts a challenge instead of taking over:

* the incumbent: the wide head exactly as it was before the response (coefficients, its
  statistics, the pool trust and step boost), kept aside and frozen;
* the challenger: the responded wide head, which goes on learning per candle.

Both predict every candle (the deep head's part, when blended in, is common to both). When a
sample predicted during the challenge matures, the challenge record adds the incumbent's Huber
loss minus the challenger's (in units of the pair's target spread): the prediction served is
the challenger's only while its record is better. A FreqAI training settles it once the record
is decisive, more than DECISIVE_Z standard errors from 0 (the samples' H-candle labels
overlap, so the error of a sum of n of them is ~sqrt(H * sum of squares)), or once `expiry`
samples were scored (then by its sign): it keeps the challenger, or restores the incumbent.
While it is on, the drift detector watches the challenger's own predictions (the model that
learns) and no further response forgets it again. Until it is settled the challenge goes on
across trainings, each of which consolidates its new rows
into both (WideHead.consolidate): a training may come a few hours after a real change, before
it shows. Nothing is lost either way: the samples stepped during the challenge are learned at
full weight by the trainings.

Everything here is traceable (it runs inside the compiled per-candle loop) except `settle`,
which a training calls eagerly; its state lives in the discovery module and the learner state,
so a checkpoint holds a challenge in progress and a restart resumes it bit for bit.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from self_learning.networks.base import weighted_huber

DECISIVE_Z = 1.0  # standard errors from 0 at which a training settles a challenge
WIDE = ("stats_a", "stats_b", "stats_n", "recent_a", "recent_b", "recent_n", "wide_beta")


class Challenge:
    def __init__(self, wide_module, state, enabled: bool, expiry: int):
        self.m, self.state, self.enabled, self.expiry = wide_module, state, enabled, expiry

    def active(self):
        return self.state.challenge_on > 0.5

    def begin(self):
        """Called by a drift response before it changes anything (traceable)."""
        if not self.enabled:
            return
        m, st = self.m, self.state

        def keep_incumbent():
            for name in WIDE:
                getattr(m, "shadow_" + name).assign(getattr(m, name))
            st.shadow_trust.assign(st.pool_trust)
            st.shadow_boost.assign(st.boost)
            st.challenge_record.assign(0.0)
            st.challenge_power.assign(0.0)
            st.challenge_samples.assign(0.0)
            st.challenge_on.assign(1.0)
            m.serve_shadow.assign(1.0)
            return tf.constant(0)

        tf.cond(self.active(), lambda: tf.constant(0), keep_incumbent)

    def score(self, rival, target_scaled):
        """Score a matured sample (`rival`: its pending_rival row [challenger's, incumbent's
        prediction, predicted during the challenge]) if it was predicted during the challenge,
        and serve whichever of the two leads (traceable)."""
        if not self.enabled:
            return
        m, st = self.m, self.state
        y = target_scaled[None, None]
        one = tf.ones([1])
        gain = (weighted_huber(y, rival[1][None, None], one)
                - weighted_huber(y, rival[0][None, None], one))
        counted = (rival[2] > 0.5) & self.active() & tf.math.is_finite(gain)
        st.challenge_record.assign_add(tf.where(counted, gain, 0.0))
        st.challenge_power.assign_add(tf.where(counted, gain * gain, 0.0))
        st.challenge_samples.assign_add(tf.where(counted, 1.0, 0.0))
        m.serve_shadow.assign(tf.where(self.active() & (st.challenge_record <= 0.0), 1.0, 0.0))

    def remember(self, pos, challenger, incumbent):
        """Park both predictions of the candle in ring slot `pos` (traceable)."""
        flag = tf.where(self.active(), 1.0, 0.0)
        at = tf.reshape(pos, [1, 1])
        self.state.pending_rival.scatter_nd_update(
            at, tf.stack([challenger, incumbent, flag])[None])

    def settle(self) -> str | None:
        """At a training, before its rows are consolidated: "kept" (the challenger stays, the
        challenge ends), "restored" (the incumbent is back, the challenge ends), "on trial"
        (not decisive yet: it goes on), None when no challenge was on (eager)."""
        m, st = self.m, self.state
        if float(st.challenge_on.numpy()) < 0.5:
            return None
        record, power = float(st.challenge_record.numpy()), float(st.challenge_power.numpy())
        margin = DECISIVE_Z * np.sqrt(st.horizon * power)
        if abs(record) <= margin and float(st.challenge_samples.numpy()) < self.expiry:
            return "on trial"
        restored = record <= 0.0
        if restored:
            for name in WIDE:
                getattr(m, name).assign(getattr(m, "shadow_" + name))
            st.pool_trust.assign(st.shadow_trust)
            st.boost.assign(st.shadow_boost)
            st.responses_undone.assign_add(1)
        self.clear()
        return "restored" if restored else "kept"

    def clear(self) -> None:
        st = self.state
        st.challenge_on.assign(0.0)
        st.challenge_record.assign(0.0)
        st.challenge_power.assign(0.0)
        st.challenge_samples.assign(0.0)
        self.m.serve_shadow.assign(0.0)
        # Pending samples no longer count for a challenge (their predictions stay: the drift
        # detector reads the challenger's own when they mature).
        st.pending_rival.assign(st.pending_rival * tf.constant([1.0, 1.0, 0.0]))
