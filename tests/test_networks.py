"""One contract suite (`check_network`) run over each of the three networks, River-style.

Each case builds the network with seeded initialisers and op determinism, on samples prepared
from synthetic candles whose structure is planted and learnable.
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

W, H, LATENT = 16, 6, 4


@pytest.fixture(scope="module")
def data():
    deterministic()
    s = prepare(planted_candles(2400, seed=3), W, H, TIMEFRAME_S)
    rows = s.target_ok
    latent = np.random.default_rng(0).normal(size=(len(s.ts), LATENT)).astype(np.float32)
    x = np.concatenate([s.features, latent], axis=1)
    return {"windows": s.windows[rows], "x": x[rows], "y": s.targets[rows]}


def autoencoder(d):
    net = MarketStructureAutoencoder(W, LATENT, 32, 1e-3, seed=1)
    net.set_scaling(d["windows"])
    return net, d["windows"], d["windows"]


def discovery(d):
    net = FeatureDiscoveryNetwork(d["x"].shape[1] - LATENT, LATENT, 32, 1e-3, seed=1)
    net.set_scaling(d["x"], d["y"][:, 0])
    return net, d["x"], d["y"][:, 0]


def liquidity(d):
    net = LiquidityPredictionModel(d["x"].shape[1] - LATENT, LATENT, 32, 1e-3, seed=1)
    net.set_scaling(d["x"], d["y"][:, 1:])
    return net, d["x"], d["y"][:, 1:]


def output(net, x):
    if isinstance(net, MarketStructureAutoencoder):
        return net.reconstruction_error(x).numpy()
    return np.asarray(net.raw(x)).reshape(len(x), -1)


def quality_score(net, x, y):
    """Out-of-sample skill: correlation of prediction and target (per output, averaged); for
    the autoencoder, the fraction of input variance its reconstruction explains."""
    if isinstance(net, MarketStructureAutoencoder):
        z = net.encoder.standardise(x).numpy()
        return 1.0 - float(net.reconstruction_error(x).numpy().mean() / z.var(axis=0).mean())
    pred = output(net, x)
    y = y.reshape(len(y), -1)
    return float(np.mean([np.corrcoef(pred[:, i], y[:, i])[0, 1] for i in range(y.shape[1])]))


NETWORKS = [autoencoder, discovery, liquidity]


def weights(net):
    return [v.numpy().copy() for m in net.modules.values() for v in m.state_variables()]


@pytest.mark.parametrize("build", NETWORKS, ids=lambda b: b.__name__)
def test_learns_planted_signal(build, data):
    """Loss falls over training and the out-of-sample skill on held-out rows is positive."""
    deterministic()
    net, x, y = build(data)
    cut = int(len(x) * 0.75)
    report = net.fit(x[:cut], y[:cut], epochs=15, batch_size=128,
                     rng=np.random.default_rng(0))
    losses = [h[0] for h in report["history"]]
    assert losses[-1] < losses[0]
    assert quality_score(net, x[cut:], y[cut:]) > 0.05


@pytest.mark.parametrize("build", NETWORKS, ids=lambda b: b.__name__)
def test_update_incremental_continues_from_current_weights(build, data):
    """An incremental pass changes the weights a little; it does not re-initialise them."""
    deterministic()
    net, x, y = build(data)
    net.fit(x[:1000], y[:1000], epochs=5, batch_size=128, rng=np.random.default_rng(0))
    before = weights(net)
    net.update_incremental(x[1000:1300], y[1000:1300], epochs=1, batch_size=128)
    after = weights(net)
    fresh, _, _ = build(data)
    moved = sum(float(np.abs(a - b).sum()) for a, b in zip(after, before, strict=True))
    to_fresh = sum(float(np.abs(a - f).sum()) for a, f in zip(after, weights(fresh), strict=True))
    assert moved > 0
    assert moved < 0.5 * to_fresh


@pytest.mark.parametrize("build", NETWORKS, ids=lambda b: b.__name__)
def test_learning_does_not_mutate_inputs(build, data):
    deterministic()
    net, x, y = build(data)
    x0, y0 = x.copy(), y.copy()
    net.update_incremental(x[:300], y[:300], epochs=1, batch_size=64)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("build", NETWORKS, ids=lambda b: b.__name__)
def test_seeding_is_repeatable(build, data):
    """Same seed, same data, same order: bit-identical weights."""
    results = []
    for _ in range(2):
        deterministic()
        net, x, y = build(data)
        net.fit(x[:600], y[:600], epochs=2, batch_size=128, rng=np.random.default_rng(5))
        results.append(weights(net))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("build", NETWORKS, ids=lambda b: b.__name__)
def test_checkpoint_roundtrip_predicts_identically(build, data, tmp_path):
    """Save -> load into a freshly built network -> identical outputs and optimizer state."""
    deterministic()
    net, x, y = build(data)
    net.fit(x[:600], y[:600], epochs=2, batch_size=128)
    for name, module in net.modules.items():
        tf.train.Checkpoint(root=module).write(str(tmp_path / name))
    other, _, _ = build(data)
    for name, module in other.modules.items():
        tf.train.Checkpoint(root=module).read(str(tmp_path / name)).assert_consumed()
    np.testing.assert_array_equal(output(net, x[:50]), output(other, x[:50]))
    for a, b in zip(weights(net), weights(other), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("build", NETWORKS, ids=lambda b: b.__name__)
def test_non_finite_batch_is_rejected_and_weights_unchanged(build, data):
    """A NaN target or an infinite input rejects the step: weights and optimizer untouched."""
    deterministic()
    net, x, y = build(data)
    before = weights(net)
    bad_x = x[:64].copy()
    bad_x[3, 0] = np.inf
    bad_y = y[:64].copy()
    bad_y.reshape(-1)[0] = np.nan
    if isinstance(net, MarketStructureAutoencoder):
        bad_x[5, 1] = np.nan
        batches = [(bad_x, bad_x)]
    else:
        batches = [(x[:64], bad_y), (bad_x, y[:64])]
    for bx, by in batches:
        loss, applied = net.train_step(bx, by, np.ones(64, np.float32))
        assert not bool(applied)
    for a, b in zip(before, weights(net), strict=True):
        np.testing.assert_array_equal(a, b)
