"""MarketStructureAutoencoder: compresses a window of candles into a small latent vector.

Separate encoder and decoder models (each its own SavedModel). The latent vector can feed the
deep parts of the two other networks; the reconstruction error, as a z-score against its own
recent history (kept in the learner's state), is the novelty score.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from self_learning.candles.features import CHANNELS
from self_learning.networks.base import Network, TrainableModule
from self_learning.networks.blocks import dense_stack

L2 = 1e-5


def _encoder(input_dim: int, latent_dim: int, hidden: int, seed: int) -> keras.Model:
    inputs = keras.Input((input_dim,), name="window")
    x = dense_stack(inputs, hidden, 2, L2, "enc", seed)
    latent = keras.layers.Dense(
        latent_dim, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 10),
        name="latent",
    )(x)
    return keras.Model(inputs, latent, name="encoder")


def _decoder(latent_dim: int, output_dim: int, hidden: int, seed: int) -> keras.Model:
    inputs = keras.Input((latent_dim,), name="latent")
    x = dense_stack(inputs, hidden // 2, 1, L2, "dec_a", seed + 20)
    x = dense_stack(x, hidden, 1, L2, "dec_b", seed + 30)
    out = keras.layers.Dense(
        output_dim, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 40),
        name="reconstruction",
    )(x)
    return keras.Model(inputs, out, name="decoder")


class MarketStructureAutoencoder(Network):
    """Window of `window` candles x 4 channels -> latent (`latent_dim`) -> reconstruction."""

    NAME = "autoencoder"

    def __init__(self, window: int, latent_dim: int, hidden_units: int, learning_rate: float,
                 seed: int):
        self.window = int(window)
        self.input_dim = self.window * CHANNELS
        self.latent_dim = int(latent_dim)
        self.encoder = TrainableModule(
            _encoder(self.input_dim, latent_dim, hidden_units, seed),
            self.input_dim, latent_dim, learning_rate, "encoder",
        )
        self.decoder = TrainableModule(
            _decoder(latent_dim, self.input_dim, hidden_units, seed),
            latent_dim, self.input_dim, learning_rate, "decoder",
        )
        self.encoder.serve = tf.function(
            self.encode, input_signature=[tf.TensorSpec([None, self.input_dim], tf.float32)],
            autograph=False,
        )
        self.decoder.serve = tf.function(
            self.decode, input_signature=[tf.TensorSpec([None, latent_dim], tf.float32)],
            autograph=False,
        )

    @property
    def modules(self) -> dict[str, TrainableModule]:
        return {"encoder": self.encoder, "decoder": self.decoder}

    def set_scaling(self, windows: np.ndarray) -> None:
        """One mean/spread per channel, shared over window positions (shift-invariant)."""
        flat = np.asarray(windows, dtype=np.float64).reshape(-1, CHANNELS)
        mean = np.tile(np.nanmean(flat, axis=0), self.window)
        std = np.tile(np.maximum(np.nanstd(flat, axis=0), 1e-6), self.window)
        self.encoder.input_mean.assign(mean.astype(np.float32))
        self.encoder.input_std.assign(std.astype(np.float32))

    def encode(self, windows):
        return self.encoder.model(self.encoder.standardise(windows), training=False)

    def decode(self, latent):
        return self.decoder.model(latent, training=False)

    def forward(self, windows, training: bool = False):
        """(latent, mean squared reconstruction error per window in standardised units)."""
        target = self.encoder.standardise(windows)
        latent = self.encoder.model(target, training=training)
        recon = self.decoder.model(latent, training=training)
        return latent, tf.reduce_mean(tf.square(recon - target), axis=-1)

    @staticmethod
    def loss(errors, weights):
        """Weighted mean of the per-window reconstruction errors of `forward`."""
        return tf.reduce_sum(errors * weights) / tf.maximum(tf.reduce_sum(weights), 1e-8)
