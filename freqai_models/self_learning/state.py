"""LearnerState: everything a PairLearner knows besides network weights, as tf.Variables.

Counters, the last candle learned and seen, novelty statistics, the replay buffer, the ring of
pending samples waiting for their label to mature, and the random generator. Because it is a
tf.Module, a store checkpoint captures it exactly, so a restart resumes bit-for-bit.
"""

from __future__ import annotations

import tensorflow as tf

NEVER = -1  # timestamp meaning "nothing yet"


class LearnerState(tf.Module):
    def __init__(self, window_dim: int, n_features: int, horizon: int, replay_size: int,
                 seed: int):
        super().__init__(name="learner_state")
        i64 = lambda v, n: tf.Variable(tf.constant(v, tf.int64), name=n)  # noqa: E731
        self.training_counter = i64(0, "training_counter")
        self.last_learned_ts = i64(NEVER, "last_learned_ts")
        self.last_seen_ts = i64(NEVER, "last_seen_ts")
        self.skipped_samples = i64(0, "skipped_samples")
        self.rejected_updates = i64(0, "rejected_updates")
        self.novelty_mean = tf.Variable(0.0, name="novelty_mean")
        self.novelty_var = tf.Variable(1.0, name="novelty_var")
        self.quality_scale = tf.Variable(1e-3, name="quality_scale")
        zeros = lambda shape, n, dt=tf.float32: tf.Variable(tf.zeros(shape, dt), name=n)  # noqa: E731
        self.replay_windows = zeros([replay_size, window_dim], "replay_windows")
        self.replay_features = zeros([replay_size, n_features], "replay_features")
        self.replay_targets = zeros([replay_size, 3], "replay_targets")
        self.replay_count = i64(0, "replay_count")
        self.pending_windows = zeros([horizon, window_dim], "pending_windows")
        self.pending_features = zeros([horizon, n_features], "pending_features")
        self.pending_pred = zeros([horizon], "pending_pred")
        self.pending_ok = zeros([horizon], "pending_ok")
        self.pending_ts = zeros([horizon], "pending_ts", tf.int64)
        self.steps = i64(0, "steps")
        self.rng = tf.random.Generator.from_seed(seed)

    def state_variables(self) -> list:
        """Every variable a checkpoint holds, in a fixed order (incl. the generator state)."""
        return list(self.variables) + [self.rng.state]

    @property
    def replay_size(self) -> int:
        return int(self.replay_windows.shape[0])

    @property
    def horizon(self) -> int:
        return int(self.pending_pred.shape[0])

    def push_replay(self, windows, features, targets) -> None:
        """Append samples to the replay ring (traceable; oldest overwritten)."""
        n = tf.shape(windows, out_type=tf.int64)[0]
        idx = (self.replay_count + tf.range(n, dtype=tf.int64)) % self.replay_size
        idx = tf.reshape(idx, [-1, 1])
        self.replay_windows.scatter_nd_update(idx, tf.cast(windows, tf.float32))
        self.replay_features.scatter_nd_update(idx, tf.cast(features, tf.float32))
        self.replay_targets.scatter_nd_update(idx, tf.cast(targets, tf.float32))
        self.replay_count.assign_add(n)

    def sample_replay(self, count: int):
        """`count` samples drawn uniformly from the filled part of the ring (traceable)."""
        filled = tf.minimum(self.replay_count, self.replay_size)
        idx = self.rng.uniform([count], 0, tf.maximum(filled, 1), dtype=tf.int64)
        return (
            tf.gather(self.replay_windows, idx),
            tf.gather(self.replay_features, idx),
            tf.gather(self.replay_targets, idx),
            tf.cast(filled > 0, tf.float32),
        )

    def reset_pending(self) -> None:
        self.pending_ok.assign(tf.zeros_like(self.pending_ok))
