"""PairLearner behaviour: continual fits, the wide head's consolidation, signal-quality
weighting, online learning parity, bad input, drift response, and concurrent use from
several threads."""

import threading
from dataclasses import fields

import numpy as np
import pytest
import tensorflow as tf
from synthetic import (
    FEATURES,
    TIMEFRAME_S,
    deterministic,
    planted_candles,
    small_config,
    small_learner,
    weights_of,
)

from self_learning.candles.features import TARGET_NAMES
from self_learning.candles.predictions import SCORE_NAMES
from self_learning.candles.samples import prepare
from self_learning.learning import novelty
from self_learning.learning.compiled import StepBatch
from self_learning.learning.learner import PairLearner
from self_learning.learning.program import STAMPS, StepRow
from self_learning.learning.settings import memory_half_life_s
from self_learning.returns import ridge
from self_learning.returns.pool import StatsPool

H = 6


@pytest.fixture(scope="module")
def candles():
    return planted_candles(2600, seed=11)


def fitted(candles, end=1500, **overrides):
    learner = small_learner(**overrides)
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


def test_the_per_candle_step_learns_a_sample_once_and_only_with_its_own_label(candles,
                                                                             monkeypatch):
    """A pending sample whose candle is the newest one already learned (last_learned_ts, as
    a training or a restore leaves it) is not learned again when it matures; a label that is
    not its candle's (target_ts differs from the pending sample's) is not learned either;
    the next sample, newer and with its own label, is."""
    import dataclasses

    from self_learning.learning import learner as learner_module

    learner = fitted(candles)
    assert learner.observe(candles.rows(slice(1500, 1520))).learned > 0
    learner.state.last_learned_ts.assign(int(candles.ts[1520 - H]))
    counter = learner.training_counter
    assert learner.observe(candles.rows(slice(1520, 1521))).learned == 0
    assert learner.training_counter == counter
    assert learner.observe(candles.rows(slice(1521, 1522))).learned == 1
    made = learner_module.step_batch

    def mislabelled(*args):
        batch = made(*args)
        return dataclasses.replace(batch, target_ts=batch.target_ts - 1)

    monkeypatch.setattr(learner_module, "step_batch", mislabelled)
    assert learner.observe(candles.rows(slice(1522, 1523))).learned == 0
    monkeypatch.setattr(learner_module, "step_batch", made)
    assert learner.observe(candles.rows(slice(1523, 1524))).learned == 1


def test_incremental_fit_consolidates_what_steps_learned_at_full_weight(candles):
    """Per-candle steps add a small-weight preview of each matured sample to the wide head's
    recent statistics; the next FreqAI training drops the preview and learns the same samples
    at full weight, once: afterwards the statistics equal those of a learner that never
    stepped, and the networks do not learn the stepped samples again."""
    stepped, plain = fitted(candles, wide_online_step=0.02), fitted(candles, wide_online_step=0.02)
    stepped.observe(candles.rows(slice(1500, 1700)))
    m = stepped.nets.discovery.module
    assert float(m.recent_n.numpy()) > 0
    report = stepped.fit(candles.rows(slice(200, 1700)))
    plain.fit(candles.rows(slice(200, 1700)))
    assert float(m.recent_n.numpy()) == 0.0
    assert report.replayed == 0  # the networks learned those samples per candle already
    p = plain.nets.discovery.module
    assert int(m.stats_ts.numpy()) == int(p.stats_ts.numpy())
    np.testing.assert_allclose(m.stats_n.numpy(), p.stats_n.numpy(), rtol=1e-5)
    # Huber weights differ only by the coefficients each learner had when it consolidated.
    np.testing.assert_allclose(m.stats_b.numpy(), p.stats_b.numpy(), rtol=0.2, atol=1e-3)


def test_coefficients_stay_the_trainings_until_the_pairs_own_statistics_move(candles):
    """Between trainings the wide head's coefficients stay the training's exact solution while
    nothing the step learns can move its statistics (wide_online_step 0, no drift response),
    even when another pair's newer statistics become known in the pool (taken in at the next
    training); once a drift response boosts the step, they follow the statistics again."""
    config = small_config()
    pool = StatsPool(len(FEATURES), memory_half_life_s(config, TIMEFRAME_S), keep_history=True)
    learner = PairLearner(config, FEATURES, TIMEFRAME_S, pool)
    learner.pair = "B"
    deterministic()
    learner.fit(candles.rows(slice(0, 1500)))
    beta = learner.nets.discovery.module.models.challenger.beta
    trained = beta.numpy().copy()
    other = PairLearner(config, FEATURES, TIMEFRAME_S, pool)
    other.pair = "A"
    other.fit(candles.rows(slice(50, 1550)))  # known from candle ~1550, inside B's block
    assert pool.change_points("B", int(candles.ts[1500]), int(candles.ts[1599]))
    learner.observe(candles.rows(slice(1500, 1600)))
    np.testing.assert_array_equal(beta.numpy(), trained)
    learner.state.boost.assign(1.0)  # what DriftResponse._respond sets
    learner.observe(candles.rows(slice(1600, 1650)))
    assert not np.array_equal(beta.numpy(), trained)


