"""The fused predict-then-learn step, compiled once and run over any number of candles.

For each candle i, in order: the sample stepped H candles earlier (held in the state's pending
ring) has just matured; if its label is usable and it was not learned before, the three
networks take ONE fused, guarded update on it plus a few replay samples (the feature discovery
sample weighted by the realized quality of the signal it gave then). Then candle i is
predicted with the updated weights and parked in the ring.

Live trading calls `run` with one candle at a time; a prequential backtest calls it once with a
whole window. Both run the very same XLA program (the step inside a while loop, compiled on
the first call, ~8 s on 2 cores, and shared by every learner of the same shape through
shared_program.py), so they learn and predict bit-identically.

Performance notes (benchmarks/online.py; the figures are in the README). The networks are
small, so TensorFlow's per-op and per-call overheads, not arithmetic, set the cost. Hence:
hand-derived gradients (networks/backprop.py), one fused guarded update, and the whole loop
compiled by XLA, BLOCK_CAPACITY candles per call, inputs padded to that static shape. A call
has a fixed cost of ~0.5 ms, most of it binding the 74 variables the step reads and writes
(~5 us each; 120 before the optimizer slots became flat), which one live candle pays in full
and a block shares; TF's graph executor ran the same step ~4x slower per candle. Ring slots
are read with `tf.gather`, never `variable[pos]`: a strided slice needs a compile-time index
under XLA, which made every value of `steps % horizon` a new compilation. The flags ride in
the int64 input and are compared one by one (`stamps[2] > 0`): a bool vector sliced out of
it (`ints[i, 2:] != 0`) compiled to a loop that never learned, while TF's graph executor ran
the same code right.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from self_learning import shared_program
from self_learning.networks.base import all_finite
from self_learning.quality import quality_weight, signal_quality

NOVELTY_ALPHA = 0.01  # weight of the newest error in the novelty statistics (~100 candles)


BLOCK_CAPACITY = 64  # candles per call of the compiled loop (inputs are padded to it)
_COUNTS: dict[int, tf.Tensor] = {}  # candle counts as ready tensors (made once each)


def _count_tensor(count: int) -> tf.Tensor:
    if count not in _COUNTS:
        _COUNTS[count] = tf.constant(count, tf.int32)
    return _COUNTS[count]


class OnlineStepper:
    def __init__(self, autoencoder, discovery, liquidity, state, replay_batch: int):
        self.ae, self.disc, self.liq, self.state = autoencoder, discovery, liquidity, state
        self.replay_batch = int(replay_batch)
        d, f = autoencoder.input_dim, discovery.n_features
        spec = tf.TensorSpec
        # The compiled loop takes two packed, padded inputs (each tensor conversion costs
        # ~50 us): floats [window | features | targets] and ints [ts, target_ts, input_ok,
        # target_ok, reset]. The buffers are reused (callers hold the learner's lock); rows
        # past the real count keep stale values that the loop never reads.
        self._dims = (d, f)
        self._floats = np.zeros((BLOCK_CAPACITY, d + f + 3), np.float32)
        self._ints = np.zeros((BLOCK_CAPACITY, 5), np.int64)
        self._loop = tf.function(self._padded_loop, jit_compile=True, input_signature=[
            spec([], tf.int32), spec(self._floats.shape, tf.float32),
            spec(self._ints.shape, tf.int64)])
        self._loop_call = None
        self._predict = tf.function(self._predict_rows, input_signature=[
            spec([None, d], tf.float32), spec([None, f], tf.float32)])
        self._predict_concrete = None

    @property
    def compiled(self) -> bool:
        """Whether this stepper has its compiled loop (its first `run` compiles it, seconds,
        or borrows the program of an earlier learner of the same shape)."""
        return self._loop_call is not None

    def variables(self) -> list:
        """Every variable the step reads or writes, in a fixed order (see shared_program)."""
        modules = [*self.ae.modules.values(), *self.disc.modules.values(),
                   *self.liq.modules.values(), self.state]
        return [v for m in modules for v in m.state_variables()]

    def predict(self, windows, features) -> np.ndarray:
        """(n, 4) [s_close, liq_up, liq_down, novelty] with the weights and novelty statistics
        as they are (no state changes): the compiled serve path for `PairLearner.predict`."""
        if self._predict_concrete is None:
            self._predict_concrete = self._predict.get_concrete_function()
        return self._predict_concrete(tf.constant(windows, tf.float32),
                                      tf.constant(features, tf.float32)).numpy()

    def run(self, windows, features, input_ok, ts, targets, target_ok, target_ts, reset):
        """Step through n candles, BLOCK_CAPACITY per call of the compiled loop; returns a
        dict of (n,) numpy arrays. One candle (live) and a whole window (prequential) run the
        same XLA program, so they learn and predict bit-identically."""
        if self._loop_call is None:  # on first use; compiled once per shape, for all pairs
            self._loop_call = shared_program.program_for(
                self.variables(), self._loop.get_concrete_function, (self.replay_batch,))
        d, f = self._dims
        n, parts = len(ts), []
        for start in range(0, n, BLOCK_CAPACITY):
            count = min(BLOCK_CAPACITY, n - start)
            rows, head = slice(start, start + count), slice(0, count)
            self._floats[head, :d] = windows[rows]
            self._floats[head, d : d + f] = features[rows]
            self._floats[head, d + f :] = targets[rows]
            self._ints[head, 0], self._ints[head, 1] = ts[rows], target_ts[rows]
            self._ints[head, 2], self._ints[head, 3] = input_ok[rows], target_ok[rows]
            self._ints[head, 4] = reset[rows]
            preds, status = self._loop_call(
                _count_tensor(count), tf.constant(self._floats), tf.constant(self._ints))
            parts.append((preds.numpy()[:count], status.numpy()[:count]))
        if not parts:
            return empty_outputs()
        preds, status = (np.concatenate(p) for p in zip(*parts, strict=True))
        return {"s_close": preds[:, 0], "liq_up": preds[:, 1], "liq_down": preds[:, 2],
                "novelty": preds[:, 3], "training_counter": status[:, 0],
                "learned": status[:, 1].astype(bool)}

    # -- traced code below ------------------------------------------------------------------

    def fused_update(self, windows, features, targets, weights):
        """One guarded step of all three networks; returns whether it was applied.

        Gradients are hand-derived (networks/backprop.py; equal to GradientTape's, tested):
        the step is bound by per-op overhead, and the tape emits several times more ops."""
        base = tf.cast(weights > 0, tf.float32)
        latent, l_ae, g_ae = self.ae.online_pass(windows, base)
        x = tf.concat([features, latent], axis=-1)
        l_d, g_d = self.disc.online_pass(x, targets[:, 0], weights)
        l_l, g_l = self.liq.online_pass(x, targets[:, 1:], base)
        ok = all_finite(l_ae + l_d + l_l, g_ae + g_d + g_l,
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

    def _outputs(self, windows, feats):
        """(n, 4) predictions and the log reconstruction error of each row."""
        s = self.state
        latent, error = self.ae.forward(windows)
        log_error = tf.math.log(error + 1e-8)
        novelty = (log_error - s.novelty_mean) / tf.sqrt(s.novelty_var + 1e-8)
        x = tf.concat([feats, latent], axis=-1)
        liq = self.liq.forward(x)
        return tf.stack([self.disc.forward(x), liq[:, 0], liq[:, 1], novelty], 1), log_error

    def _predict_rows(self, windows, feats):
        return self._outputs(windows, feats)[0]

    def _predict_one(self, window, feats):
        """Predict one candle, then fold its reconstruction error into the novelty stats."""
        s = self.state
        out, log_error = self._outputs(window[None], feats[None])
        delta = log_error[0] - s.novelty_mean
        s.novelty_mean.assign_add(NOVELTY_ALPHA * delta)
        s.novelty_var.assign((1.0 - NOVELTY_ALPHA) * (s.novelty_var + NOVELTY_ALPHA * delta**2))
        return out[0]

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

    def _padded_loop(self, n, floats, ints):
        """Steps the first n of BLOCK_CAPACITY packed, padded candles (static shapes, as XLA
        needs); returns the predictions (C, 4) and [training counter, learned] (C, 2)."""
        d, f = self._dims
        preds = tf.TensorArray(tf.float32, size=BLOCK_CAPACITY, element_shape=[4])
        status = tf.TensorArray(tf.int64, size=BLOCK_CAPACITY, element_shape=[2])

        def body(i, preds, status):
            row, stamps = floats[i], ints[i]
            out, did = self._step(row[:d], row[d : d + f], stamps[2] > 0, stamps[0],
                                  row[d + f :], stamps[3] > 0, stamps[1], stamps[4] > 0)
            counter = self.state.training_counter.read_value()
            return i + 1, preds.write(i, out), status.write(
                i, tf.stack([counter, tf.cast(did, tf.int64)]))

        _, preds, status = tf.while_loop(lambda i, *_: i < n, body,
                                         (tf.constant(0), preds, status))
        return preds.stack(), status.stack()


def empty_outputs() -> dict[str, np.ndarray]:
    z = np.zeros(0, dtype=np.float32)
    return {"s_close": z, "liq_up": z, "liq_down": z, "novelty": z,
            "training_counter": np.zeros(0, np.int64), "learned": np.zeros(0, bool)}
