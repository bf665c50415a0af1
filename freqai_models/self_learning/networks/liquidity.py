"""LiquidityPredictionModel: predicted upward and downward price excursions over H candles.

Outputs `&-liq_up` >= 0 and `&-liq_down` <= 0 (softplus heads). Supervised on realized
excursions; rows whose future is not known yet can be given trailing excursions as
self-supervised targets with a lower weight (the learner decides).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.networks.base import Network, TrainableModule, weighted_huber
from self_learning.networks.blocks import dense_stack

L2 = 1e-5


def _model(input_dim: int, hidden: int, seed: int) -> keras.Model:
    inputs = keras.Input((input_dim,), name="inputs")
    x = dense_stack(inputs, hidden, 2, L2, "liq", seed)
    heads = keras.layers.Dense(
        2, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 70), name="heads"
    )(x)
    up = keras.layers.Activation("softplus", name="up")(heads[:, :1])
    down = keras.layers.Lambda(lambda t: -keras.ops.softplus(t), name="down")(heads[:, 1:])
    return keras.Model(inputs, keras.layers.Concatenate(name="excursions")([up, down]))


class LiquidityPredictionModel(Network):
    """Predicts [&-liq_up, &-liq_down] from [features, latent]."""

    def __init__(self, n_features: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        super().__init__(seed)
        self.n_features = int(n_features)
        self.input_dim = self.n_features + int(latent_dim)
        self.module = TrainableModule(
            _model(self.input_dim, hidden_units, seed + 100), self.input_dim, 2, learning_rate,
            "liquidity",
        )
        self.module.serve = tf.function(
            self.predict,
            input_signature=[
                tf.TensorSpec([None, self.n_features], tf.float32),
                tf.TensorSpec([None, int(latent_dim)], tf.float32),
            ],
        )

    @property
    def modules(self) -> dict[str, TrainableModule]:
        return {"liquidity": self.module}

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        y = np.abs(np.asarray(y, dtype=np.float64))
        self.module.set_scaling(x, None)
        scale = np.maximum(np.nanmean(y, axis=0), 1e-6)
        self.module.output_scale.assign(scale.astype(np.float32))

    def raw(self, x):
        return self.module.model(self.module.standardise(x), training=False)

    def predict(self, features, latent):
        x = tf.concat([tf.cast(features, tf.float32), tf.cast(latent, tf.float32)], axis=-1)
        return self.raw(x) * self.module.output_scale

    def loss(self, x, y, w):
        pred = self.module.model(self.module.standardise(x), training=True)
        return weighted_huber(y / self.module.output_scale, pred, w)
