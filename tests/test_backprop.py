"""The online step's hand-derived passes (networks/backprop.py) against Keras and GradientTape.

For each network: the hand-written forward pass gives the Keras model's outputs, and the
hand-written backward pass gives GradientTape's gradients of the same loss (L2 included), on
trained-looking weights (a few fit epochs, so gates, biases and L2 terms are not at their
initial values) and with uneven sample weights.
"""

import numpy as np
import pytest
import tensorflow as tf
from synthetic import TIMEFRAME_S, deterministic, planted_candles

from self_learning.networks import (
    FeatureDiscoveryNetwork,
    LiquidityPredictionModel,
    MarketStructureAutoencoder,
)
from self_learning.samples import prepare

W, H, LATENT, HIDDEN = 16, 6, 4, 32
RTOL, ATOL = 1e-4, 1e-6


@pytest.fixture(scope="module")
def data():
    deterministic()
    s = prepare(planted_candles(900, seed=5), W, H, TIMEFRAME_S)
    rows = s.target_ok
    latent = np.random.default_rng(1).normal(size=(len(s.ts), LATENT)).astype(np.float32)
    x = np.concatenate([s.features, latent], axis=1)[rows]
    w = np.random.default_rng(2).uniform(0.0, 2.0, size=int(rows.sum())).astype(np.float32)
    w[:5] = 0.0  # rejected-quality rows and empty replay slots carry weight 0
    return {"windows": s.windows[rows], "x": x, "y": s.targets[rows], "w": w}


def _fitted(net, x, y):
    net.fit(x, y, epochs=3, batch_size=64, rng=np.random.default_rng(0))
    return net


def _assert_grads_equal(manual, tape, variables):
    assert len(manual) == len(tape) == len(variables)
    for got, want, var in zip(manual, tape, variables, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=RTOL, atol=ATOL,
                                   err_msg=var.path)


def test_autoencoder_passes_match_keras_and_tape(data):
    net = MarketStructureAutoencoder(W, LATENT, HIDDEN, 1e-3, seed=1)
    net.set_scaling(data["windows"])
    _fitted(net, data["windows"], data["windows"])
    batch = tf.constant(data["windows"][:9])
    w = tf.constant(data["w"][:9])

    latent, error = net.forward(batch)
    np.testing.assert_allclose(latent, net.encode(batch), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(error, net.reconstruction_error(batch), rtol=RTOL, atol=ATOL)

    pass_latent, loss, grads = net.online_pass(batch, w)
    tape_loss, tape_grads = net.gradients(batch, batch, w)
    np.testing.assert_allclose(pass_latent, latent, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(loss, tape_loss, rtol=RTOL)
    _assert_grads_equal(grads, tape_grads, net.trainable_variables())


@pytest.mark.parametrize("kind", [FeatureDiscoveryNetwork, LiquidityPredictionModel])
def test_conditioned_passes_match_keras_and_tape(data, kind):
    y = data["y"][:, :1] if kind is FeatureDiscoveryNetwork else data["y"][:, 1:]
    y = y[:, 0] if kind is FeatureDiscoveryNetwork else y
    net = kind(data["x"].shape[1] - LATENT, LATENT, HIDDEN, 1e-3, seed=1)
    net.set_scaling(data["x"], y)
    _fitted(net, data["x"], y)
    x, yb, w = (tf.constant(a[:9]) for a in (data["x"], y, data["w"]))

    features, latent = x[:, :-LATENT], x[:, -LATENT:]
    np.testing.assert_allclose(net.forward(x), net.predict(features, latent), rtol=RTOL,
                               atol=ATOL)

    loss, grads = net.online_pass(x, yb, w)
    tape_loss, tape_grads = net.gradients(x, yb, w)
    np.testing.assert_allclose(loss, tape_loss, rtol=RTOL)
    _assert_grads_equal(grads, tape_grads, net.trainable_variables())


def test_large_errors_take_the_huber_slope(data):
    """Targets far off (|error| > 1 in scaled units) exercise the linear part of the loss."""
    y = data["y"][:, 0] * 50.0
    net = FeatureDiscoveryNetwork(data["x"].shape[1] - LATENT, LATENT, HIDDEN, 1e-3, seed=1)
    net.set_scaling(data["x"], data["y"][:, 0])
    x, yb, w = (tf.constant(a[:9]) for a in (data["x"], y, data["w"]))
    loss, grads = net.online_pass(x, yb, w)
    tape_loss, tape_grads = net.gradients(x, yb, w)
    np.testing.assert_allclose(loss, tape_loss, rtol=RTOL)
    _assert_grads_equal(grads, tape_grads, net.trainable_variables())
