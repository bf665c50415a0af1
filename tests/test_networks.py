"""One contract suite (`check_network`) run over each of the three networks, River-style.

Every network learns through the one guarded update of learning/program.py (what full fits,
incremental fits and the per-candle step all run). Each case builds the pair's networks with
seeded initialisers and op determinism, on samples prepared from synthetic candles whose
structure is planted and learnable.
"""

import numpy as np
import pytest
import tensorflow as tf
from synthetic import FEATURES, deterministic, planted_candles, small_config

from self_learning.learning.program import Programs
from self_learning.learning.settings import LearningSettings
from self_learning.learning.state import LearnerState
from self_learning.networks.pair_networks import PairNetworks
from self_learning.samples import prepare
from self_learning.store import ModelStore

W, H = 16, 6
NETWORKS = ["autoencoder", "feature_discovery", "liquidity"]


@pytest.fixture(scope="module")
def data():
    s = prepare(planted_candles(2400, seed=3), W, H, proxy=False)
    rows = s.target_ok
    return {"windows": s.windows[rows], "features": s.features[rows], "targets": s.targets[rows]}


def build(data, seed=7):
    """PairNetworks + state + Programs, scaled on the data (the deep head trained too)."""
    deterministic(seed)
    config = small_config(seed=seed, deep_head=True)
    nets = PairNetworks(config, len(FEATURES))
    state = LearnerState(nets.autoencoder.input_dim, len(FEATURES), H, 64, 32, seed)
    programs = Programs(nets, state, LearningSettings.from_config(config, 300))
    nets.autoencoder.set_scaling(data["windows"])
    nets.discovery.set_scaling(data["features"], data["targets"][:, 0])
    nets.liquidity.set_scaling(data["features"], data["targets"][:, 1:])
    return nets, state, programs


def network(nets, name):
    return {"autoencoder": nets.autoencoder, "feature_discovery": nets.discovery,
            "liquidity": nets.liquidity}[name]


def weights(net):
    return [v.numpy().copy() for m in net.modules.values() for v in m.state_variables()]


def batch(data, rows):
    n = len(rows)
    return (tf.constant(data["windows"][rows]), tf.constant(data["features"][rows]),
            tf.constant(data["targets"][rows]), tf.ones([n]), tf.ones([n]))


def val_loss(programs, data, rows, name):
    losses = programs.losses(*batch(data, rows)[:4]).numpy()
    return float(losses[NETWORKS.index(name)])


@pytest.mark.parametrize("name", NETWORKS)
def test_learns_planted_signal(name, data):
    """The network's loss on held-out rows falls with training (epochs of the guarded
    update), and predictions made out of sample carry the planted structure."""
    nets, _, programs = build(data)
    n = len(data["targets"])
    train, held = np.arange(0, int(n * 0.75)), np.arange(int(n * 0.75) + H, n)
    before = val_loss(programs, data, held, name)
    args = [tf.constant(data[k][train]) for k in ("windows", "features", "targets")]
    for epoch in range(12):
        order = np.random.default_rng(epoch).permutation(len(train)).astype(np.int32)
        programs.epoch(*args, tf.ones([len(train)]), tf.constant(order), len(train),
                       batch(data, held)[:4], 128)
    after = val_loss(programs, data, held, name)
    assert after < before
    if name == "liquidity":
        pred = programs.predict_rows(*batch(data, held)[:2]).numpy()
        realized = data["targets"][held]
        # Excursions scale with the planted volatility regime: the prediction follows it.
        assert np.corrcoef(pred[:, 1], realized[:, 1])[0, 1] > 0.3
        assert np.corrcoef(pred[:, 2], realized[:, 2])[0, 1] > 0.3


