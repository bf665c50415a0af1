"""What one save of the runtime writes (runtime/pair_writer.py): the learner's state as a new
version, never one holding a NaN, and a failed write reported to the observers; a save in place
writes its full SavedModels from the learner itself."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, planted_candles, small_config, small_runtime

from self_learning.learning.learner import PairLearner
from self_learning.runtime.pair_writer import PairSnapshot, PairWriter
from self_learning.store import ModelStore
from self_learning.store.layout import version_dirname
from self_learning.store.templates import GraphTemplates
from self_learning.telemetry.observer import RuntimeObserver

PAIR = "BTC/USDT"


class Failures(RuntimeObserver):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def save_failed(self, pair: str, error: BaseException) -> None:
        self.seen.append((pair, type(error).__name__))


def test_a_save_writes_the_snapshot_of_the_learner(tmp_path):
    """A snapshot carries the learner's counters; the runtime's save writes it as a version
    whose metadata names the learner's features."""
    rt = small_runtime(tmp_path / "store")
    learner = rt.learners.learner(PAIR, FEATURES)
    snapshot = PairSnapshot.of(learner)
    assert (snapshot.training_counter, snapshot.changes) == (learner.training_counter,
                                                             learner.changes)
    assert snapshot.graph_key == learner.graph_key() and set(snapshot.values) == set(
        learner.modules())
    rt.saves.save_async(PAIR)
    assert rt.saves.saver.wait_idle(120)
    assert rt.store.pair(PAIR).newest_metadata() is not None
    assert rt.shutdown()


def test_a_state_holding_nan_is_not_saved_and_the_failure_is_reported(tmp_path):
    """A NaN in the learner's state: no version is written, the observers hear of it."""
    rt = small_runtime(tmp_path / "store")
    failures = Failures()
    rt.observer.add(failures)
    learner = rt.learners.learner(PAIR, FEATURES)
    learner.state.novelty_mean.assign(np.nan)
    rt.saves.save_async(PAIR)
    assert rt.saves.saver.wait_idle(120)
    assert rt.store.pair(PAIR).newest_metadata() is None
    assert failures.seen == [(PAIR, "NonFiniteState")]


def test_a_save_in_place_writes_full_savedmodels_of_the_learner_itself(tmp_path):
    """Written in place (the learner's lock held, as a backtest saves), the first save of a
    network shape builds its SavedModels from the learner's own modules: what it writes loads
    back without our code holding the trained learner's values (a fresh, untrained learner's
    would differ)."""
    config = small_config()
    learner = PairLearner(config, FEATURES, TIMEFRAME_S)
    learner.fit(planted_candles(600, seed=3).rows(slice(0, 600)))
    store = ModelStore(tmp_path / "store", config.keep_versions, templates=GraphTemplates())
    with learner.lock:
        outcome = PairWriter(store, config, TIMEFRAME_S).write(
            PAIR, PairSnapshot.of(learner), learner.modules)
    assert outcome.graphs_reused == ()  # full SavedModels: no template of this shape yet
    pair_store = store.pair(PAIR)
    loaded = tf.saved_model.load(str(pair_store.path / version_dirname(pair_store.latest)
                                     / "encoder"))
    dim = learner.programs.traceable.d
    windows = np.random.default_rng(0).normal(size=(5, dim)).astype(np.float32)
    own = learner.modules()["encoder"].serve(windows).numpy()
    np.testing.assert_array_equal(loaded.serve(windows).numpy(), own)
    fresh = PairLearner(config, FEATURES, TIMEFRAME_S).modules()["encoder"]
    assert not np.array_equal(fresh.serve(windows).numpy(), own)
