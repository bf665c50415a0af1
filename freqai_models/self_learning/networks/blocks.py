"""Shared Keras building blocks."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="self_learning")
class FeatureGate(keras.layers.Layer):
    """Multiplies each input feature by a learned gate in (0, 1): the gates are the
    discovered feature importances. Gates start open (sigmoid(2) ~ 0.88)."""

    def __init__(self, initial_logit: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_logit = float(initial_logit)

    def build(self, input_shape):
        self.logits = self.add_weight(
            name="gate_logits",
            shape=(int(input_shape[-1]),),
            initializer=keras.initializers.Constant(self.initial_logit),
            trainable=True,
        )

    def call(self, inputs):
        return inputs * keras.ops.sigmoid(self.logits)

    def gates(self) -> tf.Tensor:
        return tf.sigmoid(self.logits)

    def get_config(self):
        return {**super().get_config(), "initial_logit": self.initial_logit}


def dense_stack(x, units: int, depth: int, l2: float, name: str, seed: int):
    """`depth` Dense+SiLU layers of `units` (halving), L2-regularised, seeded initialisers."""
    for i in range(depth):
        x = keras.layers.Dense(
            max(units // (2**i), 4),
            activation="silu",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
            kernel_regularizer=keras.regularizers.L2(l2),
            name=f"{name}_dense{i}",
        )(x)
    return x
