"""What one save of the runtime writes (runtime/pair_writer.py): the learner's state as a new
version, never one holding a NaN, and a failed write reported to the observers."""

from __future__ import annotations

import numpy as np
from synthetic import FEATURES, small_runtime

from self_learning.runtime.pair_writer import PairSnapshot
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
