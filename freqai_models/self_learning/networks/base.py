"""TrainableModule and Network: what the three networks share.

A TrainableModule is one Keras model with its input standardisation, output scale and an
eagerly built optimizer, as a tf.Module the store saves (its `serve` function is the serving
signature). A Network is a named set of such modules with a forward pass and a loss; it never
trains itself: learning/program.py runs every update of all three networks through one
guarded function (full fits, incremental fits and the per-candle step alike).
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

    def extra_variables(self) -> list:
        """Variables a subclass adds (checkpointed after the model's, in this order)."""
        return []

    def state_variables(self) -> list:
        """Every variable a checkpoint of this module holds, in a fixed order (Keras 3
        variables are not found by tf.Module.variables, so list them explicitly)."""
        own = [self.input_mean, self.input_std, self.output_scale]
        return (own + list(self.model.variables) + self.optimizer.slot_variables()
                + self.extra_variables())

    def set_input_scaling(self, x: np.ndarray, dims: int | None = None) -> None:
        """Standardise the first `dims` inputs (all by default) by a training window's mean and
        spread; the rest stay as they are (mean 0, spread 1)."""
        x = np.asarray(x, dtype=np.float64)
        dims = x.shape[1] if dims is None else dims
        mean = np.zeros(self.input_mean.shape[0])
        std = np.ones(self.input_std.shape[0])
        mean[:dims] = np.nanmean(x[:, :dims], axis=0)
        std[:dims] = np.maximum(np.nanstd(x[:, :dims], axis=0), 1e-6)
        self.input_mean.assign(mean.astype(np.float32))
        self.input_std.assign(std.astype(np.float32))

    def standardise(self, x: tf.Tensor) -> tf.Tensor:
        return standardised(x, self.input_mean, self.input_std)

    def regularisation(self) -> tf.Tensor:
        losses = self.model.losses
        return tf.add_n(losses) if losses else tf.constant(0.0)

    def apply(self, grads, lr_scale=1.0) -> None:
        self.optimizer.apply_gradients(grads, self.model.trainable_variables, lr_scale)


class Network:
    """A named set of TrainableModules with a traceable forward pass and loss."""

    NAME = ""

    @property
    def modules(self) -> dict[str, TrainableModule]:
        raise NotImplementedError

    def trainable_variables(self) -> list:
        return [v for m in self.modules.values() for v in m.model.trainable_variables]

    def regularisation(self) -> tf.Tensor:
        return tf.add_n([m.regularisation() for m in self.modules.values()])

    def apply(self, grads, lr_scale=1.0) -> None:
        start = 0
        for module in self.modules.values():
            count = len(module.model.trainable_variables)
            module.apply(grads[start : start + count], lr_scale)
            start += count


class FeatureLatentNetwork(Network):
    """A network of one module whose `serve` reads (features, latent): feature discovery and
    liquidity. Subclasses build the module and call `_attach` with it."""

    n_features: int
    latent_dim: int
    module: TrainableModule

    def _attach(self, module: TrainableModule) -> None:
        self.module = module
        module.serve = tf.function(self.predict, autograph=False, input_signature=[
            tf.TensorSpec([None, self.n_features], tf.float32),
            tf.TensorSpec([None, self.latent_dim], tf.float32)])

    @property
    def modules(self) -> dict[str, TrainableModule]:
        return {self.NAME: self.module}

    def predict(self, features, latent):
        raise NotImplementedError


def standardised(x, mean, std) -> tf.Tensor:
    """(x - mean) / (std + EPS), clipped to +-CLIP: the one standardisation of every input
    (the networks' inputs and the wide head's z)."""
    z = (tf.cast(x, tf.float32) - mean) / (std + EPS)
    return tf.clip_by_value(z, -CLIP, CLIP)


def all_finite(tensors) -> tf.Tensor:
    """True when every tensor is finite: one IsFinite over all of them, flattened."""
    flat = tf.concat([tf.reshape(tf.cast(t, tf.float32), [-1]) for t in tensors if t is not None],
                     axis=0)
    return tf.reduce_all(tf.math.is_finite(flat))


def weighted_huber(y_true: tf.Tensor, y_pred: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Huber(delta=1) per sample (mean over outputs), averaged with per-sample weights."""
    err = tf.abs(y_true - y_pred)
    per = tf.reduce_mean(tf.where(err < 1.0, 0.5 * tf.square(err), err - 0.5), axis=-1)
    return tf.reduce_sum(per * weights) / tf.maximum(tf.reduce_sum(weights), EPS)