def test_coefficients_follow_per_candle_samples_when_the_step_learns_them(candles):
    """With wide_online_step > 0 every matured sample enters the wide head's statistics, so
    its coefficients follow them per candle without any drift response."""
    learner = fitted(candles, wide_online_step=0.5, drift_response=False)
    beta = learner.nets.discovery.module.models.challenger.beta
    trained = beta.numpy().copy()
    learner.observe(candles.rows(slice(1500, 1600)))
    assert float(learner.state.boost.numpy()) == 0.0
    assert not np.array_equal(beta.numpy(), trained)


def test_wide_head_learns_per_candle_only_while_a_drift_response_boosts_it(candles):
    """By default (wide_online_step 0) an ordinary per-candle step leaves the wide head's
    statistics alone while the networks still learn; once a drift response has boosted the
    step, each matured sample enters the wide statistics at up to a full sample's weight."""
    learner = fitted(candles)
    m = learner.nets.discovery.module
    before = learner.training_counter
    learner.observe(candles.rows(slice(1500, 1600)))
    assert learner.training_counter > before  # the networks learned per candle
    assert float(m.recent_n.numpy()) == 0.0
    learner.state.boost.assign(1.0)  # what DriftResponse._respond sets
    learner.observe(candles.rows(slice(1600, 1700)))
    assert float(m.recent_n.numpy()) > 1.0  # several samples at (decaying) full weight


def test_quality_weighting_scales_each_matured_sample_by_how_its_prediction_did(candles):
    """With quality_weighting on, the per-candle step weights each matured sample by how its
    served prediction did (learning/quality.py has the table): it enters the wide head's
    statistics (here at a full sample's step) with weight above 1 when the market went the
    predicted way, below 1 when it went against it, instead of the plain sample's weight
    (its age growth 1 / discount). The networks' batched steps (`network_batch`) take the
    replay memory's samples unweighted."""
    # Candles 1750.. are of a volatile regime: large moves, so many samples are weighted.
    learner = fitted(candles, end=1750, quality_weighting=True, wide_online_step=1.0,
                     drift_response=False)
    m, half_life = learner.nets.discovery.module, learner.settings.half_life_s
    warm = learner.observe(candles.rows(slice(1750, 1760)))  # steps from the fit's last sample
    served = dict(zip(warm.ts.tolist(), warm.s_close.tolist(), strict=True))
    weight = {}
    for i in range(1760, 1820):  # one candle per call: it learns the sample H candles back
        before = float(m.recent_n.numpy())
        preds = learner.observe(candles.rows(slice(i, i + 1)))
        assert preds.learned == 1
        served[int(preds.ts[0])] = float(preds.s_close[0])
        ts = int(candles.ts[i - H])
        plain = 1.0 / float(ridge.discount(ts - int(m.stats_ts.numpy()), half_life))
        weight[ts] = (float(m.recent_n.numpy()) - before) / plain
    realized = dict(zip(candles.ts.tolist(), prepare(candles.rows(slice(0, 1900)), 16, H,
                                                    proxy=False).targets[:, 0], strict=False))
    agreement = np.array([np.sign(served[ts]) * realized[ts] for ts in weight])
    w = np.array(list(weight.values()))
    assert (w > 1.01).sum() >= 5 and (w < 0.99).sum() >= 5, w
    assert np.all(agreement[w > 1.01] > 0) and np.all(agreement[w < 0.99] < 0)
    assert np.all(w <= 2.0 + 1e-3) and np.all(w >= 0.25 - 1e-3)


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
    for name in SCORE_NAMES:
        np.testing.assert_array_equal(preds_block.scores[name],
                                      np.concatenate([p.scores[name] for p in pieces]))
    assert block.training_counter == single.training_counter > 1 + 250
    for a, b in zip(weights_of(block), weights_of(single), strict=True):
        np.testing.assert_array_equal(a, b)
    # observe's mirror of the last candle seen agrees with the checkpointed variable
    assert block._last_seen == single._last_seen == single.last_seen_ts == int(candles.ts[1799])


