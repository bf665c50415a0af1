"""The one learning path: every update of the three networks and the wide head, compiled.

* `guarded_update(batch, lr_scale)`: one gradient step of the three networks (autoencoder
  reconstruction, the discovery network's deep head on the wide head's residual, liquidity),
  through one GradientTape; rejected whole, leaving weights and optimizer state untouched,
  when any input, loss or gradient is not finite. Full fits and incremental fits run it over
  mini-batches (`epoch`), the per-candle step once per `network_batch` matured samples, on
  those samples plus replay.
* The wide head learns through `ridge.moments` / `ridge.solve` in all three paths too.
* `step_block`: the fused predict-then-learn loop over up to BLOCK_CAPACITY candles, compiled
  by XLA once per network shape and shared by every pair (shared_program.py). Live trading
  calls it with one candle; a prequential backtest with whole windows: the same program, so
  both learn and predict bit-identically.
* `predict_rows`: the serving forward pass, the same the step and the SavedModels use.

For candle i the step first learns the sample parked H candles earlier (its label has just
matured) if it is usable and newer than the last sample learned: the wide head's recent
statistics (weight `wide_online_weight`, 0 by default: between trainings the wide head only
follows the other pairs' statistics; a full sample's weight after a drift response), the
scoreboard, a drift response's challenge (monitor/challenge.py), the drift detector and the
replay memory; every `network_batch`-th learned sample (by the training counter, so a restart
resumes the same batches) one guarded update of the networks on the newest samples of the
replay memory (learning rate scaled by `online_weight` per sample, raised the same way); then
the wide head's coefficients follow its statistics (while they can move between trainings,
returns/online.py) and it predicts candle i. A sample with a non-finite input is not learned.

XLA notes from this loop's history: ring slots are read with `tf.gather` (a strided slice
needs a compile-time index), and flags in the int64 input are compared one by one
(`stamps[INPUT_OK] > 0`; a bool vector sliced out of it once compiled to a loop that never learned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from self_learning.candles.features import TARGET_NAMES
from self_learning.candles.predictions import OUTPUTS
from self_learning.learning import novelty as novelty_stats
from self_learning.learning.quality import quality_weight, signal_quality
from self_learning.learning.settings import LearningSettings
from self_learning.monitor.challenge import Challenge
from self_learning.monitor.response import DriftResponse
from self_learning.networks.base import all_finite
from self_learning.returns.moments import Moments
from self_learning.returns.online import OnlineRidge

if TYPE_CHECKING:
    from self_learning.learning.state import LearnerState
    from self_learning.networks.pair_networks import PairNetworks

BLOCK_CAPACITY = 64  # candles per call of the compiled loop (inputs are padded to it)
# The per-candle step's packed inputs, one row per candle: CompiledPrograms.run packs them,
# step_block unpacks them, and both name the columns through these only. The int row holds
# STAMPS in this order; the float row is [window | features | targets] (StepRow).
STAMPS = ("ts", "target_ts", "input_ok", "target_ok", "reset")
TS, TARGET_TS, INPUT_OK, TARGET_OK, RESET = range(len(STAMPS))


@dataclass(frozen=True)
class StepRow:
    """Where a packed float row keeps a candle's window, features and matured targets."""

    window_dim: int
    n_features: int

    @property
    def window(self) -> slice:
        return slice(None, self.window_dim)

    @property
    def features(self) -> slice:
        return slice(self.window_dim, self.window_dim + self.n_features)

    @property
    def targets(self) -> slice:
        return slice(self.window_dim + self.n_features, None)

    @property
    def width(self) -> int:
        return self.window_dim + self.n_features + len(TARGET_NAMES)


