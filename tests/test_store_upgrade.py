"""Models saved before the optimizer's slots became flat (one first- and one second-moment
variable per weight, `optimizer/m/0`, `optimizer/m/1`, ...) still load: every value lands in
the current networks, which then learn on exactly as a learner that never left memory."""

import numpy as np
import pytest
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.learning.learner import PairLearner
from self_learning.store.layout import VARIABLES_PREFIX
from self_learning.store.network import read_network


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
        read_network(module, tmp_path / name)
    pairs = zip(original.modules().values(), restored.modules().values(), strict=True)
    for a, b in pairs:
        for x, y in zip(a.state_variables(), b.state_variables(), strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert np.abs(restored.discovery.modules["feature_discovery"].optimizer.m.numpy()).sum() > 0
    # Both learn the next candles bit-identically (the block carries its own window context,
    # as freqtrade's candle history does after a restart).
    ahead = candles.rows(slice(1560, 1700))
    p, q = original.observe(ahead), restored.observe(ahead)
    np.testing.assert_array_equal(p.s_close, q.s_close)
    assert original.training_counter == restored.training_counter > 1 + 90


def test_a_slot_piece_missing_is_not_loaded(candles, tmp_path):
    original = learner(candles, steps=True)
    module = original.discovery.modules["feature_discovery"]
    write_split_layout(module, tmp_path, drop_last=True)
    target = learner(candles, steps=False).discovery.modules["feature_discovery"]
    with pytest.raises(AssertionError):
        read_network(target, tmp_path)
    assert not target.optimizer.m.numpy().any() and not target.optimizer.v.numpy().any()
