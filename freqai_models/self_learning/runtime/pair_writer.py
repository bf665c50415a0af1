"""What one save writes: a pair's learner as a new version of the runtime's store.

`PairSnapshot.of(learner)` copies, under the learner's lock (the only part of a save that
holds up learning: numpy copies, a few ms), every variable with the metadata, training
counter and change count that go with them. `PairWriter.write` checks the copy is finite
(never a NaN or inf into the store) and writes it (PairStore.save_snapshot); when a network
shape has no graph template yet, its full SavedModel is built from modules holding the
snapshot's values: a fresh learner's (no pool), or, for a save written in place while the
learner's lock is held, the learner's own (`holding`; no second learner to build and fill).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from self_learning.config import SelfLearningConfig
from self_learning.learning.learner import PairLearner
from self_learning.runtime.autosave import SaveOutcome
from self_learning.runtime.guards import check_finite
from self_learning.store import ModelStore, assign_snapshot, snapshot_variables
from self_learning.store.snapshot import Snapshot


@dataclass(frozen=True)
class PairSnapshot:
    values: Snapshot                 # network -> variable -> numpy copy
    metadata: Mapping[str, Any]      # PairLearner.metadata() at the copy
    training_counter: int
    changes: int                     # PairLearner.changes at the copy (runtime/save_ledger.py)
    graph_key: str                   # every network's graph key (the learner's shape)
    feature_names: list[str]

    @staticmethod
    def of(learner: PairLearner) -> PairSnapshot:
        with learner.lock:
            values = snapshot_variables(learner.modules())
            metadata = learner.metadata()
            counter, changes = learner.training_counter, learner.changes
        return PairSnapshot(values, metadata, counter, changes, learner.graph_key(),
                            learner.feature_names)


class PairWriter:
    def __init__(self, store: ModelStore, config: SelfLearningConfig, timeframe_s: int):
        self.store, self.config, self.timeframe_s = store, config, timeframe_s

    def write(self, pair: str, snapshot: PairSnapshot,
              holding: Callable[[], Mapping[str, Any]] | None = None) -> SaveOutcome:
        """NonFiniteState (nothing written) or the store's errors, as they come. `holding`:
        modules that hold exactly the snapshot's values until this returns (else a fresh
        learner is filled with them when a full SavedModel is needed)."""
        values = snapshot.values
        check_finite(pair, values)
        keys = {name: snapshot.graph_key for name in values}
        info = self.store.pair(pair).save_snapshot(
            values, snapshot.metadata, keys,
            holding or (lambda: self._modules_holding(snapshot)))
        return SaveOutcome(snapshot.training_counter, info.graphs_reused,
                           changes=snapshot.changes)

    def _modules_holding(self, snapshot: PairSnapshot) -> dict:
        """Modules holding the snapshot's values, for a full SavedModel (once per shape)."""
        copy = PairLearner(self.config, snapshot.feature_names, self.timeframe_s)  # no pool
        assign_snapshot(copy.modules(), snapshot.values)
        return copy.modules()