class Programs:
    """The traceable learning and prediction code of one pair's networks and state."""

    def __init__(self, nets: PairNetworks, state: LearnerState, settings: LearningSettings):
        self.nets, self.state, self.s = nets, state, settings
        self.ae, self.disc, self.liq = nets.autoencoder, nets.discovery, nets.liquidity
        self.d, self.f = self.ae.input_dim, self.disc.n_features
        self.step_row = StepRow(self.d, self.f)
        self._latent_on = 1.0 if settings.use_latent else 0.0
        self.ridge = OnlineRidge(self.disc, state, settings)
        self.challenge = Challenge(self.disc.module.models, state, settings.drift_challenge,
                                   settings.challenge_expiry)
        self.adapt = DriftResponse(self.disc, state, settings, self.challenge)

    # -- forward ------------------------------------------------------------------------------

    def latent(self, windows, training=False):
        latent, errors = self.ae.forward(windows, training=training)
        return latent, errors

    def outputs(self, windows, features):
        """(n, 4) [s_close, liq_up, liq_down, novelty], (n,) log reconstruction errors, (n, 2)
        the challenger's and incumbent's s_close in target-spread units (monitor/challenge.py)."""
        latent, errors = self.latent(windows)
        lat = latent * self._latent_on
        log_error = tf.math.log(errors + novelty_stats.EPS)
        novelty = ((log_error - self.state.novelty_mean)
                   / tf.sqrt(self.state.novelty_var + novelty_stats.EPS))
        liq = self.liq.predict(features, lat)
        served, challenger, incumbent = self.disc.predictions(features, lat)
        s_close = served * self.disc.module.output_scale[0]
        out = tf.stack([s_close, liq[:, 0], liq[:, 1], novelty], axis=1)
        return out, log_error, tf.stack([challenger, incumbent], axis=1)

    def predict_rows(self, windows, features):
        return self.outputs(windows, features)[0]

    # -- the one guarded update ---------------------------------------------------------------

    def guarded_update(self, windows, features, targets, weights, disc_weights, lr_scale,
                       with_losses: bool = False):
        """One gradient step of the three networks on a batch; True when applied (and, with
        `with_losses`, the batch's losses [autoencoder, discovery deep head, liquidity])."""
        nets = [n for n in self.nets.in_order() if n is not self.disc or self.s.train_deep]
        variables = [v for net in nets for v in net.trainable_variables()]
        with tf.GradientTape() as tape:
            latent, errors = self.latent(windows, training=True)
            lat = tf.stop_gradient(latent) * self._latent_on
            l_ae = self.ae.loss(errors, weights)
            l_liq = self.liq.loss(features, lat, targets[:, 1:], weights)
            l_disc = self.disc.loss(features, lat, targets[:, 0], disc_weights)
            losses = [l_ae + self.ae.regularisation(), l_liq + self.liq.regularisation()]
            if self.s.train_deep:
                losses.append(l_disc + self.disc.regularisation())
            total = tf.add_n(losses)
        grads = tape.gradient(total, variables)
        ok = all_finite([windows, features, targets, weights, disc_weights, total, *grads])

        def apply():
            start = 0
            for net in nets:
                count = len(net.trainable_variables())
                net.apply(grads[start : start + count], lr_scale)
                start += count
            return tf.constant(True)

        applied = tf.cond(ok, apply, lambda: tf.constant(False))
        if with_losses:
            return applied, tf.stack([l_ae, l_disc, l_liq])
        return applied

    def epoch(self, windows, features, targets, weights, order, n, val, batch_size: int):
        """One pass over the first `n` rows in `order` (rows padded to a static capacity, as
        XLA needs), mini-batches of `batch_size` (the last one padded with zero-weight rows),
        then the validation losses on `val` (windows, features, targets, weights; padding
        weighted 0). Returns (updates applied, losses): a rejected batch changes nothing."""
        batches = (n + batch_size - 1) // batch_size
        capacity = tf.shape(order)[0]
        offsets = tf.range(batch_size)

        def body(i, applied):
            pos = i * batch_size + offsets
            idx = tf.gather(order, tf.minimum(pos, capacity - 1))
            w = tf.gather(weights, idx) * tf.cast(pos < n, tf.float32)
            done = self.guarded_update(tf.gather(windows, idx), tf.gather(features, idx),
                                       tf.gather(targets, idx), w, w, 1.0)
            return i + 1, applied + tf.cast(done, tf.int32)

        _, applied = tf.while_loop(lambda i, _: i < batches, body, (0, 0))
        return applied, self.losses(*val)

    def trainable_values(self):
        """The three networks' trainable weights, in order (one call instead of one read per
        variable: a fit keeps its best epoch's weights)."""
        return [tf.identity(v) for net in self.nets.in_order()
                for v in net.trainable_variables()]

    def losses(self, windows, features, targets, weights):
        """Validation losses [autoencoder, discovery deep head, liquidity] (no regularisers)."""
        latent, errors = self.latent(windows)
        lat = latent * self._latent_on
        return tf.stack([self.ae.loss(errors, weights),
                         self.disc.loss(features, lat, targets[:, 0], weights),
                         self.liq.loss(features, lat, targets[:, 1:], weights)])

    # -- the per-candle step ------------------------------------------------------------------

    def _learn_matured(self, pos, target, target_ok, target_ts):
        s, st = self.s, self.state
        pending_ts = tf.gather(st.pending_ts, pos)
        matured = (tf.gather(st.pending_ok, pos) > 0) & (st.steps >= st.horizon)
        fresh = pending_ts > st.last_learned_ts
        usable = matured & fresh & target_ok & tf.equal(pending_ts, target_ts)

        def learn():
            pred = tf.gather(st.pending_preds, pos)
            feats = tf.gather(st.pending_features, pos)
            window = tf.gather(st.pending_windows, pos)
            step = s.online_weight + (1.0 - s.online_weight) * st.boost
            wide_step = s.wide_online_weight + (1.0 - s.wide_online_weight) * st.boost
            quality = quality_weight(signal_quality(pred[0], target[0], st.quality_scale))
            disc_w = quality if s.quality_weighting else tf.constant(1.0)

            def commit():
                self.ridge.learn(feats, target[0], pending_ts, wide_step * disc_w)
                pending = self.challenge.pending(pos)
                self.challenge.score(pending, self.disc.scaled_target(target[0]))
                alarm = self.adapt.matured(pred, target, pending.challenger)
                st.push_replay(window[None], feats[None], target[None])
                st.training_counter.assign_add(1)
                st.last_learned_ts.assign(pending_ts)
                st.last_learned_step.assign(st.steps)
                return alarm

            def reject():
                st.rejected_updates.assign_add(1)
                return tf.constant(False)

            finite = all_finite([window, feats, target])
            alarm = tf.cond(finite, commit, reject)
            due = finite & tf.equal(st.training_counter % s.network_batch, 0)
            losses = tf.cond(due, lambda: self._network_step(step),
                             lambda: tf.fill([3], float("nan")))
            return alarm, tf.constant(True), losses

        def skip():
            st.skipped_samples.assign_add(tf.cast(matured & fresh, tf.int64))
            return tf.constant(False), tf.constant(False), tf.fill([3], float("nan"))

        return tf.cond(usable, learn, skip)

    def _network_step(self, step):
        """One guarded update of the three networks on the `network_batch` newest samples of
        the replay memory (the ones the step learned last; right after a training, some of its
        newest rows) plus `replay_batch` drawn from it, at `network_batch` times the per-candle
        learning-rate scale `step` (at most a training's): one step per batch of matured
        samples instead of one per sample. Returns the batch's losses; a rejected update
        changes no weight and is counted."""
        s, st, k = self.s, self.state, self.s.network_batch
        back = st.replay_count - k + tf.range(k, dtype=tf.int64)  # the k newest, oldest first
        newest = back % st.replay_size
        rw, rf, rt, have = st.sample_replay(s.replay_batch)
        windows = tf.concat([tf.gather(st.replay_windows, newest), rw], axis=0)
        features = tf.concat([tf.gather(st.replay_features, newest), rf], axis=0)
        targets = tf.concat([tf.gather(st.replay_targets, newest), rt], axis=0)
        weights = tf.concat([tf.cast(back >= 0, tf.float32), tf.fill([s.replay_batch], have)], 0)
        applied, losses = self.guarded_update(windows, features, targets, weights, weights,
                                              tf.minimum(k * step, 1.0), with_losses=True)
        st.rejected_updates.assign_add(tf.cast(tf.logical_not(applied), tf.int64))
        return losses

    def _predict_one(self, window, feats):
        """Predict one candle, then fold its reconstruction error into the novelty stats;
        returns [s_close, liq_up, liq_down, novelty, challenger's, incumbent's s_close]."""
        st, a = self.state, self.s.novelty_alpha
        out, log_error, both = self.outputs(window[None], feats[None])
        mean, var = novelty_stats.fold(st.novelty_mean, st.novelty_var, log_error[0], a)
        st.novelty_mean.assign(mean)
        st.novelty_var.assign(var)
        return tf.concat([out[0], both[0]], 0)

    def _step(self, window, feats, ok, ts, target, target_ok, target_ts, reset, others):
        st = self.state
        pos = st.steps % st.horizon

        def clear():
            st.skipped_samples.assign_add(tf.cast(tf.reduce_sum(st.pending_ok), tf.int64))
            st.reset_pending()
            return tf.constant(0)

        tf.cond(reset, clear, lambda: tf.constant(0))
        alarm, learned, losses = self._learn_matured(pos, target, target_ok, target_ts)
        self.ridge.follow(ts, others)
        both = tf.cond(ok, lambda: self._predict_one(window, feats), lambda: tf.zeros([6]))
        out = both[:4]
        self.challenge.remember(pos, both[4], both[5])
        st.skipped_samples.assign_add(tf.cast(tf.logical_not(ok), tf.int64))
        at = tf.reshape(pos, [1, 1])
        st.pending_windows.scatter_nd_update(at, window[None])
        st.pending_features.scatter_nd_update(at, feats[None])
        st.pending_preds.scatter_nd_update(at, out[None, :3])
        st.pending_ok.scatter_nd_update(at, tf.cast(ok, tf.float32)[None])
        st.pending_ts.scatter_nd_update(at, ts[None])
        st.steps.assign_add(1)
        st.last_seen_ts.assign(ts)
        since = tf.cast(st.steps - 1 - st.last_learned_step, tf.float32)
        board_n = tf.cast(tf.minimum(st.board_count, st.scoreboard_size), tf.float32)
        row = tf.concat([out, self.adapt.board(), tf.cast(alarm, tf.float32)[None], since[None],
                         losses, board_n[None], self.challenge.served()[None]], 0)
        return row, learned

    def step_block(self, n, floats, ints, others_a, others_b, others_n, others_ts):
        """Steps the first n of BLOCK_CAPACITY packed, padded candles (static shapes, as XLA
        needs): floats as StepRow lays them out, ints the STAMPS; the other pairs' statistics
        as known at `others_ts`; returns outputs (C, len(OUTPUTS)) and [counter, learned]
        (C, 2)."""
        at = self.step_row
        others = Moments(others_a, others_b, others_n, others_ts)
        rows = tf.TensorArray(tf.float32, size=BLOCK_CAPACITY, element_shape=[len(OUTPUTS)])
        status = tf.TensorArray(tf.int64, size=BLOCK_CAPACITY, element_shape=[2])

        def body(i, rows, status):
            row, stamps = floats[i], ints[i]
            out, did = self._step(row[at.window], row[at.features], stamps[INPUT_OK] > 0,
                                  stamps[TS], row[at.targets], stamps[TARGET_OK] > 0,
                                  stamps[TARGET_TS], stamps[RESET] > 0, others)
            counter = self.state.training_counter.read_value()
            return i + 1, rows.write(i, out), status.write(
                i, tf.stack([counter, tf.cast(did, tf.int64)]))

        _, rows, status = tf.while_loop(lambda i, *_: i < n, body, (tf.constant(0), rows, status))
        return rows.stack(), status.stack()


def empty_outputs() -> dict[str, np.ndarray]:
    z = np.zeros(0, dtype=np.float32)
    return {**{name: z for name in OUTPUTS}, "training_counter": np.zeros(0, np.int64),
            "learned": np.zeros(0, bool)}
