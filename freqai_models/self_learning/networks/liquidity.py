"""LiquidityPredictionModel: predicted upward and downward price excursions over H candles.

Outputs `&-liq_up` >= 0 and `&-liq_down` <= 0 (softplus heads). Supervised on realized
excursions; rows whose future is not known yet can be given trailing excursions as
self-supervised targets with a lower weight (the learner decides).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.networks import backprop
from self_learning.networks.base import ConditionedNetwork
from self_learning.networks.blocks import dense_stack

L2 = 1e-5
SIGNS = tf.constant([1.0, -1.0])  # up is softplus(head), down is -softplus(head)


def _model(input_dim: int, hidden: int, seed: int) -> keras.Model:
    inputs = keras.Input((input_dim,), name="inputs")
    x = dense_stack(inputs, hidden, 2, L2, "liq", seed)
    heads = keras.layers.Dense(
        2, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 70), name="heads"
    )(x)
    up = keras.layers.Activation("softplus", name="up")(heads[:, :1])
    down = keras.layers.Lambda(lambda t: -keras.ops.softplus(t), name="down")(heads[:, 1:])
    return keras.Model(inputs, keras.layers.Concatenate(name="excursions")([up, down]))


class LiquidityPredictionModel(ConditionedNetwork):
    """Predicts [&-liq_up, &-liq_down] from [features, latent]."""

    NAME = "liquidity"

    def __init__(self, n_features: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        model = _model(int(n_features) + int(latent_dim), hidden_units, seed + 100)
        super().__init__(model, n_features, latent_dim, 2, learning_rate, seed)
        self._layers = backprop.dense_specs(model, ["liq_dense0", "liq_dense1", "heads"])

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        y = np.abs(np.asarray(y, dtype=np.float64))
        self.module.set_scaling(x, None)
        scale = np.maximum(np.nanmean(y, axis=0), 1e-6)
        self.module.output_scale.assign(scale.astype(np.float32))

    # -- the online step's hand-derived passes (see backprop.py) ----------------------------

    def forward(self, x):
        """(n, 2) excursions in target units for x = [features, latent], as `predict`."""
        heads, _ = backprop.forward(self.module.standardise(x), self._layers)
        return tf.math.softplus(heads) * SIGNS * self.module.output_scale

    def online_pass(self, x, y, w):
        """(loss, gradients of the trainable variables) of `loss` + L2, hand-derived."""
        heads, cache = backprop.forward(self.module.standardise(x), self._layers)
        y_scaled = tf.reshape(y, [-1, 2]) / self.module.output_scale
        loss, d_out = backprop.weighted_huber_and_grad(y_scaled, tf.math.softplus(heads) * SIGNS,
                                                       w)
        grads, _ = backprop.backward(d_out * SIGNS * tf.sigmoid(heads), self._layers, cache)
        return loss, backprop.ordered(grads, self.module.model.trainable_variables)
