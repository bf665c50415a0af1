"""Nothing lost, nothing traded on an untrained model (fault injection, real TensorFlow).

* A pair whose stored versions are all unusable (damaged, other features, folder moved
  away) gets no tradable row and steps nothing until a FreqAI training, which is a full
  one; after it, it predicts.
* A pair folder that cannot be read: one log line saying what to do, no predictions for it,
  the other pairs unaffected; it loads once it can be read again.
* No NaN reaches the store (checked before a save) or the wide head's recent statistics.
* Prices beyond float32's range are broken candles and never reach the weights; a repeated
  timestamp is stepped once.
"""

import logging
import os
import shutil

import numpy as np
import pytest
from capabilities import without_permission_override
from synthetic import (
    FEATURES,
    planted_candles,
    small_learner,
    small_runtime,
    weights_of,
)

from self_learning.candles import frames
from self_learning.candles.samples import Candles, SkipCounts, prepare, skip_counts
from self_learning.candles.timeline import NEVER, RestoreRefused
from self_learning.runtime.guards import nonfinite_variables
from self_learning.store import snapshot_variables

PAIR, OTHER = "BTC/USDT", "ETH/USDT"
FIT = 1200
UNTRAINED = "BTC/USDT has no model from a completed full training yet"


@pytest.fixture(scope="module")
def candles():
    return planted_candles(1500, seed=5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, candles):
    """A store holding a fully trained, saved version of both pairs (copied per test)."""
    root = tmp_path_factory.mktemp("trained") / "store"
    rt = small_runtime(root)
    for pair in (PAIR, OTHER):
        rt.fit(pair, FEATURES, candles.rows(slice(0, FIT)))
    assert rt.shutdown()
    return root


