"""FeatureDiscoveryNetwork: gated wide-and-deep regressor of the FreqAI return target.

Input: FreqAI's feature matrix plus the autoencoder's latent vector. A FeatureGate in front
learns which inputs matter (`importances()`); a linear (wide) path and a small deep path are
summed. Online updates take per-sample weights from the realized quality of its own signals.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.networks import backprop
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
        self._deep = backprop.dense_specs(model, ["deep_dense0", "deep_dense1", "deep_out"])
        self._wide = backprop.dense_specs(model, ["wide_out"])
        self._gate_logits = model.get_layer("gate").logits

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        self.module.set_scaling(x, np.asarray(y).reshape(-1, 1))

    def predict(self, features, latent):
        return super().predict(features, latent)[:, 0]

    def importances(self) -> np.ndarray:
        """Gate value per input (features first, then latent dims)."""
        return self.module.model.get_layer("gate").gates().numpy()

    # -- the online step's hand-derived passes (see backprop.py) ----------------------------

    def _gated(self, x):
        z = self.module.standardise(x)
        gate = tf.sigmoid(tf.convert_to_tensor(self._gate_logits))
        return z, gate, z * gate

    def forward(self, x):
        """Prediction in target units for x = [features, latent], as `predict`."""
        _, _, gated = self._gated(x)
        deep, _ = backprop.forward(gated, self._deep)
        wide, _ = backprop.forward(gated, self._wide)
        return (deep + wide)[:, 0] * self.module.output_scale[0]

    def online_pass(self, x, y, w):
        """(loss, gradients of the trainable variables) of `loss` + L2, hand-derived."""
        z, gate, gated = self._gated(x)
        deep, deep_cache = backprop.forward(gated, self._deep)
        wide, wide_cache = backprop.forward(gated, self._wide)
        y_scaled = tf.reshape(y, [-1, 1]) / self.module.output_scale
        loss, d_pred = backprop.weighted_huber_and_grad(y_scaled, deep + wide, w)
        deep_grads, d_deep = backprop.backward(d_pred, self._deep, deep_cache, True)
        wide_grads, d_wide = backprop.backward(d_pred, self._wide, wide_cache, True)
        d_logits = tf.reduce_sum((d_deep + d_wide) * z, axis=0) * gate * (1.0 - gate)
        grads = {**deep_grads, **wide_grads, id(self._gate_logits): d_logits}
        return loss, backprop.ordered(grads, self.module.model.trainable_variables)
