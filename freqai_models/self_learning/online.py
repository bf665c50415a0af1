"""The fused predict-then-learn step, compiled once and run over any number of candles.

For each candle i, in order: the sample stepped H candles earlier (held in the state's pending
ring) has just matured; if its label is usable and it was not learned before, the three
networks take ONE fused, guarded update on it plus a few replay samples (the feature discovery
sample weighted by the realized quality of the signal it gave then). Then candle i is
predicted with the updated weights and parked in the ring.

Live trading calls `run` with one candle at a time; a prequential backtest calls it once with a
whole window. Both run the very same traced graph, so they learn and predict identically.

Performance notes (measured with benchmarks/online.py): the step is bound by TensorFlow's
per-op overhead (~1,600 graph nodes), not arithmetic. `jit_compile=True` compiles one candle's
step with XLA (static shapes, so once per learner, whatever the block length); it is off by
default because that compile takes ~13 s per pair on 2 cores for a ~1.5x faster step. Ring
slots are read with `tf.gather`, never `variable[pos]`: a strided slice needs a compile-time
index under XLA, which made every value of `steps % horizon` a new compilation (the reason a
jit-compiled loop once compiled for more than ten minutes).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from self_learning.networks.base import all_finite
from self_learning.quality import quality_weight, signal_quality

NOVELTY_ALPHA = 0.01  # weight of the newest error in the novelty statistics (~100 candles)


class OnlineStepper:
    def __init__(self, autoencoder, discovery, liquidity, state, replay_batch: int,
                 jit_compile: bool = False):
        self.ae, self.disc, self.liq, self.state = autoencoder, discovery, liquidity, state
        self.replay_batch = int(replay_batch)
        d, f = autoencoder.input_dim, discovery.n_features
        spec = tf.TensorSpec
        # One candle's step, a function of its own so that it can be XLA-compiled as one
        # cluster with static shapes (see the module docstring); inlined when not compiled.
        self._step_fn = tf.function(self._step_packed, jit_compile=jit_compile)
        self._signature = [
            spec([None, d], tf.float32), spec([None, f], tf.float32), spec([None], tf.bool),
            spec([None], tf.int64), spec([None, 3], tf.float32), spec([None], tf.bool),
            spec([None], tf.int64), spec([None], tf.bool),
        ]
        self._run = tf.function(self._loop, input_signature=self._signature)
        self._concrete = None
        self._predict = tf.function(self._predict_rows, input_signature=self._signature[:2])
        self._predict_concrete = None

    def predict(self, windows, features) -> np.ndarray:
        """(n, 4) [s_close, liq_up, liq_down, novelty] with the weights and novelty statistics
        as they are (no state changes): the compiled serve path for `PairLearner.predict`."""
        if self._predict_concrete is None:
            self._predict_concrete = self._predict.get_concrete_function()
        return self._predict_concrete(tf.constant(windows, tf.float32),
                                      tf.constant(features, tf.float32)).numpy()

    def run(self, windows, features, input_ok, ts, targets, target_ok, target_ts, reset):
        """Step through n candles; returns a dict of (n,) numpy arrays."""
        if self._concrete is None:  # traced on first use (the store may restore variables first)
            self._concrete = self._run.get_concrete_function()
        args = (windows, features, input_ok, ts, targets, target_ok, target_ts, reset)
        # Tensors of the exact dtypes, passed positionally to the concrete function: this
        # skips tf.function's argument binding and signature matching (~1 ms per call).
        tensors = [tf.constant(a, s.dtype) for a, s in zip(args, self._signature, strict=True)]
        preds, counters, learned = self._concrete(*tensors)
        p = preds.numpy()
        return {"s_close": p[:, 0], "liq_up": p[:, 1], "liq_down": p[:, 2], "novelty": p[:, 3],
                "training_counter": counters.numpy(), "learned": learned.numpy()}

    # -- traced code below ------------------------------------------------------------------

    def fused_update(self, windows, features, targets, weights):
        """One guarded step of all three networks; returns whether it was applied."""
        latent = tf.stop_gradient(self.ae.encode(windows))
        x = tf.concat([features, latent], axis=-1)
        base = tf.cast(weights > 0, tf.float32)
        l_ae, g_ae = self.ae.gradients(windows, windows, base)
        l_d, g_d = self.disc.gradients(x, targets[:, 0], weights)
        l_l, g_l = self.liq.gradients(x, targets[:, 1:], base)
        ok = all_finite(l_ae + l_d + l_l, list(g_ae) + list(g_d) + list(g_l),
                        inputs=(windows, features, targets, weights))

        def apply():
            self.ae.apply(g_ae)
            self.disc.apply(g_d)
            self.liq.apply(g_l)
            return tf.constant(True)

        return tf.cond(ok, apply, lambda: tf.constant(False))

    def _learn_matured(self, pos, target, target_ok, target_ts):
        s = self.state
        pending_ts = tf.gather(s.pending_ts, pos)
        matured = (tf.gather(s.pending_ok, pos) > 0) & (s.steps >= s.horizon)
        fresh = pending_ts > s.last_learned_ts
        usable = matured & fresh & target_ok & tf.equal(pending_ts, target_ts)

        def learn():
            q = signal_quality(tf.gather(s.pending_pred, pos), target[0], s.quality_scale)
            rw, rf, rt, have = s.sample_replay(self.replay_batch)
            windows = tf.concat([tf.gather(s.pending_windows, pos[None]), rw], axis=0)
            feats = tf.concat([tf.gather(s.pending_features, pos[None]), rf], axis=0)
            targets = tf.concat([target[None], rt], axis=0)
            weights = tf.concat([quality_weight(q)[None], tf.fill([self.replay_batch], have)], 0)
            applied = self.fused_update(windows, feats, targets, weights)

            def commit():
                s.push_replay(windows[:1], feats[:1], target[None])
                s.training_counter.assign_add(1)
                s.last_learned_ts.assign(pending_ts)
                return tf.constant(True)

            def reject():
                s.rejected_updates.assign_add(1)
                return tf.constant(False)

            return tf.cond(applied, commit, reject)

        def skip():
            s.skipped_samples.assign_add(tf.cast(matured & fresh, tf.int64))
            return tf.constant(False)

        return tf.cond(usable, learn, skip)

    def _predict_one(self, window, feats):
        s = self.state
        w, f = window[None], feats[None]
        latent = self.ae.encode(w)
        err = tf.math.log(self.ae.reconstruction_error(w)[0] + 1e-8)
        novelty = (err - s.novelty_mean) / tf.sqrt(s.novelty_var + 1e-8)
        delta = err - s.novelty_mean
        s.novelty_mean.assign_add(NOVELTY_ALPHA * delta)
        s.novelty_var.assign((1.0 - NOVELTY_ALPHA) * (s.novelty_var + NOVELTY_ALPHA * delta**2))
        s_close = self.disc.predict(f, latent)[0]
        liq = self.liq.predict(f, latent)[0]
        return tf.stack([s_close, liq[0], liq[1], novelty])

    def _predict_rows(self, windows, feats):
        s = self.state
        latent = self.ae.encode(windows)
        err = tf.math.log(self.ae.reconstruction_error(windows) + 1e-8)
        novelty = (err - s.novelty_mean) / tf.sqrt(s.novelty_var + 1e-8)
        liq = self.liq.predict(feats, latent)
        return tf.stack([self.disc.predict(feats, latent), liq[:, 0], liq[:, 1], novelty], 1)

    def _step(self, window, feats, ok, ts, target, target_ok, target_ts, reset):
        s = self.state
        pos = s.steps % s.horizon

        def clear():
            s.skipped_samples.assign_add(tf.cast(tf.reduce_sum(s.pending_ok), tf.int64))
            s.reset_pending()
            return tf.constant(0)

        tf.cond(reset, clear, lambda: tf.constant(0))
        learned = self._learn_matured(pos, target, target_ok, target_ts)
        out = tf.cond(ok, lambda: self._predict_one(window, feats), lambda: tf.zeros([4]))
        s.skipped_samples.assign_add(tf.cast(tf.logical_not(ok), tf.int64))
        at = tf.reshape(pos, [1, 1])
        s.pending_windows.scatter_nd_update(at, window[None])
        s.pending_features.scatter_nd_update(at, feats[None])
        s.pending_pred.scatter_nd_update(at, out[:1])
        s.pending_ok.scatter_nd_update(at, tf.cast(ok, tf.float32)[None])
        s.pending_ts.scatter_nd_update(at, ts[None])
        s.steps.assign_add(1)
        s.last_seen_ts.assign(ts)
        return out, learned

    def _step_packed(self, window, feats, ok, ts, target, target_ok, target_ts, reset):
        out, did = self._step(window, feats, ok, ts, target, target_ok, target_ts, reset)
        return out, did, self.state.training_counter.read_value()

    def _loop(self, windows, features, input_ok, ts, targets, target_ok, target_ts, reset):
        n = tf.shape(ts)[0]
        preds = tf.TensorArray(tf.float32, size=n)
        counters = tf.TensorArray(tf.int64, size=n)
        learned = tf.TensorArray(tf.bool, size=n)
        for i in tf.range(n):
            out, did, counter = self._step_fn(windows[i], features[i], input_ok[i], ts[i],
                                               targets[i], target_ok[i], target_ts[i], reset[i])
            preds = preds.write(i, out)
            counters = counters.write(i, counter)
            learned = learned.write(i, did)
        return tf.reshape(preds.stack(), [-1, 4]), counters.stack(), learned.stack()


def empty_outputs() -> dict[str, np.ndarray]:
    z = np.zeros(0, dtype=np.float32)
    return {"s_close": z, "liq_up": z, "liq_down": z, "novelty": z,
            "training_counter": np.zeros(0, np.int64), "learned": np.zeros(0, bool)}
