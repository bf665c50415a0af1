"""Challenge: a drift response has to beat the model it replaced before its predictions are used.

A drift response (monitor/response.py) forgets most of the pair's wide statistics and
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
which a training calls eagerly; its state lives in the return models (returns/models.py) and
the learner state (whose checkpoint names keep the old word: `shadow_trust`, `shadow_boost`,
`pending_rival` are the incumbent's trust, boost and the ring of both predictions), so a
checkpoint holds a challenge in progress and a restart resumes it bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from self_learning.networks.base import weighted_huber
from self_learning.returns.models import ReturnModels

if TYPE_CHECKING:
    from self_learning.learning.state import LearnerState

DECISIVE_Z = 1.0  # standard errors from 0 at which a training settles a challenge


@dataclass(frozen=True)
class Pending:
    """Both predictions of a pending candle (target-spread units) and whether it was
    predicted during a challenge: one row of LearnerState.pending_rival (the ring's columns
    are spelled here only)."""

    challenger: tf.Tensor
    incumbent: tf.Tensor
    in_challenge: tf.Tensor

    @staticmethod
    def of(row) -> Pending:
        return Pending(row[0], row[1], row[2])

    def row(self) -> tf.Tensor:
        return tf.stack([self.challenger, self.incumbent, self.in_challenge])


_PREDICTIONS_ONLY = (1.0, 1.0, 0.0)  # a ring row with its challenge flag cleared


class Challenge:
    def __init__(self, models: ReturnModels, state: LearnerState, enabled: bool, expiry: int):
        self.models, self.state, self.enabled, self.expiry = models, state, enabled, expiry

    def active(self):
        return self.state.challenge_on > 0.5

    def begin(self):
        """Called by a drift response before it changes anything (traceable)."""
        if not self.enabled:
            return
        r, st = self.models, self.state

        def keep_incumbent():
            r.incumbent.take(r.challenger)
            st.shadow_trust.assign(st.pool_trust)
            st.shadow_boost.assign(st.boost)
            st.challenge_record.assign(0.0)
            st.challenge_power.assign(0.0)
            st.challenge_samples.assign(0.0)
            st.challenge_on.assign(1.0)
            r.serve_incumbent.assign(1.0)
            return tf.constant(0)

        tf.cond(self.active(), lambda: tf.constant(0), keep_incumbent)

    def pending(self, pos) -> Pending:
        """The predictions parked in ring slot `pos` (traceable)."""
        return Pending.of(tf.gather(self.state.pending_rival, pos))

    def score(self, pending: Pending, target_scaled):
        """Score a matured sample if it was predicted during the challenge, and serve
        whichever of the two leads (traceable)."""
        if not self.enabled:
            return
        r, st = self.models, self.state
        y = target_scaled[None, None]
        one = tf.ones([1])
        gain = (weighted_huber(y, pending.incumbent[None, None], one)
                - weighted_huber(y, pending.challenger[None, None], one))
        counted = (pending.in_challenge > 0.5) & self.active() & tf.math.is_finite(gain)
        st.challenge_record.assign_add(tf.where(counted, gain, 0.0))
        st.challenge_power.assign_add(tf.where(counted, gain * gain, 0.0))
        st.challenge_samples.assign_add(tf.where(counted, 1.0, 0.0))
        r.serve_incumbent.assign(
            tf.where(self.active() & (st.challenge_record <= 0.0), 1.0, 0.0))

    def remember(self, pos, challenger, incumbent):
        """Park both predictions of the candle in ring slot `pos` (traceable)."""
        flag = tf.where(self.active(), 1.0, 0.0)
        at = tf.reshape(pos, [1, 1])
        self.state.pending_rival.scatter_nd_update(
            at, Pending(challenger, incumbent, flag).row()[None])

    def settle(self) -> str | None:
        """At a training, before its rows are consolidated: "kept" (the challenger stays, the
        challenge ends), "restored" (the incumbent is back, the challenge ends), "on trial"
        (not decisive yet: it goes on), None when no challenge was on (eager)."""
        r, st = self.models, self.state
        if float(st.challenge_on.numpy()) < 0.5:
            return None
        record, power = float(st.challenge_record.numpy()), float(st.challenge_power.numpy())
        margin = DECISIVE_Z * np.sqrt(st.horizon * power)
        if abs(record) <= margin and float(st.challenge_samples.numpy()) < self.expiry:
            return "on trial"
        restored = record <= 0.0
        if restored:
            r.challenger.take(r.incumbent)
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
        self.models.serve_incumbent.assign(0.0)
        # Pending samples no longer count for a challenge (their predictions stay: the drift
        # detector reads the challenger's own when they mature).
        st.pending_rival.assign(st.pending_rival * tf.constant(_PREDICTIONS_ONLY))
