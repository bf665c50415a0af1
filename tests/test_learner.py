"""PairLearner behaviour: continual fits, signal-quality weighting, online learning parity,
bad input, and concurrent use from several threads."""

import threading

import numpy as np
import pytest
from synthetic import (
    FEATURES,
    TIMEFRAME_S,
    deterministic,
    planted_candles,
    small_config,
    weights_of,
)

from self_learning.learner import PairLearner
from self_learning.networks import FeatureDiscoveryNetwork
from self_learning.quality import quality_weight

H = 6


@pytest.fixture(scope="module")
def candles():
    return planted_candles(2600, seed=11)


def fitted(candles, end=1500, **overrides):
    deterministic()
    learner = PairLearner(small_config(**overrides), FEATURES, TIMEFRAME_S)
    learner.fit(candles.rows(slice(0, end)))
    return learner


def test_incremental_fit_learns_only_new_samples(candles):
    """A retrain over a sliding window learns the samples it has not learned yet, once."""
    learner = fitted(candles)
    first_last = learner.last_learned_ts
    report = learner.fit(candles.rows(slice(300, 1800)))
    assert report.mode == "incremental"
    expected = int(((candles.ts[300:1800] > first_last)).sum()) - H
    assert report.samples == expected
    assert report.replayed == min(expected, 256)  # replay_size of small_config
    assert learner.training_counter == 2
    again = learner.fit(candles.rows(slice(300, 1800)))
    assert again.samples == 0 and learner.training_counter == 3


@pytest.mark.parametrize("quality", [1.0, 0.0])
def test_signal_quality_weighting_moves_predictions_in_stated_direction(quality):
    """Reinforced samples (quality > 0.6) pull predictions towards their target more than
    neutral ones; weakened samples (quality < 0.4) pull less."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6)).astype(np.float32)
    group = np.arange(256) < 128
    y = np.where(group, 0.01, -0.01).astype(np.float32)

    def moved(weight):
        deterministic()
        net = FeatureDiscoveryNetwork(2, 4, 16, 1e-2, seed=3)
        net.set_scaling(x, y)
        before = net.raw(x[group]).numpy().mean()
        w = np.where(group, weight, 1.0).astype(np.float32)
        for _ in range(5):
            net.train_step(x, y, w)
        return net.raw(x[group]).numpy().mean() - before

    neutral = moved(float(quality_weight(0.5)))
    weighted = moved(float(quality_weight(quality)))
    if quality > 0.6:
        assert weighted > neutral > 0
    else:
        assert neutral > weighted


def test_online_block_equals_candle_by_candle(candles):
    """The prequential path (one call over a block, crossing a BLOCK_CAPACITY boundary) and the
    live path (one call per candle) give bit-identical predictions and weights: they run the
    same compiled program."""
    block = fitted(candles)
    single = fitted(candles)
    preds_block = block.observe(candles.rows(slice(1500, 1800)))
    pieces = [single.observe(candles.rows(slice(i, i + 1))) for i in range(1500, 1800)]
    s_close = np.concatenate([p.s_close for p in pieces])
    assert len(preds_block.ts) == len(s_close) == 300
    np.testing.assert_array_equal(preds_block.s_close, s_close)
    np.testing.assert_array_equal(preds_block.novelty, np.concatenate([p.novelty for p in pieces]))
    assert block.training_counter == single.training_counter > 1 + 250
    for a, b in zip(weights_of(block), weights_of(single), strict=True):
        np.testing.assert_array_equal(a, b)
    # observe's mirror of the last candle seen agrees with the checkpointed variable
    assert block._last_seen == single._last_seen == single.last_seen_ts == int(candles.ts[1799])


def _corrupt(candles, kind):
    c = candles.rows(slice(1500, 1560))
    ohlcv, feats, ts = c.ohlcv.copy(), c.features.copy(), c.ts.copy()
    if kind == "nan_feature":
        feats[20, 1] = np.nan
    elif kind == "inf_feature":
        feats[20, 0] = np.inf
    elif kind == "zero_candle":
        ohlcv[20] = 0.0
    elif kind == "constant_candle":
        ohlcv[20, :4] = ohlcv[19, 3]
        ohlcv[20, 4] = 0.0
    return type(c)(ts, ohlcv, feats)


@pytest.mark.parametrize("kind", ["nan_feature", "inf_feature", "zero_candle",
                                  "constant_candle"])
def test_bad_input_is_skipped_counted_and_never_reaches_weights(candles, kind):
    """A candle with a non-finite feature is stepped unpredicted and counted as skipped; a
    broken or no-trade candle is no market observation and is not stepped at all. Neither
    gets a usable prediction, and the weights stay finite."""
    learner = fitted(candles)
    learner.observe(candles.rows(slice(1450, 1500)))
    skipped_before = int(learner.state.skipped_samples.numpy())
    bad = _corrupt(candles, kind)
    preds = learner.observe(bad)
    for w in weights_of(learner):
        assert np.isfinite(w).all() if w.dtype.kind == "f" else True
    assert bad.ts[20] not in preds.ts[preds.ok]
    if kind.endswith("feature"):
        assert int(learner.state.skipped_samples.numpy()) > skipped_before
    else:
        assert bad.ts[20] not in preds.ts and len(preds.ts) == len(bad) - 1
    assert np.isfinite(preds.s_close).all()


def test_threads_share_a_learner_without_torn_state(candles):
    """FreqAI's training thread, the per-candle loop and snapshots (as the saver takes them)
    run concurrently: no exception, no deadlock, every update counted once."""
    learner = fitted(candles, end=1200)
    errors, snapshots, learned = [], [], []

    def trainer():
        try:
            for end in range(1300, 2000, 100):
                learner.fit(candles.rows(slice(end - 1200, end)))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    def stepper():
        try:
            for i in range(1200, 1500):
                learned.append(learner.observe(candles.rows(slice(i, i + 1))).learned)
        except Exception as err:  # pragma: no cover
            errors.append(err)

    def snapshotter():
        for _ in range(30):
            with learner.lock:
                values = weights_of(learner)
                counter = learner.training_counter
            snapshots.append((counter, values))

    threads = [threading.Thread(target=f) for f in (trainer, stepper, snapshotter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert not errors
    fits = 1 + 7
    assert len(learned) == 300
    # Every update is counted exactly once, whichever thread made it (samples a fit already
    # learned are not learned again online).
    assert learner.training_counter == fits + sum(learned)
    assert all(np.isfinite(v).all() for _, vals in snapshots for v in vals if v.dtype.kind == "f")
