"""FeatureDiscoveryNetwork: a gated wide-and-deep regressor of the return target `&-s_close`.

* Wide head: a robust ridge regression on the strategy's standardised features, learned in
  closed form from decayed sufficient statistics (returns/ridge.py) that can be pooled with
  other pairs' (returns/pool.py). It carries most of the signal: at this signal-to-noise
  ratio a closed-form linear model beats networks out of sample.
* Deep head: a FeatureGate (learned per-input gates in (0, 1): the discovered feature
  importances) in front of a small SiLU network over [features, latent], trained by gradient
  steps on what the wide head leaves (its residual), and blended in with a weight
  `deep_blend` chosen on a purged validation tail at the first training (0 when it does not
  help out of sample).

Both heads work in units of the pair's target spread (`output_scale`), so pairs pool.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.networks.base import (
    FeatureLatentNetwork,
    TrainableModule,
    standardised,
    weighted_huber,
)
from self_learning.networks.blocks import FeatureGate, dense_stack
from self_learning.returns import models as return_models

L2 = 1e-4


def _model(input_dim: int, hidden: int, seed: int) -> keras.Model:
    inputs = keras.Input((input_dim,), name="inputs")
    gated = FeatureGate(name="gate")(inputs)
    deep = dense_stack(gated, hidden, 2, L2, "deep", seed)
    out = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 50), name="deep_out"
    )(deep)
    return keras.Model(inputs, out, name="discovery")


class WideDeepModule(TrainableModule):
    """The deep Keras model plus the return predictor's ridge models (returns/models.py)."""

    def __init__(self, model: keras.Model, n_features: int, latent_dim: int,
                 learning_rate: float, name: str):
        super().__init__(model, n_features + latent_dim, 1, learning_rate, name)
        self.models = return_models.create(self, n_features)

    def extra_variables(self) -> list:
        return self.models.variables()


class FeatureDiscoveryNetwork(FeatureLatentNetwork):
    """Predicts `&-s_close` from the strategy's features (wide) and [features, latent] (deep)."""

    NAME = "feature_discovery"

    def __init__(self, n_features: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        self.n_features, self.latent_dim = int(n_features), int(latent_dim)
        model = _model(self.n_features + self.latent_dim, hidden_units, seed)
        self._attach(WideDeepModule(model, self.n_features, self.latent_dim, learning_rate,
                                    self.NAME))

    def set_scaling(self, features: np.ndarray, target: np.ndarray) -> None:
        self.module.set_input_scaling(features, dims=self.n_features)
        scale = max(float(np.nanstd(np.asarray(target, np.float64))), 1e-6)
        self.module.output_scale.assign([scale])

    def wide_inputs(self, features):
        """Standardised, clipped features: the z of the wide head's statistics."""
        m, f = self.module, self.n_features
        return standardised(features, m.input_mean[:f], m.input_std[:f])

    def deep(self, features, latent, training=False):
        """Deep head output (n,) in units of the target spread."""
        x = tf.concat([tf.cast(features, tf.float32), tf.cast(latent, tf.float32)], axis=-1)
        return self.module.model(self.module.standardise(x), training=training)[:, 0]

    def predictions(self, features, latent):
        """(served, challenger's, incumbent's) predictions in units of the target spread
        (returns/models.py); served is the incumbent's while a challenge serves it."""
        r = self.module.models
        z = self.wide_inputs(features)
        deep = r.deep_blend * self.deep(features, latent)
        challenger = tf.linalg.matvec(z, r.challenger.beta) + deep
        incumbent = tf.linalg.matvec(z, r.incumbent.beta) + deep
        return tf.where(r.serving_incumbent(), incumbent, challenger), challenger, incumbent

    def predict(self, features, latent):
        """`&-s_close` in return units (the served prediction)."""
        return self.predictions(features, latent)[0] * self.module.output_scale[0]

    def scaled_target(self, s_close):
        return tf.cast(s_close, tf.float32) / self.module.output_scale[0]

    def loss(self, features, latent, s_close, weights):
        """Huber loss of the deep head on the wide head's residual (wide held fixed)."""
        wide = tf.stop_gradient(tf.linalg.matvec(self.wide_inputs(features),
                                                 self.module.models.challenger.beta))
        residual = self.scaled_target(s_close) - wide
        pred = self.deep(features, latent, training=True)
        return weighted_huber(residual[:, None], pred[:, None], weights)
