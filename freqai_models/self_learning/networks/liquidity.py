"""LiquidityPredictionModel: predicted upward and downward price excursions over H candles.

Outputs `&-liq_up` >= 0 and `&-liq_down` <= 0 (softplus heads). Supervised on realized
excursions; rows whose future is not known yet can be given trailing excursions as
self-supervised targets with a lower weight (the learner decides).
"""

from __future__ import annotations

import keras
import numpy as np

from self_learning.networks.base import ConditionedNetwork
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


class LiquidityPredictionModel(ConditionedNetwork):
    """Predicts [&-liq_up, &-liq_down] from [features, latent]."""

    NAME = "liquidity"

    def __init__(self, n_features: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        model = _model(int(n_features) + int(latent_dim), hidden_units, seed + 100)
        super().__init__(model, n_features, latent_dim, 2, learning_rate, seed)

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        y = np.abs(np.asarray(y, dtype=np.float64))
        self.module.set_scaling(x, None)
        scale = np.maximum(np.nanmean(y, axis=0), 1e-6)
        self.module.output_scale.assign(scale.astype(np.float32))
