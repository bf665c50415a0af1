"""The runtime's lifecycle: restore of the newest save, background saves,
failed saves that keep trading and retry, shutdown that saves what changed."""

import json
import logging
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from synthetic import (
    FEATURES,
    planted_candles,
    small_runtime,
    weights_of,
)

from self_learning.candles.frames import SCALE_KEY

PAIR = "BTC/USDT"


@pytest.fixture(scope="module")
def candles():
    return planted_candles(1800, seed=5)


def test_restore_resumes_the_counter_and_every_variable_of_the_newest_save(
        tmp_path, caplog, candles):
    """A save writes one version per pair with one training counter for all its networks
    (one snapshot of the learner); a restart restores the newest version: its counter (logged
    per network and for the pair), every variable, no fresh model. Versions are written by
    the runtime's own saves at different counters: after the first training, after per-candle
    learning (save_interval) and at shutdown."""
    first = small_runtime(tmp_path, save_interval=20)
    first.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    first.predict(PAIR, FEATURES, candles.rows(slice(0, 1250)), learn=True)
    assert first.saves.saver.wait_idle(120)
    first.predict(PAIR, FEATURES, candles.rows(slice(1250, 1265)), learn=True)
    assert first.shutdown()
    learner = first.learners.known(PAIR)
    counters = []
    for folder in sorted((tmp_path / "BTC_USDT").glob("v*")):
        docs = [json.loads(p.read_text()) for p in folder.glob("*.json")]
        assert len(docs) == 5 and len({d["training_counter"] for d in docs}) == 1, folder
        counters.append(docs[0]["training_counter"])
    assert len(counters) >= 2 and counters == sorted(set(counters)), counters
    assert counters[-1] == learner.training_counter > counters[0]

    caplog.set_level(logging.INFO)
    restored = small_runtime(tmp_path).learners.learner(PAIR, FEATURES)
    n = learner.training_counter
    assert restored.training_counter == n
    for name in ("encoder", "decoder", "feature_discovery", "liquidity", "learner_state"):
        assert f"loaded {name} for BTC/USDT (training counter {n})" in caplog.text
    assert f"Restored BTC/USDT: training counter {n} (max over networks)" in caplog.text
    assert "created new model" not in caplog.text
    for a, b in zip(weights_of(learner), weights_of(restored), strict=True):
        np.testing.assert_array_equal(a, b)  # every variable, floats and counters alike


def test_label_scale_prediction_of_the_training_candles_folds_nothing_into_novelty(
        tmp_path, candles):
    """label_scale predicts the candles the pair was just trained on (in-sample rows, before
    the window is served): they are not served, so the novelty statistics stay the
    training's; serving the window's candles without per-candle learning folds them in."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "freqai_models"))
    from SelfLearningModel import SelfLearningModel

    rt = small_runtime(tmp_path, prequential_backtest=False, online_learning=False)
    train = candles.rows(slice(0, 1200))
    rt.fit(PAIR, FEATURES, train)
    state = rt.learners.known(PAIR).state
    trained = (state.novelty_mean.numpy(), state.novelty_var.numpy())
    model = SimpleNamespace(_answer=lambda call: call(rt))  # the adapter, without freqtrade
    dk = SimpleNamespace(pair=PAIR, training_features_list=FEATURES,
                         data={"labels_std": {"&-s_close": 0.01}})
    SelfLearningModel._fit_label_scale(model, dk, train)
    assert dk.data[SCALE_KEY] is not None
    assert (state.novelty_mean.numpy(), state.novelty_var.numpy()) == trained
    rt.predict(PAIR, FEATURES, candles.rows(slice(0, 1300)), learn=False)
    assert state.novelty_mean.numpy() != trained[0]
    assert rt.shutdown()


def test_fresh_start_logs_created_new_model_per_network(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    small_runtime(tmp_path).learners.learner(PAIR, FEATURES)
    for name in ("encoder", "decoder", "feature_discovery", "liquidity"):
        assert f"created new model {name} for BTC/USDT" in caplog.text


def test_pool_discounts_with_the_half_life_of_its_learners(tmp_path):
    """The pool that shares the wide statistics between pairs values them with the same
    half-life as each pair's own wide head and per-candle ridge (memory_candles candles of
    the timeframe): another decay would weigh the other pairs' statistics wrongly."""
    rt = small_runtime(tmp_path, memory_candles=100)
    learner = rt.learners.learner(PAIR, FEATURES)
    assert learner.pool.half_life_s == learner.settings.half_life_s == 100 * rt.timeframe_s
    assert learner.wide.spec.half_life_s == learner.settings.half_life_s


