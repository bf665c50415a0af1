"""TrainableModule: one Keras model + its optimizer + input scaling, as a tf.Module.

The store saves it as a SavedModel (its `serve` function is the serving signature) and
checkpoints its variables; the learner trains it through `gradients`/`apply`, which are plain
traceable methods so several networks can be updated inside one fused tf.function.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.networks.optimizer import FusedAdam

EPS = 1e-8
CLIP = 5.0


class TrainableModule(tf.Module):
    """A Keras model with standardised inputs, a scaled output and an eagerly built Adam."""

    def __init__(self, model: keras.Model, input_dim: int, output_dim: int, learning_rate: float,
                 name: str):
        super().__init__(name=name)
        self.model = model
        self.input_mean = tf.Variable(tf.zeros([input_dim]), trainable=False, name="input_mean")
        self.input_std = tf.Variable(tf.ones([input_dim]), trainable=False, name="input_std")
        self.output_scale = tf.Variable(
            tf.ones([output_dim]), trainable=False, name="output_scale"
        )
        self.optimizer = FusedAdam(model.trainable_variables, learning_rate)

    def state_variables(self) -> list:
        """Every variable a checkpoint of this module holds, in a fixed order (Keras 3
        variables are not found by tf.Module.variables, so list them explicitly)."""
        own = [self.input_mean, self.input_std, self.output_scale]
        return own + list(self.model.variables) + self.optimizer.slot_variables()

    def set_scaling(self, x: np.ndarray, y: np.ndarray | None = None) -> None:
        """Fit input standardisation (and output scale) once, from a training window."""
        x = np.asarray(x, dtype=np.float64)
        self.input_mean.assign(np.nanmean(x, axis=0).astype(np.float32))
        self.input_std.assign(np.maximum(np.nanstd(x, axis=0), 1e-6).astype(np.float32))
        if y is not None:
            scale = np.nanstd(np.asarray(y, dtype=np.float64), axis=0)
            self.output_scale.assign(np.maximum(scale, 1e-6).astype(np.float32))

    def standardise(self, x: tf.Tensor) -> tf.Tensor:
        z = (tf.cast(x, tf.float32) - self.input_mean) / (self.input_std + EPS)
        return tf.clip_by_value(z, -CLIP, CLIP)

    def apply(self, grads) -> None:
        self.optimizer.apply_gradients(grads, self.model.trainable_variables)


def all_finite(loss: tf.Tensor, grads, inputs=()) -> tf.Tensor:
    """True when the inputs, the loss and every gradient are finite.

    One IsFinite over all of them, flattened and concatenated (float32 all), instead of one
    check per tensor: the online step is dominated by per-op overhead, not by arithmetic."""
    tensors = [*inputs, loss, *(g for g in grads if g is not None)]
    flat = tf.concat([tf.reshape(tf.cast(t, tf.float32), [-1]) for t in tensors], axis=0)
    return tf.reduce_all(tf.math.is_finite(flat))


def weighted_huber(y_true: tf.Tensor, y_pred: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Huber(delta=1) per sample, averaged with per-sample weights."""
    err = tf.abs(y_true - y_pred)
    per = tf.where(err < 1.0, 0.5 * tf.square(err), err - 0.5)
    per = tf.reduce_mean(per, axis=-1)
    return tf.reduce_sum(per * weights) / tf.maximum(tf.reduce_sum(weights), EPS)


