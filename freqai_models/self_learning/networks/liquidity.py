"""LiquidityPredictionModel: predicted upward and downward price excursions over H candles.

Outputs `&-liq_up` >= 0 and `&-liq_down` <= 0 (softplus heads), learned with a Huber loss in
units of the pair's mean absolute excursions, from the strategy's features (and, optionally,
the autoencoder's latent vector).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.networks.base import FeatureLatentNetwork, TrainableModule, weighted_huber
from self_learning.networks.blocks import dense_stack

L2 = 1e-5
SIGNS = tf.constant([1.0, -1.0])  # up is softplus(head), down is -softplus(head)


def _model(input_dim: int, hidden: int, seed: int) -> keras.Model:
    inputs = keras.Input((input_dim,), name="inputs")
    x = dense_stack(inputs, hidden, 2, L2, "liq", seed)
    heads = keras.layers.Dense(
        2, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 70), name="heads"
    )(x)
    return keras.Model(inputs, heads, name="liquidity")


class LiquidityPredictionModel(FeatureLatentNetwork):
    """Predicts [&-liq_up, &-liq_down] from [features, latent]."""

    NAME = "liquidity"

    def __init__(self, n_features: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        self.n_features, self.latent_dim = int(n_features), int(latent_dim)
        input_dim = self.n_features + self.latent_dim
        self._attach(TrainableModule(_model(input_dim, hidden_units, seed + 100), input_dim, 2,
                                     learning_rate, self.NAME))

    def set_scaling(self, features: np.ndarray, excursions: np.ndarray) -> None:
        self.module.set_input_scaling(features, dims=self.n_features)
        scale = np.maximum(np.nanmean(np.abs(np.asarray(excursions, np.float64)), axis=0), 1e-6)
        self.module.output_scale.assign(scale.astype(np.float32))

    def _scaled(self, features, latent, training=False):
        x = tf.concat([tf.cast(features, tf.float32), tf.cast(latent, tf.float32)], axis=-1)
        heads = self.module.model(self.module.standardise(x), training=training)
        return tf.math.softplus(heads) * SIGNS

    def predict(self, features, latent):
        """(n, 2) excursions [up >= 0, down <= 0] in return units."""
        return self._scaled(features, latent) * self.module.output_scale

    def loss(self, features, latent, excursions, weights):
        y = tf.reshape(excursions, [-1, 2]) / self.module.output_scale
        return weighted_huber(y, self._scaled(features, latent, training=True), weights)