def trained_store(trained, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(trained, root)
    return root


def damage_every_version(pair_dir):
    versions = sorted(pair_dir.glob("v0*"))
    assert versions
    for version in versions:
        for data in version.glob("*/variables/variables.data-*"):
            data.write_bytes(b"\0" * data.stat().st_size)


def do_predict(p):
    return frames.prediction_frame(p)[1]


@pytest.mark.parametrize("fault", ["damaged", "other_features", "moved_away"])
def test_pair_without_usable_version_trades_only_after_a_full_training(
        tmp_path, caplog, candles, trained, fault):
    root = trained_store(trained, tmp_path)
    features = FEATURES
    if fault == "damaged":
        damage_every_version(root / "BTC_USDT")
    elif fault == "other_features":
        features = FEATURES[:-1]
        candles = Candles(candles.ts, candles.ohlcv, candles.features[:, :-1])
    else:
        shutil.move(root / "BTC_USDT", tmp_path / "moved")

    caplog.set_level(logging.INFO)
    rt = small_runtime(root, save_interval=5)
    first = rt.predict(PAIR, features, candles.rows(slice(0, FIT + 30)), learn=True)
    later = [rt.predict(PAIR, features, candles.rows(slice(0, i)), learn=True)
             for i in range(FIT + 31, FIT + 41)]
    learner = rt.learners.known(PAIR)
    assert learner.training_counter == 0, "the untrained learner learned per candle"
    assert learner.last_seen_ts == NEVER and int(learner.state.steps.numpy()) == 0
    assert not any(do_predict(p).any() for p in [first, *later])
    assert caplog.text.count(UNTRAINED) == 1
    assert rt.saves.dirty_pairs() == []  # nothing untrained is saved

    report = rt.fit(PAIR, features, candles.rows(slice(0, FIT + 40)))
    assert report.mode == "full" and report.training_counter == 1
    scaling = learner.nets.discovery.module.input_std.numpy()
    assert not np.allclose(scaling, 1.0), "input scaling still the untrained one"
    after = [rt.predict(PAIR, features, candles.rows(slice(0, i)), learn=True)
             for i in range(FIT + 41, FIT + 60)]
    assert do_predict(after[-1])[-1] == 1
    assert "BTC/USDT finished its full training; it gets predictions again." in caplog.text
    assert rt.shutdown()
    assert nonfinite_variables(snapshot_variables(learner.modules())) == []
    restored = small_runtime(root).learners.learner(PAIR, features)
    assert restored.training_counter == learner.training_counter > 1


def test_a_stored_learner_that_never_had_a_full_training_is_not_restored(tmp_path, caplog):
    """What an earlier release saved for a pair it stepped before any training: a counter,
    the initial input scaling. It is not loaded as a trained model."""
    rt = small_runtime(tmp_path)
    learner = rt.learners.learner(PAIR, FEATURES)
    learner.state.training_counter.assign(949)
    metadata = learner.metadata()
    rt.store.pair(PAIR).save(learner.modules(), metadata,
                             {name: learner.graph_key() for name in metadata})
    caplog.set_level(logging.INFO)
    again = small_runtime(tmp_path).learners.learner(PAIR, FEATURES)
    assert again.training_counter == 0 and not again.trained
    assert "Stored models of BTC/USDT in" in caplog.text
    assert "never finished a full training" in caplog.text
    assert "Restored BTC/USDT: training counter" not in caplog.text


def test_unreadable_pair_folder_is_said_once_and_only_that_pair_is_off(
        tmp_path, caplog, candles, trained):
    root = trained_store(trained, tmp_path)
    folder = root / "BTC_USDT"
    folder.chmod(0)
    caplog.set_level(logging.INFO)
    try:
        with without_permission_override():
            with pytest.raises(PermissionError):
                os.listdir(folder)  # the fault is real, whoever runs the test
            rt = small_runtime(root)
            refused = 0
            for i in range(FIT, FIT + 12):  # candles and trainings
                block = candles.rows(slice(0, i))
                with pytest.raises(RestoreRefused):
                    rt.predict(PAIR, FEATURES, block, learn=True)
                with pytest.raises(RestoreRefused):
                    rt.fit(PAIR, FEATURES, block)
                refused += 2
                other = rt.predict(OTHER, FEATURES, block, learn=True)
                assert do_predict(other)[-1] == 1
            assert rt.learners.known(PAIR) is None
    finally:
        folder.chmod(0o755)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert refused == 24 and len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is None and "Traceback" not in caplog.text
    message = errors[0].getMessage()
    assert f"Cannot read the stored models of BTC/USDT in {folder}" in message
    assert "fix its permissions, or move it away" in message
    assert "do_predict = 0" in message

    learner = rt.learners.learner(PAIR, FEATURES, int(candles.ts[FIT + 12]))  # readable again
    assert learner.training_counter == 1
    assert "The store folder of BTC/USDT can be read again" in caplog.text
    assert rt.shutdown()


def test_a_state_holding_nan_is_not_saved(tmp_path, caplog, candles, trained):
    rt = small_runtime(trained_store(trained, tmp_path))
    learner = rt.learners.learner(PAIR, FEATURES)
    versions = rt.store.pair(PAIR).versions
    module = learner.nets.discovery.module
    module.recent_n.assign(float("nan"))
    caplog.set_level(logging.INFO)
    rt.saves.save_async(PAIR)
    assert rt.saves.saver.wait_idle(120)
    assert rt.store.pair(PAIR).versions == versions
    assert "holds NaN or inf in feature_discovery/" in caplog.text
    assert "recent_n" in caplog.text
    module.recent_n.assign(0.0)
    rt.saves.save_async(PAIR)
    assert rt.saves.saver.wait_idle(120)
    assert len(rt.store.pair(PAIR).versions) == len(versions) + 1


def test_the_save_guard_names_every_variable_with_one_nan_or_inf():
    """One NaN among finite values, or one inf, is enough to refuse a save; integer variables
    and finite ones are not named."""
    from self_learning.runtime.guards import NonFiniteState, check_finite

    snapshot = {"net": {"one_nan": np.array([1.0, np.nan, 2.0], np.float32),
                        "one_inf": np.array([[0.0, -np.inf]], np.float32),
                        "steps": np.array(7, np.int64), "fine": np.zeros(3, np.float32)}}
    assert nonfinite_variables(snapshot) == ["net/one_nan", "net/one_inf"]
    with pytest.raises(NonFiniteState, match="net/one_nan, net/one_inf; it is not saved"):
        check_finite(PAIR, snapshot)
    check_finite(PAIR, {"net": {"fine": np.zeros(3, np.float32)}})
    many = {"net": {f"v{i}": np.array([np.nan], np.float32) for i in range(7)}}
    with pytest.raises(NonFiniteState, match=r"in net/v0, net/v1, net/v2, net/v3, net/v4 and 2 "
                                             r"more; it is not saved"):
        check_finite(PAIR, many)


def test_pair_notices_say_once_why_a_pair_gets_no_predictions_and_once_when_it_does(caplog):
    """One warning per pair while it is untrained, one info line when it is trained again;
    one error per pair while its folder cannot be read (True the first time only), one info
    line when it can."""
    from self_learning.runtime.guards import PairNotices

    notices = PairNotices()
    caplog.set_level(logging.INFO)
    notices.trained(PAIR)  # never untrained: nothing to say
    for _ in range(3):
        notices.untrained(PAIR)
    notices.trained(PAIR)
    notices.trained(PAIR)
    assert [notices.unreadable(PAIR, "cannot read") for _ in range(3)] == [True, False, False]
    notices.readable(PAIR)
    notices.readable(PAIR)
    assert notices.unreadable(PAIR, "cannot read") is True
    lines = [(r.levelname, r.getMessage()[:24]) for r in caplog.records]
    assert lines == [("WARNING", f"{PAIR} has no model from a"[:24]),
                     ("INFO", f"{PAIR} finished its full "[:24]),
                     ("ERROR", "cannot read"),
                     ("INFO", f"The store folder of {PAIR}"[:24]),
                     ("ERROR", "cannot read")]


def test_per_candle_steps_never_put_nan_into_the_recent_statistics(candles):
    """Without an anchor for the statistics (stats_ts 0) the growth factor of a matured
    sample overflows; the sample's statistics are skipped instead of becoming NaN."""
    learner = small_learner()
    learner.fit(candles.rows(slice(0, FIT)))
    learner.nets.discovery.module.stats_ts.assign(0)
    learner.observe(candles.rows(slice(FIT - 40, FIT + 60)))
    assert learner.training_counter > 1
    m = learner.nets.discovery.module
    for var in (m.recent_a, m.recent_b, m.recent_n):
        assert np.isfinite(var.numpy()).all(), var.name


def _fitted(candles):
    learner = small_learner()
    learner.fit(candles.rows(slice(0, FIT)))
    learner.observe(candles.rows(slice(FIT - 40, FIT + 10)))
    return learner


def test_prices_beyond_float32_are_broken_candles_and_never_reach_the_weights(candles):
    c = candles.rows(slice(FIT + 10, FIT + 70))
    ohlcv, feats = c.ohlcv.copy(), c.features.copy()
    ohlcv[20, [1, 3]] = 1e39   # high and close beyond float32: a broken candle
    feats[30, 0] = 1e39        # a feature beyond float32 (e.g. a raw price column)
    bad = Candles(c.ts, ohlcv, feats)
    s = prepare(bad, 16, 6)
    counts = skip_counts(bad, s, 0, 16)
    assert counts.broken == 1 and counts.nan_feature == 1, counts
    assert not s.input_ok[20] and not s.input_ok[30]

    learner = _fitted(candles)
    preds = learner.observe(bad)
    floats = [w for w in weights_of(learner) if w.dtype.kind == "f"]
    assert all(np.isfinite(w).all() for w in floats)
    assert bad.ts[20] not in preds.ts and bad.ts[30] not in preds.ts[preds.ok]
    report = learner.fit(Candles.concat(candles.rows(slice(0, FIT + 10)), bad))
    assert report.skips.broken >= 1 and report.skips.nan_feature >= 1, report.skips
    floats = [w for w in weights_of(learner) if w.dtype.kind == "f"]
    assert all(np.isfinite(w).all() for w in floats)


def test_the_step_itself_rejects_a_matured_sample_whose_inputs_are_not_finite(candles,
                                                                            monkeypatch):
    """The step's own guard, behind the candle checks: a candle whose features hold a NaN
    although those checks passed it (input_ok forced) is, once matured, not learned but
    counted as rejected, and the candle it matures at runs no network step (NaN losses),
    even when the learned-sample counter stands at a multiple of network_batch; the replay
    memory the networks learn from, the wide head's statistics and every weight stay
    finite."""
    import dataclasses

    from self_learning.learning import learner as learner_module

    learner = small_learner()
    learner.fit(candles.rows(slice(FIT - 300, FIT)))
    st, h, k = learner.state, learner.settings.horizon, learner.settings.network_batch
    made, matures_at = learner_module.step_batch, []

    def forged(*args):
        batch = made(*args)
        # sample j matures when the counter stands at counter + j: a multiple of k
        j = -int(st.training_counter.numpy()) % k
        features = batch.features.copy()
        features[j, 0] = np.nan
        matures_at.append(batch.ts[j + h])
        return dataclasses.replace(batch, features=features,
                                   input_ok=np.ones_like(batch.input_ok))

    monkeypatch.setattr(learner_module, "step_batch", forged)
    rejected = int(st.rejected_updates.numpy())
    preds = learner.observe(candles.rows(slice(FIT - 20, FIT + 20)))
    assert int(st.rejected_updates.numpy()) == rejected + 1
    losses = preds.scores["loss_autoencoder"]
    at = preds.ts == matures_at[0]
    assert at.sum() == 1 and np.isnan(losses[at]).all() and np.isfinite(losses).any()
    m = learner.nets.discovery.module
    for var in (st.replay_windows, st.replay_features, st.replay_targets, m.recent_a,
                m.recent_b, m.recent_n):
        assert np.isfinite(var.numpy()).all(), var.name
    assert all(np.isfinite(w).all() for net in learner.nets.in_order()
               for w in (v.numpy() for v in net.trainable_variables()))


def test_a_repeated_timestamp_is_stepped_once_and_counted(candles):
    c = candles.rows(slice(FIT + 10, FIT + 40))
    rows = np.r_[np.arange(21), 20, np.arange(21, 30)]  # row 20 twice
    doubled = Candles(c.ts[rows], c.ohlcv[rows], c.features[rows])
    s = prepare(doubled, 16, 6)
    assert skip_counts(doubled, s, 0, 16).duplicate == 1
    assert SkipCounts(duplicate=2).describe() == "2 repeated-timestamp candles"

    learner, twin = _fitted(candles), _fitted(candles)
    steps = int(learner.state.steps.numpy())
    preds = learner.observe(doubled)
    assert int(learner.state.steps.numpy()) - steps == 30
    assert len(preds.ts) == 30 and len(np.unique(preds.ts)) == 30
    twin.observe(c)
    for a, b in zip(weights_of(learner), weights_of(twin), strict=True):
        np.testing.assert_array_equal(a, b)
