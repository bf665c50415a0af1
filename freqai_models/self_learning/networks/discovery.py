"""FeatureDiscoveryNetwork: gated wide-and-deep regressor of the FreqAI return target.

Input: FreqAI's feature matrix plus the autoencoder's latent vector. A FeatureGate in front
learns which inputs matter (`importances()`); a linear (wide) path and a small deep path are
summed. Online updates take per-sample weights from the realized quality of its own signals.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.networks.base import Network, TrainableModule, weighted_huber
from self_learning.networks.blocks import FeatureGate, dense_stack

L2 = 1e-4


def _model(input_dim: int, hidden: int, seed: int) -> keras.Model:
    inputs = keras.Input((input_dim,), name="inputs")
    gated = FeatureGate(name="gate")(inputs)
    deep = dense_stack(gated, hidden, 2, L2, "deep", seed)
    deep = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 50), name="deep_out"
    )(deep)
    wide = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 60),
        kernel_regularizer=keras.regularizers.L2(L2), name="wide_out",
    )(gated)
    return keras.Model(inputs, keras.layers.Add(name="s_close")([deep, wide]), name="discovery")


class FeatureDiscoveryNetwork(Network):
    """Predicts `&-s_close` from [features, latent]; gates are the feature importances."""

    def __init__(self, n_features: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        super().__init__(seed)
        self.n_features = int(n_features)
        self.input_dim = self.n_features + int(latent_dim)
        self.module = TrainableModule(
            _model(self.input_dim, hidden_units, seed), self.input_dim, 1, learning_rate,
            "feature_discovery",
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
        return {"feature_discovery": self.module}

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        self.module.set_scaling(x, np.asarray(y).reshape(-1, 1))

    def raw(self, x):
        """Scaled output (target / output_scale) for combined inputs x = [features, latent]."""
        return self.module.model(self.module.standardise(x), training=False)[:, 0]

    def predict(self, features, latent):
        x = tf.concat([tf.cast(features, tf.float32), tf.cast(latent, tf.float32)], axis=-1)
        return self.raw(x) * self.module.output_scale[0]

    def loss(self, x, y, w):
        y_scaled = tf.reshape(y, [-1, 1]) / self.module.output_scale
        pred = self.module.model(self.module.standardise(x), training=True)
        return weighted_huber(y_scaled, pred, w)

    def importances(self) -> np.ndarray:
        """Gate value per input (features first, then latent dims)."""
        return self.module.model.get_layer("gate").gates().numpy()
