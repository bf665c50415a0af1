"""The per-candle step moves the networks once per `network_batch` learned samples, on the
newest samples of the replay memory, and a learner restored in the middle of a batch goes on
bit for bit like one that never stopped (the batch lives in checkpointed state)."""

import copy

import numpy as np
import pytest
from synthetic import FEATURES, TIMEFRAME_S, planted_candles, small_config, small_learner

from self_learning.learning.learner import PairLearner
from self_learning.store import assign_snapshot, snapshot_variables


@pytest.fixture(scope="module")
def candles():
    return planted_candles(1900, seed=11)


def fitted(candles, end=1500):
    learner = small_learner()
    learner.fit(candles.rows(slice(0, end)))
    return learner


def network_weights(learner) -> list[np.ndarray]:
    return [v.numpy().copy() for net in learner.nets.in_order()
            for v in net.trainable_variables()]


def test_networks_step_once_per_batch_of_learned_samples(candles):
    """Stepping candle by candle, the networks' weights change exactly at the candles whose
    learned sample completes a batch (training counter a multiple of `network_batch`), and
    only those candles report the update's losses."""
    learner = fitted(candles)
    batch = learner.settings.network_batch
    assert batch > 1
    moved_at, loss_at = [], []
    before = network_weights(learner)
    for i in range(1500, 1560):
        p = learner.observe(candles.rows(slice(i, i + 1)))
        after = network_weights(learner)
        if any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)):
            moved_at.append(learner.training_counter)
        if np.isfinite(p.scores["loss_liquidity"]).any():
            loss_at.append(learner.training_counter)
        before = after
    assert len(moved_at) >= 5
    assert all(counter % batch == 0 for counter in moved_at), moved_at
    assert loss_at == moved_at


def test_a_learner_restored_in_the_middle_of_a_batch_goes_on_bit_for_bit(candles):
    """A snapshot taken between two network steps (what a save writes), assigned to a fresh
    learner: both step the same candles to identical weights, state and predictions."""
    original = fitted(candles)
    original.observe(candles.rows(slice(1500, 1600)))
    end = 1600
    while original.training_counter % original.settings.network_batch in (0, 1):
        original.observe(candles.rows(slice(end, end + 1)))
        end += 1
    snap = snapshot_variables(original.modules())
    restored = PairLearner(small_config(), FEATURES, TIMEFRAME_S)
    assign_snapshot(restored.modules(), snap)
    restored.history = copy.deepcopy(original.history)  # what a restart reads from FreqAI
    p = original.observe(candles.rows(slice(end, 1700)))
    q = restored.observe(candles.rows(slice(end, 1700)))
    np.testing.assert_array_equal(p.liq_up, q.liq_up)
    np.testing.assert_array_equal(p.novelty, q.novelty)
    a, b = snapshot_variables(original.modules()), snapshot_variables(restored.modules())
    for name in a:
        for key in a[name]:
            np.testing.assert_array_equal(a[name][key], b[name][key], err_msg=f"{name} {key}")
