"""The three networks and the wide head learn what the synthetic candles plant, and the
compiled update is its eager definition.

Every network learns through the one guarded update of learning/program.py (what full fits,
incremental fits and the per-candle step all run); that update trains the three together, so
each test runs it once and checks every network. The properties every online learner must
have (learning moves a prediction toward its target, seeding, rejected non-finite input, store
round trip, no mutated inputs) are one suite over all learners: test_learner_checks.py.
"""

import numpy as np
import pytest
import tensorflow as tf
from synthetic import FEATURES, deterministic, planted_candles, small_config

from self_learning.candles.samples import prepare
from self_learning.learning.program import Programs
from self_learning.learning.settings import LearningSettings
from self_learning.learning.state import LearnerState, read_scalar
from self_learning.networks.pair_networks import PairNetworks

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


def test_each_network_learns_planted_signal(data):
    """Each network's loss on held-out rows falls with training (epochs of the guarded
    update), and the liquidity network's out-of-sample predictions carry the planted
    volatility regimes."""
    nets, _, programs = build(data)
    n = len(data["targets"])
    train, held = np.arange(0, int(n * 0.75)), np.arange(int(n * 0.75) + H, n)
    before = programs.losses(*batch(data, held)[:4]).numpy()
    args = [tf.constant(data[k][train]) for k in ("windows", "features", "targets")]
    for epoch in range(12):
        order = np.random.default_rng(epoch).permutation(len(train)).astype(np.int32)
        programs.epoch(*args, tf.ones([len(train)]), tf.constant(order), len(train),
                       batch(data, held)[:4], 128)
    after = programs.losses(*batch(data, held)[:4]).numpy()
    for i, name in enumerate(NETWORKS):
        assert after[i] < before[i], (name, before[i], after[i])
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


def test_compiled_update_equals_the_eager_definition(data):
    """The update under XLA (what the per-candle step runs) and run eagerly (its plain Python
    definition) move every network's weights the same way."""
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
        results.append({name: weights(network(nets, name)) for name in NETWORKS})
    for name in NETWORKS:
        for eager, xla in zip(results[0][name], results[1][name], strict=True):
            np.testing.assert_allclose(eager, xla, rtol=1e-4, atol=1e-6, err_msg=name)


def test_read_scalar_reads_the_variable_as_it_is_now():
    """`read_scalar` (the per-candle path's counter reads) gives what `Variable.numpy()`
    gives, as a Python number of the variable's kind, and each read sees the latest assign
    (no copy held from before)."""
    state = LearnerState(8, 3, 2, 4, 4, seed=0)
    for var, values in ((state.training_counter, (0, 7, -2**40)),
                        (state.novelty_var, (1.0, 0.1, 3.5e38))):
        for value in values:
            var.assign(value)
            got = read_scalar(var)
            assert got == var.numpy() and type(got) is type(var.numpy().item())
        var.assign_add(values[0] or 1)
        assert read_scalar(var) == var.numpy()
