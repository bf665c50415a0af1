"""Stores written by earlier layouts still load (learning/upgrades.py):

* models saved before the optimizer's slots became flat (one first- and one second-moment
  variable per weight) load every value into the flat slots and learn on exactly as a learner
  that never left memory;
* a live store written by the previous release (tests/fixtures/store_d109fea, made by
  `tests/fixtures/make_store.py d109fea` on commit d109fea, before the wide head's statistics
  existed) loads through the runtime: networks, counters, replay and novelty are kept, the
  wide head is re-learned at the next training, and nothing is predicted before it.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.learning import upgrades
from self_learning.learning.learner import PairLearner
from self_learning.networks.pair_networks import SCHEMA
from self_learning.runtime.lifecycle import SelfLearningRuntime
from self_learning.store.layout import VARIABLES_PREFIX
from self_learning.store.network import read_network

FIXTURE = Path(__file__).parent / "fixtures" / "store_d109fea"
CURRENT_SCHEMA = {"layout": SCHEMA}


class SplitSlots(tf.Module):
    """FusedAdam's object graph as it was saved before: a slot variable per weight."""

    def __init__(self, flat, drop_last: bool = False):
        super().__init__()
        self.learning_rate, self.iterations = flat.learning_rate, flat.iterations
        pieces = lambda slot: [  # noqa: E731
            tf.Variable(tf.reshape(p, shape))
            for p, shape in zip(tf.split(slot, flat.sizes), flat.shapes, strict=True)]
        self.m, self.v = pieces(flat.m), pieces(flat.v)
        if drop_last:
            self.m, self.v = self.m[:-1], self.v[:-1]


def write_split_layout(module: tf.Module, folder, drop_last: bool = False) -> None:
    flat = module.optimizer
    module.optimizer = SplitSlots(flat, drop_last)
    try:
        tf.train.Checkpoint(root=module).write(str(folder / VARIABLES_PREFIX))
    finally:
        module.optimizer = flat


@pytest.fixture(scope="module")
def candles():
    return planted_candles(1800, seed=5)


def learner(candles, steps: bool) -> PairLearner:
    deterministic()
    out = PairLearner(small_config(epochs=2), FEATURES, TIMEFRAME_S)
    if steps:
        out.fit(candles.rows(slice(0, 1500)))
        out.observe(candles.rows(slice(1500, 1600)))  # moments and counters move online too
    return out


def test_slots_saved_per_weight_load_into_flat_slots_and_learning_resumes(candles, tmp_path):
    original = learner(candles, steps=True)
    for name, module in original.modules().items():
        if hasattr(module, "optimizer"):
            write_split_layout(module, tmp_path / name)
        else:
            tf.train.Checkpoint(root=module).write(str(tmp_path / name / VARIABLES_PREFIX))
    restored = learner(candles, steps=False)
    for name, module in restored.modules().items():
        read_network(module, tmp_path / name, name, CURRENT_SCHEMA, upgrades.upgrade)
    pairs = zip(original.modules().values(), restored.modules().values(), strict=True)
    for a, b in pairs:
        for x, y in zip(a.state_variables(), b.state_variables(), strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert np.abs(restored.nets.liquidity.module.optimizer.m.numpy()).sum() > 0
    # Both learn the next candles bit-identically (the block carries its own window context,
    # as freqtrade's candle history does after a restart).
    ahead = candles.rows(slice(1560, 1700))
    p, q = original.observe(ahead), restored.observe(ahead)
    np.testing.assert_array_equal(p.s_close, q.s_close)
    assert original.training_counter == restored.training_counter > 1 + 90


def test_a_slot_piece_missing_is_not_loaded(candles, tmp_path):
    original = learner(candles, steps=True)
    module = original.nets.discovery.module
    write_split_layout(module, tmp_path, drop_last=True)
    target = learner(candles, steps=False).nets.discovery.module
    with pytest.raises(AssertionError):
        read_network(target, tmp_path, "feature_discovery", CURRENT_SCHEMA, upgrades.upgrade)
    assert not target.optimizer.m.numpy().any() and not target.optimizer.v.numpy().any()


def test_the_previous_releases_live_store_loads_and_keeps_learning(candles, tmp_path):
    root = tmp_path / "self_learning"
    shutil.copytree(FIXTURE, root)
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    rt = SelfLearningRuntime(small_config(), root, TIMEFRAME_S, background_saves=False)
    restored = rt.learners.learner("BTC/USDT", FEATURES, int(candles.ts[1599]))
    assert restored.training_counter > 100  # the old store's counter
    assert int(restored.state.replay_count.numpy()) > 0
    enc = restored.nets.autoencoder.encoder
    assert np.abs(enc.model.trainable_variables[0].numpy()).sum() > 0
    assert not restored.wide_ready
    early = restored.predict(candles.rows(slice(1500, 1600)))
    assert not early.ok.any()  # no trade on a wide head that has not learned yet
    report = rt.fit("BTC/USDT", FEATURES, candles.rows(slice(100, 1700)))
    assert report.mode == "incremental" and restored.wide_ready
    later = restored.observe(candles.rows(slice(1700, 1800)))
    assert later.ok.all() and np.isfinite(later.s_close).all()
    assert np.corrcoef(later.s_close, candles.features[1700:1800, 0])[0, 1] > 0.2
    rt.shutdown()
    for rel, data in before.items():  # the old version is kept as it was
        if rel.name != "CURRENT":
            assert (root / rel).read_bytes() == data
    again = SelfLearningRuntime(small_config(), root, TIMEFRAME_S, background_saves=False)
    back = again.learners.learner("BTC/USDT", FEATURES, int(candles.ts[1799]))
    assert back.wide_ready and back.training_counter == restored.training_counter
    np.testing.assert_array_equal(back.nets.discovery.module.wide_beta.numpy(),
                                  restored.nets.discovery.module.wide_beta.numpy())


def test_a_foreign_checkpoint_is_not_upgraded(candles, tmp_path):
    """A checkpoint with values this code does not know is refused (nothing assigned)."""
    other = PairLearner(small_config(hidden_units=24), FEATURES, TIMEFRAME_S)
    module = other.nets.liquidity.module
    tf.train.Checkpoint(root=module).write(str(tmp_path / VARIABLES_PREFIX))
    target = learner(candles, steps=False).nets.liquidity.module
    before = [v.numpy().copy() for v in target.state_variables()]
    prefix = str(tmp_path / VARIABLES_PREFIX)
    assert not upgrades.upgrade("liquidity", target, prefix, {})
    for v, b in zip(target.state_variables(), before, strict=True):
        np.testing.assert_array_equal(v.numpy(), b)