def test_serving_without_learning_scores_novelty_against_recent_history(candles):
    """Per-candle learning off: each served candle is z-scored against the EWMA of the
    candles served before it (novelty_alpha), then folded in, as the per-candle step does;
    serving the same candles again folds nothing, and `predict` changes no state."""
    learner = fitted(candles)
    m, v = float(learner.state.novelty_mean.numpy()), float(learner.state.novelty_var.numpy())
    part = candles.rows(slice(1400, 2100))
    floor = max(learner.last_learned_ts, learner.last_seen_ts)
    s = prepare(part, 16, H, proxy=False)
    new = s.input_ok & (s.ts > floor)
    assert 500 < new.sum() < 700  # rows at or below the floor are scored, not folded
    errors = learner.nets.autoencoder.forward(tf.constant(s.windows[new]))[1].numpy()
    want = []
    for x in np.log(errors.astype(np.float64) + 1e-8):  # the step's formula, by hand
        want.append((x - m) / np.sqrt(v + 1e-8))
        d = x - m
        m, v = m + 0.01 * d, 0.99 * (v + 0.01 * d * d)
    got = learner.serve(part)
    np.testing.assert_allclose(got.novelty[new], want, atol=1e-3)
    assert float(learner.state.novelty_mean.numpy()) == pytest.approx(m, abs=1e-4)
    assert float(learner.state.novelty_var.numpy()) == pytest.approx(v, rel=1e-3)
    again = learner.serve(part)  # nothing newer: nothing folded, scored against the latest
    assert float(learner.state.novelty_mean.numpy()) == pytest.approx(m, abs=1e-4)
    np.testing.assert_array_equal(again.s_close, got.s_close)
    before = weights_of(learner)
    pure = learner.predict(part)
    for a, b in zip(before, weights_of(learner), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pure.novelty, again.novelty)


def test_serving_folds_with_the_steps_formula(candles):
    """The numpy fold serving uses (novelty.score_and_fold) gives the per-candle step's
    scores and statistics (program.py `_predict_one`, TensorFlow, float32)."""
    learner = fitted(candles)
    s = prepare(candles.rows(slice(1500, 1560)), 16, H, proxy=False)
    rows = np.flatnonzero(s.input_ok)[:40]
    st = learner.state
    start = novelty.NoveltyStats(float(st.novelty_mean.numpy()), float(st.novelty_var.numpy()))
    p = learner.programs.traceable
    step = [float(p._predict_one(tf.constant(s.windows[i], tf.float32),
                                 tf.constant(s.features[i], tf.float32))[3]) for i in rows]
    errors = np.log(learner.nets.autoencoder.forward(
        tf.constant(s.windows[rows]))[1].numpy().astype(np.float64) + novelty.EPS)
    z, after = novelty.score_and_fold(errors, start, learner.settings.novelty_alpha)
    np.testing.assert_allclose(z, step, atol=1e-4)
    assert after.mean == pytest.approx(float(st.novelty_mean.numpy()), abs=1e-5)
    assert after.var == pytest.approx(float(st.novelty_var.numpy()), rel=1e-4)
    served = novelty.log_errors(np.asarray(z), start)[:1]  # the inverse of the first score
    np.testing.assert_allclose(served, errors[:1], atol=1e-9)


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
    floats = [w for w in weights_of(learner) if w.dtype.kind == "f"]
    assert len(floats) > 50 and all(np.isfinite(w).all() for w in floats)
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


def test_the_deep_heads_blend_weight_is_chosen_by_its_validation_loss(candles, monkeypatch):
    """choose_blend keeps the deep head's correction where it lowers the Huber loss of the
    validation tail (a correction equal to the wide head's residual: weight 1) and drops it
    where it raises the loss (the residual's opposite: weight 0)."""
    import tensorflow as tf

    from self_learning.candles.samples import prepare

    learner = fitted(candles, deep_head=True)
    c = learner.config
    s = prepare(candles.rows(slice(0, 1500)), c.window_candles, c.label_period_candles,
                proxy=False)
    val = np.flatnonzero(s.target_ok)[-100:]
    d = learner.nets.discovery
    wide_part = tf.linalg.matvec(d.wide_inputs(tf.constant(s.features[val])),
                                 d.module.wide_beta).numpy()
    residual = d.scaled_target(s.targets[val, 0]).numpy() - wide_part
    for correction, weight in ((residual, 1.0), (-residual, 0.0)):
        monkeypatch.setattr(d, "deep", lambda feats, latent, r=correction: tf.constant(r))
        assert learner.trainer.choose_blend(s, val) == weight


def test_the_packed_step_row_is_laid_out_in_one_place():
    """CompiledPrograms.run packs a StepBatch into one float and one int row per candle and
    Programs.step_block unpacks them, both through StepRow and STAMPS: the float row holds the
    window, the features and the targets side by side and nothing else, and every int column
    is a field of StepBatch."""
    row = StepRow(window_dim=4, n_features=3)
    columns = np.arange(row.width)
    parts = [columns[row.window], columns[row.features], columns[row.targets]]
    assert [len(p) for p in parts] == [4, 3, len(TARGET_NAMES)]
    np.testing.assert_array_equal(np.concatenate(parts), columns)
    assert len(set(STAMPS)) == len(STAMPS)
    assert set(STAMPS) <= {f.name for f in fields(StepBatch)}


def test_compiling_the_step_on_an_empty_block_changes_no_state(candles):
    """compile_step (benchmarks/compile_cost.py times it) runs the loop on zero candles:
    every variable of every network and of the learner's state keeps its value."""
    learner = fitted(candles)
    variables = [v for m in learner.modules().values() for v in m.variables]
    before = [v.numpy().copy() for v in variables]
    learner.programs.compile_step()
    for v, value in zip(variables, before, strict=True):
        np.testing.assert_array_equal(v.numpy(), value, err_msg=v.name)