def test_autosave_every_save_interval_updates_and_shutdown_saves_the_rest(
        tmp_path, caplog, candles):
    rt = small_runtime(tmp_path, save_interval=20)
    rt.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    rt.predict(PAIR, FEATURES, candles.rows(slice(0, 1260)), learn=True)
    assert rt.saves.saver.wait_idle(120)
    saved = rt.store.pair(PAIR).versions
    assert len(saved) >= 2  # after the fit and after >= 20 online updates
    rt.predict(PAIR, FEATURES, candles.rows(slice(1260, 1265)), learn=True)
    caplog.set_level(logging.INFO)
    assert rt.shutdown()
    counter = rt.learners.known(PAIR).training_counter
    assert re.search(rf"models saved: 1 pair\(s\) written at shutdown in [0-9.]+ s; training "
                     rf"counter per pair: BTC/USDT {counter}$", caplog.text, re.MULTILINE)
    assert small_runtime(tmp_path).learners.learner(PAIR, FEATURES).training_counter == counter


def test_failed_save_keeps_learning_keeps_last_good_version_and_retries(
        tmp_path, caplog, candles):
    """A store that cannot be written (here: its folder replaced by a file) logs an error;
    learning goes on, the last good version stays, and the next interval saves again."""
    root = tmp_path / "store"
    rt = small_runtime(root, save_interval=10)
    rt.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    assert rt.saves.saver.wait_idle(120)
    good = sorted(p.name for p in (root / "BTC_USDT").iterdir())

    shutil.move(root, tmp_path / "moved")
    root.write_text("not a folder")
    caplog.set_level(logging.INFO)
    before = rt.learners.known(PAIR).training_counter
    rt.predict(PAIR, FEATURES, candles.rows(slice(0, 1230)), learn=True)
    assert rt.saves.saver.wait_idle(120)
    assert "Saving models for BTC/USDT failed" in caplog.text
    assert rt.learners.known(PAIR).training_counter > before + 10
    assert PAIR in rt.saves.dirty_pairs()

    root.unlink()
    shutil.move(tmp_path / "moved", root)
    assert sorted(p.name for p in (root / "BTC_USDT").iterdir()) == good
    rt.predict(PAIR, FEATURES, candles.rows(slice(1230, 1245)), learn=True)
    assert rt.saves.saver.wait_idle(120)
    assert rt.shutdown() is True  # every pending write landed
    assert rt.saves.dirty_pairs() == []
    assert small_runtime(root).learners.learner(PAIR, FEATURES).training_counter == \
        rt.learners.known(PAIR).training_counter


def novelty_of(learner) -> tuple[float, float]:
    return float(learner.state.novelty_mean.numpy()), float(learner.state.novelty_var.numpy())


