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
the challenger's only while its record is better. Two options, both off by default (docs/hourly.md,
fifth round): `challenge_gain_record` scores a sample by the challenger's covariance gain over
the incumbent, (challenger - incumbent) x outcome, which does not reward shrinking towards 0 as
a loss difference does; `challenge_blend` serves w x challenger + (1 - w) x incumbent with
w = Phi(record's z) (the z a training settles with; 0.5 at the start) instead of the better
one alone. A FreqAI training settles it once the record
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


def gain(challenger, incumbent, outcome, gain_record: bool):
    """What one matured sample adds to the challenge record (target-spread units; > 0: the
    challenger did better): the incumbent's Huber loss minus the challenger's, or with
    `gain_record` the challenger's covariance gain over the incumbent (traceable)."""
    if gain_record:
        return (challenger - incumbent) * outcome
    y, one = outcome[None, None], tf.ones([1])
    return (weighted_huber(y, incumbent[None, None], one)
            - weighted_huber(y, challenger[None, None], one))


def incumbent_share(active, record, power, horizon: int, blend: bool):
    """The incumbent's share of the served prediction (traceable): outside a challenge 0;
    during one, 1 while the record is <= 0 and 0 once it is > 0, or with `blend`
    1 - Phi(z), z = record / sqrt(H x power) as `Challenge.settle` measures it (0.5 at z = 0,
    before any sample was scored)."""
    if not blend:
        return tf.where(active & (record <= 0.0), 1.0, 0.0)
    z = tf.math.divide_no_nan(record, tf.sqrt(float(horizon) * power))
    return tf.where(active, 0.5 * tf.math.erfc(z / np.sqrt(2.0)), 0.0)


class Challenge:
    def __init__(self, models: ReturnModels, state: LearnerState, enabled: bool, expiry: int,
                 blend: bool = False, gain_record: bool = False):
        self.models, self.state, self.enabled, self.expiry = models, state, enabled, expiry
        self.blend, self.gain_record = blend, gain_record

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
            r.serve_incumbent.assign(0.5 if self.blend else 1.0)
            return tf.constant(0)

        tf.cond(self.active(), lambda: tf.constant(0), keep_incumbent)

    def pending(self, pos) -> Pending:
        """The predictions parked in ring slot `pos` (traceable)."""
        return Pending.of(tf.gather(self.state.pending_rival, pos))

    def score(self, pending: Pending, target_scaled):
        """Score a matured sample if it was predicted during the challenge, and set what is
        served: whichever of the two leads, or their blend (traceable)."""
        if not self.enabled:
            return
        r, st = self.models, self.state
        g = gain(pending.challenger, pending.incumbent, target_scaled, self.gain_record)
        counted = (pending.in_challenge > 0.5) & self.active() & tf.math.is_finite(g)
        st.challenge_record.assign_add(tf.where(counted, g, 0.0))
        st.challenge_power.assign_add(tf.where(counted, g * g, 0.0))
        st.challenge_samples.assign_add(tf.where(counted, 1.0, 0.0))
        r.serve_incumbent.assign(incumbent_share(self.active(), st.challenge_record,
                                                 st.challenge_power, st.horizon, self.blend))

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
