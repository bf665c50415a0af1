"""FeatureDiscoveryNetwork: gated wide-and-deep regressor of the FreqAI return target.

Input: FreqAI's feature matrix plus the autoencoder's latent vector. A FeatureGate in front
learns which inputs matter (`importances()`); a linear (wide) path and a small deep path are
summed. Online updates take per-sample weights from the realized quality of its own signals.
"""

from __future__ import annotations

import keras
import numpy as np

from self_learning.networks.base import ConditionedNetwork
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


class FeatureDiscoveryNetwork(ConditionedNetwork):
    """Predicts `&-s_close` from [features, latent]; gates are the feature importances."""

    NAME = "feature_discovery"

    def __init__(self, n_features: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        model = _model(int(n_features) + int(latent_dim), hidden_units, seed)
        super().__init__(model, n_features, latent_dim, 1, learning_rate, seed)

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        self.module.set_scaling(x, np.asarray(y).reshape(-1, 1))

    def predict(self, features, latent):
        return super().predict(features, latent)[:, 0]

    def importances(self) -> np.ndarray:
        """Gate value per input (features first, then latent dims)."""
        return self.module.model.get_layer("gate").gates().numpy()