def test_live_serving_without_per_candle_learning_is_saved_at_shutdown_and_not_refolded(
        tmp_path, candles, caplog):
    """Live without per-candle learning, the served candles folded into the novelty
    statistics are a change to save: shutdown writes them (no training since the last save),
    a restart restores them, serving the same candles again folds none of them twice, and the
    next candles fold as in the uninterrupted run."""
    first = small_runtime(tmp_path, online_learning=False, save_interval=1000)
    first.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    assert first.saves.saver.wait_idle(120)
    learner = first.learners.known(PAIR)
    trained = novelty_of(learner)
    first.predict(PAIR, FEATURES, candles.rows(slice(0, 1250)), learn=False)
    folded = novelty_of(learner)
    assert folded != trained
    caplog.set_level(logging.INFO)
    assert first.shutdown()
    assert "models saved: 1 pair(s) written at shutdown" in caplog.text

    again = small_runtime(tmp_path, online_learning=False, save_interval=1000)
    restored = again.learners.learner(PAIR, FEATURES)
    assert novelty_of(restored) == folded
    again.predict(PAIR, FEATURES, candles.rows(slice(0, 1250)), learn=False)
    assert novelty_of(restored) == folded  # nothing served before the restart is refolded
    later = candles.rows(slice(0, 1260))
    resumed = again.predict(PAIR, FEATURES, later, learn=False)
    uninterrupted = learner.serve(later)
    assert novelty_of(restored) == novelty_of(learner) != folded
    np.testing.assert_array_equal(resumed.novelty, uninterrupted.novelty)
    assert again.shutdown()


def test_live_serving_without_per_candle_learning_saves_every_save_interval_folds(
        tmp_path, candles):
    """The save cadence counts served folds as per-candle learning counts learned candles:
    a version every `save_interval` of them, so a crash loses no more than that."""
    rt = small_runtime(tmp_path, online_learning=False, save_interval=20)
    rt.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    assert rt.saves.saver.wait_idle(120)
    store = rt.store.pair(PAIR)
    assert len(store.versions) == 1
    rt.predict(PAIR, FEATURES, candles.rows(slice(0, 1210)), learn=False)  # H + 10 folds
    assert rt.saves.saver.wait_idle(120)
    assert len(store.versions) == 1
    rt.predict(PAIR, FEATURES, candles.rows(slice(0, 1220)), learn=False)  # 10 more: 20+
    assert rt.saves.saver.wait_idle(120)
    assert len(store.versions) == 2
    assert rt.saves.dirty_pairs() == []
    assert rt.shutdown()


def test_serving_without_learning_leaves_every_candle_to_a_later_per_candle_learning(
        tmp_path, candles):
    """The served candles are folded, not stepped: a store that served them without
    per-candle learning, restarted with it, steps and learns the same samples as a store
    that never served them."""
    counters = []
    for served in (False, True):
        root = tmp_path / str(served)
        first = small_runtime(root, online_learning=False)
        first.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
        if served:
            first.predict(PAIR, FEATURES, candles.rows(slice(0, 1250)), learn=False)
        assert first.shutdown()
        again = small_runtime(root, online_learning=True)
        again.predict(PAIR, FEATURES, candles.rows(slice(0, 1300)), learn=True)
        learner = again.learners.known(PAIR)
        counters.append((learner.training_counter, learner.last_learned_ts))
        assert again.shutdown()
    assert counters[0] == counters[1]


def test_models_of_another_timeframe_are_not_continued(tmp_path, caplog, candles):
    """Models that learned 5m candles are not restored into a run on 15m candles, even with
    the same feature names (a strategy whose features carry no timeframe suffix; FreqAI's
    expanded features do): fresh models and one warning naming both timeframes, the stored
    versions kept."""
    from synthetic import small_config

    from self_learning.runtime.lifecycle import SelfLearningRuntime

    first = small_runtime(tmp_path)
    first.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    assert first.shutdown()
    versions = sorted(p.name for p in (tmp_path / "BTC_USDT").glob("v*"))
    caplog.set_level(logging.INFO)
    learner = SelfLearningRuntime(small_config(), tmp_path, 900).learners.learner(PAIR, FEATURES)
    assert learner.training_counter == 0
    assert ("learned candles of 300 s, this run's are 900 s (another timeframe); starting "
            "fresh models (the stored versions are kept)") in caplog.text
    assert sorted(p.name for p in (tmp_path / "BTC_USDT").glob("v*")) == versions