class Network:
    """A trainable unit made of one or more TrainableModules and a loss.

    Subclasses define `loss(x, y, w)` (traceable). `fit` trains with a time-ordered validation
    tail and keeps the best epoch; `update_incremental` runs a short pass from the current
    weights. A step whose loss or gradients are not finite is rejected: weights and optimizer
    state stay exactly as they were.
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._step = None

    @property
    def modules(self) -> dict[str, TrainableModule]:
        raise NotImplementedError

    def loss(self, x, y, w):
        raise NotImplementedError

    def trainable_variables(self) -> list[tf.Variable]:
        return [v for m in self.modules.values() for v in m.model.trainable_variables]

    def gradients(self, x, y, w):
        with tf.GradientTape() as tape:
            loss = self.loss(x, y, w)
            reg = [tf.add_n(m.model.losses) for m in self.modules.values() if m.model.losses]
            total = loss + (tf.add_n(reg) if reg else 0.0)
        return loss, tape.gradient(total, self.trainable_variables())

    def apply(self, grads) -> None:
        start = 0
        for module in self.modules.values():
            count = len(module.model.trainable_variables)
            module.apply(grads[start : start + count])
            start += count

    def train_step(self, x, y, w):
        """One guarded gradient step (compiled once); returns (loss, applied)."""
        if self._step is None:
            self._step = tf.function(self._guarded_step, reduce_retracing=True)
        return self._step(
            tf.convert_to_tensor(x, tf.float32),
            tf.convert_to_tensor(y, tf.float32),
            tf.convert_to_tensor(w, tf.float32),
        )

    def _guarded_step(self, x, y, w):
        loss, grads = self.gradients(x, y, w)
        ok = all_finite(loss, grads, inputs=(x, y, w))

        def apply():
            self.apply(grads)
            return tf.constant(True)

        applied = tf.cond(ok, apply, lambda: tf.constant(False))
        return loss, applied

    def evaluate(self, x, y, w) -> float:
        return float(self.loss(tf.constant(x, tf.float32), tf.constant(y, tf.float32),
                               tf.constant(w, tf.float32)))

    def fit(self, x, y, w=None, *, epochs: int, batch_size: int, validation: float = 0.1,
            rng: np.random.Generator | None = None) -> dict:
        """Full training from the current weights; keeps the epoch with the best validation loss."""
        x, y, w = _as_arrays(x, y, w)
        n_val = int(len(x) * validation) if len(x) >= 50 else 0
        cut = len(x) - n_val
        best = (np.inf, None)
        history = []
        for _ in range(epochs):
            train_loss = self._epoch(x[:cut], y[:cut], w[:cut], batch_size, rng)
            val_loss = self.evaluate(x[cut:], y[cut:], w[cut:]) if n_val else train_loss
            history.append((train_loss, val_loss))
            if val_loss < best[0]:
                best = (val_loss, [v.numpy() for v in self.trainable_variables()])
        if best[1] is not None:
            for var, value in zip(self.trainable_variables(), best[1], strict=True):
                var.assign(value)
        return {"history": history, "best_val_loss": float(best[0])}

    def update_incremental(self, x, y, w=None, *, epochs: int = 1, batch_size: int = 256,
                           rng: np.random.Generator | None = None) -> dict:
        """A short pass on new data from the current weights (no re-initialisation)."""
        x, y, w = _as_arrays(x, y, w)
        losses = [self._epoch(x, y, w, batch_size, rng) for _ in range(epochs)]
        return {"history": losses}

    def _epoch(self, x, y, w, batch_size, rng) -> float:
        order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
        losses = []
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            loss, applied = self.train_step(x[idx], y[idx], w[idx])
            if bool(applied):
                losses.append(float(loss))
        return float(np.mean(losses)) if losses else float("nan")


class ConditionedNetwork(Network):
    """One TrainableModule over [features, latent] inputs, served as `serve(features, latent)`.

    Subclasses set NAME and build the Keras model; targets are learned in units of the
    module's `output_scale` with a weighted Huber loss."""

    NAME = ""

    def __init__(self, model: keras.Model, n_features: int, latent_dim: int, output_dim: int,
                 learning_rate: float, seed: int):
        super().__init__(seed)
        self.n_features = int(n_features)
        self.input_dim = self.n_features + int(latent_dim)
        self.output_dim = int(output_dim)
        self.module = TrainableModule(model, self.input_dim, output_dim, learning_rate, self.NAME)
        self.module.serve = tf.function(self.predict, input_signature=[
            tf.TensorSpec([None, self.n_features], tf.float32),
            tf.TensorSpec([None, int(latent_dim)], tf.float32),
        ])

    @property
    def modules(self) -> dict[str, TrainableModule]:
        return {self.NAME: self.module}

    def raw(self, x):
        """Output in units of `output_scale` for combined inputs x = [features, latent]."""
        return self.module.model(self.module.standardise(x), training=False)

    def predict(self, features, latent):
        x = tf.concat([tf.cast(features, tf.float32), tf.cast(latent, tf.float32)], axis=-1)
        return self.raw(x) * self.module.output_scale

    def loss(self, x, y, w):
        y_scaled = tf.reshape(y, [-1, self.output_dim]) / self.module.output_scale
        pred = self.module.model(self.module.standardise(x), training=True)
        return weighted_huber(y_scaled, pred, w)


def _as_arrays(x, y, w):
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    w = np.ones(len(x), dtype=np.float32) if w is None else np.asarray(w, dtype=np.float32)
    if not (len(x) == len(y) == len(w)):
        raise ValueError(f"x, y and w differ in length: {len(x)}, {len(y)}, {len(w)}")
    return x, y, w