def test_wide_head_learns_the_planted_return_signal_in_closed_form(data):
    """The discovery network's wide head (robust ridge from sufficient statistics, see
    returns/fitting.py) predicts the held-out returns of the planted signal."""
    from self_learning.returns import ridge
    from self_learning.returns.moments import Moments

    nets, _, _ = build(data)
    d = nets.discovery
    n = len(data["targets"])
    train, held = slice(0, int(n * 0.75)), slice(int(n * 0.75) + H, n)
    z = d.wide_inputs(data["features"]).numpy()
    y = d.scaled_target(data["targets"][:, 0]).numpy()
    ts = np.arange(n, dtype=np.int64) * 300
    spec = ridge.WideSpec(1e9, 0.5, H)
    beta = ridge.irls(z[train], y[train], ts[train], int(ts[train][-1]), spec, 0.3,
                     Moments.zeros(z.shape[1]))
    corr = np.corrcoef(z[held] @ beta, y[held])[0, 1]
    assert corr > 0.15
    assert abs(beta[FEATURES.index("f_signal")]) == np.abs(beta).max()


@pytest.mark.parametrize("name", NETWORKS)
def test_compiled_update_equals_the_eager_definition(name, data):
    """The update under XLA (what the per-candle step runs) and run eagerly (its plain Python
    definition) move the network's weights the same way."""
    rows = np.arange(0, 96)
    results = []
    for mode in ("eager", "xla"):
        nets, _, programs = build(data)
        if mode == "eager":
            ok = programs.guarded_update(*batch(data, rows), 1.0)
        else:
            ok = tf.function(programs.guarded_update, jit_compile=True)(*batch(data, rows),
                                                                        tf.constant(1.0))
        assert bool(ok)
        results.append(weights(network(nets, name)))
    for eager, xla in zip(*results, strict=True):
        np.testing.assert_allclose(eager, xla, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", NETWORKS)
def test_learning_does_not_mutate_its_inputs(name, data):
    nets, _, programs = build(data)
    rows = np.arange(0, 64)
    inputs = {k: data[k][rows].copy() for k in ("windows", "features", "targets")}
    copies = {k: v.copy() for k, v in inputs.items()}
    programs.epoch(*(tf.constant(inputs[k]) for k in ("windows", "features", "targets")),
                   tf.ones([64]), tf.constant(np.arange(64, dtype=np.int32)), 64,
                   batch(data, rows)[:4], 32)
    for k in inputs:
        np.testing.assert_array_equal(inputs[k], copies[k])


@pytest.mark.parametrize("name", NETWORKS)
def test_seeding_is_repeatable_and_seeds_differ(name, data):
    a = weights(network(build(data, seed=7)[0], name))
    b = weights(network(build(data, seed=7)[0], name))
    c = weights(network(build(data, seed=8)[0], name))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("name", NETWORKS)
def test_store_round_trip_restores_exactly(name, data, tmp_path):
    """Saved through the real store and restored into freshly built networks: every
    variable and the served predictions are identical."""
    nets, state, programs = build(data)
    programs.guarded_update(*batch(data, np.arange(0, 96)), 1.0)
    modules = {**nets.modules(), "learner_state": state}
    store = ModelStore(tmp_path, keep_versions=2).pair("BTC/USDT")
    meta = {k: {"training_counter": 1} for k in modules}
    store.save(modules, meta, {k: nets.graph_key() for k in modules})
    fresh, fresh_state, fresh_programs = build(data, seed=8)
    restored = store.restore({**fresh.modules(), "learner_state": fresh_state})
    assert restored is not None
    for x, y in zip(weights(network(nets, name)), weights(network(fresh, name)), strict=True):
        np.testing.assert_array_equal(x, y)
    args = batch(data, np.arange(100, 140))[:2]
    np.testing.assert_array_equal(programs.predict_rows(*args).numpy(),
                                  fresh_programs.predict_rows(*args).numpy())


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("where", ["windows", "features", "targets"])
def test_non_finite_batch_is_rejected_with_weights_untouched(name, where, data):
    nets, _, programs = build(data)
    before = weights(network(nets, name))
    args = list(batch(data, np.arange(0, 32)))
    bad = args[("windows", "features", "targets").index(where)].numpy().copy()
    bad[3, 0] = np.nan
    args[("windows", "features", "targets").index(where)] = tf.constant(bad)
    assert not bool(programs.guarded_update(*args, 1.0))
    for x, y in zip(before, weights(network(nets, name)), strict=True):
        np.testing.assert_array_equal(x, y)
