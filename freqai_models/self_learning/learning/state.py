"""LearnerState: everything a pair's learner knows besides network weights, as tf.Variables.

Counters; the last candle learned (by the networks; by the wide head's consolidated
statistics) and seen; novelty statistics; the replay buffer; the ring of pending samples whose
label has not matured yet; the scoreboard ring of matured predictions and what happened; the
drift detector, the adaptive step it drives and the challenge a response starts; the random
generator. Because it is a
tf.Module, a store checkpoint captures all of it, so a restart resumes bit for bit.
"""

from __future__ import annotations

import tensorflow as tf

from self_learning.candles.timeline import NEVER


def read_scalar(variable: tf.Variable) -> int | float:
    """The value of a scalar variable, read eagerly as a Python number.

    One ReadVariableOp: `Variable.numpy()` adds an identity op (a copy), which doubles the
    cost (~60 against ~20 us right after the compiled step); the per-candle path reads a few
    counters every candle (PairLearner.trained, drift_responses, WideHead.ready)."""
    return tf.raw_ops.ReadVariableOp(resource=variable.handle, dtype=variable.dtype).numpy().item()


class LearnerState(tf.Module):
    def __init__(self, window_dim: int, n_features: int, horizon: int, replay_size: int,
                 scoreboard_size: int, seed: int):
        super().__init__(name="learner_state")
        i64 = lambda v, n: tf.Variable(tf.constant(v, tf.int64), name=n)  # noqa: E731
        f32 = lambda v, n: tf.Variable(tf.constant(v, tf.float32), name=n)  # noqa: E731
        zeros = lambda shape, n, dt=tf.float32: tf.Variable(tf.zeros(shape, dt), name=n)  # noqa: E731
        self.training_counter = i64(0, "training_counter")
        self.last_learned_ts = i64(NEVER, "last_learned_ts")      # networks (fits and steps)
        self.linear_learned_ts = i64(NEVER, "linear_learned_ts")  # wide head (fits)
        self.last_seen_ts = i64(NEVER, "last_seen_ts")
        self.skipped_samples = i64(0, "skipped_samples")
        self.rejected_updates = i64(0, "rejected_updates")
        self.novelty_mean = f32(0.0, "novelty_mean")
        self.novelty_var = f32(1.0, "novelty_var")
        self.quality_scale = f32(1e-3, "quality_scale")
        self.replay_windows = zeros([replay_size, window_dim], "replay_windows")
        self.replay_features = zeros([replay_size, n_features], "replay_features")
        self.replay_targets = zeros([replay_size, 3], "replay_targets")
        self.replay_count = i64(0, "replay_count")
        self.pending_windows = zeros([horizon, window_dim], "pending_windows")
        self.pending_features = zeros([horizon, n_features], "pending_features")
        self.pending_preds = zeros([horizon, 3], "pending_preds")  # s_close, liq_up, liq_down
        self.pending_ok = zeros([horizon], "pending_ok")
        self.pending_ts = zeros([horizon], "pending_ts", tf.int64)
        self.steps = i64(0, "steps")
        self.last_learned_step = i64(0, "last_learned_step")
        # Scoreboard: the last `scoreboard_size` matured predictions [s_close, liq_up,
        # liq_down] and realized targets, oldest overwritten.
        self.board_pred = zeros([scoreboard_size, 3], "board_pred")
        self.board_real = zeros([scoreboard_size, 3], "board_real")
        self.board_count = i64(0, "board_count")
        # Page-Hinkley detector on the per-sample loss of the return signal, and the
        # adaptive response it drives (see monitor/drift.py).
        self.drift = zeros([5], "drift")  # count, mean, cumulative, minimum, gain variance
        self.drift_alarms = i64(0, "drift_alarms")
        self.drift_responses = i64(0, "drift_responses")
        self.alarm_age = f32(-1.0, "alarm_age")  # matured samples since an alarm not acted on
        self.boost = f32(0.0, "boost")            # 1 right after an alarm, decays to 0
        self.pool_trust = f32(1.0, "pool_trust")  # weight of other pairs' statistics
        # The challenge a drift response starts (monitor/challenge.py): whether one is on,
        # the incumbent's Huber loss minus the challenger's over the samples matured since,
        # the incumbent's pool trust and boost, responses a training undid, and per pending
        # sample [challenger's, incumbent's prediction (target-spread units), in challenge].
        self.challenge_on = f32(0.0, "challenge_on")
        self.challenge_record = f32(0.0, "challenge_record")
        self.challenge_power = f32(0.0, "challenge_power")  # sum of the record's squares
        self.challenge_samples = f32(0.0, "challenge_samples")  # samples in the record
        self.shadow_trust = f32(1.0, "shadow_trust")
        self.shadow_boost = f32(0.0, "shadow_boost")
        self.responses_undone = i64(0, "responses_undone")
        self.pending_rival = zeros([horizon, 3], "pending_rival")
        self.rng = tf.random.Generator.from_seed(seed)

    def state_variables(self) -> list:
        """Every variable a checkpoint holds, in a fixed order (incl. the generator state)."""
        return list(self.variables) + [self.rng.state]

    @property
    def replay_size(self) -> int:
        return int(self.replay_windows.shape[0])

    @property
    def horizon(self) -> int:
        return int(self.pending_ok.shape[0])

    @property
    def scoreboard_size(self) -> int:
        return int(self.board_pred.shape[0])

    def push_replay(self, windows, features, targets) -> None:
        """Append samples to the replay ring (traceable; oldest overwritten)."""
        n = tf.shape(windows, out_type=tf.int64)[0]
        idx = tf.reshape((self.replay_count + tf.range(n, dtype=tf.int64)) % self.replay_size,
                         [-1, 1])
        self.replay_windows.scatter_nd_update(idx, tf.cast(windows, tf.float32))
        self.replay_features.scatter_nd_update(idx, tf.cast(features, tf.float32))
        self.replay_targets.scatter_nd_update(idx, tf.cast(targets, tf.float32))
        self.replay_count.assign_add(n)

    def sample_replay(self, count: int):
        """`count` samples drawn uniformly from the filled part of the ring (traceable), and
        1.0 when the ring holds anything (else the draws are zeros to be weighted out)."""
        filled = tf.minimum(self.replay_count, self.replay_size)
        idx = self.rng.uniform([count], 0, tf.maximum(filled, 1), dtype=tf.int64)
        return (tf.gather(self.replay_windows, idx), tf.gather(self.replay_features, idx),
                tf.gather(self.replay_targets, idx), tf.cast(filled > 0, tf.float32))

    def push_board(self, pred, real) -> None:
        at = tf.reshape(self.board_count % self.scoreboard_size, [1, 1])
        self.board_pred.scatter_nd_update(at, pred[None])
        self.board_real.scatter_nd_update(at, real[None])
        self.board_count.assign_add(1)

    def reset_pending(self) -> None:
        self.pending_ok.assign(tf.zeros_like(self.pending_ok))
        self.pending_rival.assign(tf.zeros_like(self.pending_rival))
