"""SelfLearningRuntime: the learners of all pairs, their store, autosave and shutdown.

One object per FreqAI model instance. It creates or restores a PairLearner on first use of a
pair, counts updates, hands snapshots to the BackgroundSaver every `save_interval` updates (and
after every FreqAI training), and on shutdown saves every pair that changed and waits for the
writes, bounded by `shutdown_timeout_s`. Knows nothing of freqtrade.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (its exit hook must be registered before ours)
import logging
import threading
import time
from pathlib import Path

from self_learning.autosave import BackgroundSaver, SaveJob
from self_learning.config import SelfLearningConfig
from self_learning.learning.learner import FitReport, PairLearner
from self_learning.predictions import Predictions
from self_learning.samples import Candles
from self_learning.store import ModelStore, assign_snapshot, snapshot_variables

logger = logging.getLogger(__name__)


class SelfLearningRuntime:
    def __init__(self, config: SelfLearningConfig, store_root: Path, timeframe_s: int,
                 background_saves: bool = True):
        self.config = config
        self.timeframe_s = int(timeframe_s)
        self.store = ModelStore(Path(store_root), keep_versions=config.keep_versions)
        self._learners: dict[str, PairLearner] = {}
        self._shadows: dict[str, PairLearner] = {}
        self._submitted: dict[str, int] = {}  # counter at the last save handed over
        self._durable: dict[str, int] = {}    # counter of the last version that landed
        self._lock = threading.Lock()
        self.last_blocking_ms = 0.0
        self.saver = BackgroundSaver(config.slow_save_warning_s, self._saved,
                                     background=background_saves)
        # Backtesting never calls FreqAI's shutdown: let queued saves land before exit. It
        # must run before concurrent.futures refuses new work at interpreter shutdown (TF's
        # writers use it), hence threading's exit hooks (run in reverse order), not atexit.
        threading._register_atexit(self.saver.wait_idle, config.shutdown_timeout_s)

    # -- learners ------------------------------------------------------------------------

    def learner(self, pair: str, feature_names: list[str]) -> PairLearner:
        with self._lock:
            current = self._learners.get(pair)
            if current is not None and current.feature_names == list(feature_names):
                return current
            if current is not None:
                logger.warning(f"Feature list of {pair} changed; starting fresh models for it.")
            learner = self._restore_or_create(pair, list(feature_names))
            self._learners[pair] = learner
            self._submitted[pair] = self._durable[pair] = learner.training_counter
            return learner

    def known(self, pair: str) -> PairLearner | None:
        return self._learners.get(pair)

    def _restore_or_create(self, pair: str, feature_names: list[str]) -> PairLearner:
        learner = PairLearner(self.config, feature_names, self.timeframe_s)
        pair_store = self.store.pair(pair)
        restored = pair_store.restore(learner.modules()) if pair_store.versions else None
        if restored is not None:
            features = restored.metadata.get("feature_discovery", {}).get("features")
            if features != feature_names:
                logger.warning(
                    f"Stored models of {pair} were trained on other features; "
                    "starting fresh models (the stored versions are kept).")
                restored = None
                learner = PairLearner(self.config, feature_names, self.timeframe_s)
        if restored is None:
            for name in learner.modules():
                logger.info(f"created new model {name} for {pair}")
            return learner
        counters = [int(m.get("training_counter", 0)) for m in restored.metadata.values()]
        learner.state.training_counter.assign(max(counters))
        for name, meta in restored.metadata.items():
            logger.info(f"loaded {name} for {pair} (training counter "
                        f"{meta.get('training_counter', 0)}) from v{restored.version:06d}")
        logger.info(f"Restored {pair}: training counter {max(counters)} (max over networks), "
                    f"last learned candle {learner.last_learned_ts}")
        return learner

    # -- learning entry points -----------------------------------------------------------

    def fit(self, pair: str, feature_names: list[str], candles: Candles) -> FitReport:
        learner = self.learner(pair, feature_names)
        report = learner.fit(candles)
        self.save_async(pair)
        return report

    def observe(self, pair: str, feature_names: list[str], candles: Candles) -> Predictions:
        learner = self.learner(pair, feature_names)
        compiled = learner.step_compiled
        started = time.perf_counter()
        predictions = learner.observe(candles)
        if not compiled and learner.step_compiled:
            logger.info(f"Online learning step ready for {pair} (XLA compiles it once per "
                        f"process and network shape): stepped {len(predictions.ts)} candles in "
                        f"{time.perf_counter() - started:.1f} s")
        if learner.training_counter - self._submitted[pair] >= self.config.save_interval:
            self.save_async(pair)
        return predictions

    # -- saving --------------------------------------------------------------------------

    def save_async(self, pair: str) -> None:
        """Snapshot on the caller thread (the only blocking part), write in the background."""
        learner = self._learners[pair]
        started = time.perf_counter()
        with learner.lock:
            values = snapshot_variables(learner.modules())
            metadata = learner.metadata()
            counter = learner.training_counter
        self.last_blocking_ms = (time.perf_counter() - started) * 1000
        self._submitted[pair] = counter

        def write():
            shadow = self._shadow(pair, learner)
            assign_snapshot(shadow.modules(), values)
            keys = {name: learner.graph_key() for name in shadow.modules()}
            return self.store.pair(pair).save(shadow.modules(), metadata, keys)

        self.saver.submit(SaveJob(pair, write, counter))

    def _shadow(self, pair: str, learner: PairLearner) -> PairLearner:
        shadow = self._shadows.get(pair)
        if shadow is None or shadow.feature_names != learner.feature_names:
            shadow = PairLearner(self.config, learner.feature_names, self.timeframe_s)
            self._shadows[pair] = shadow
        return shadow

    def _saved(self, job: SaveJob) -> None:
        self._durable[job.pair] = max(self._durable.get(job.pair, 0), job.training_counter)

    def dirty_pairs(self) -> list[str]:
        return [p for p, lrn in self._learners.items()
                if lrn.training_counter != self._durable.get(p)]

    def shutdown(self) -> bool:
        """Save every pair that changed, wait for all writes (bounded); True if all landed."""
        for pair in self.dirty_pairs():
            self.save_async(pair)
        done = self.saver.stop(self.config.shutdown_timeout_s)
        total = max((lrn.training_counter for lrn in self._learners.values()), default=0)
        if done:
            logger.info(f"models saved (training counter {total}, "
                        f"{len(self._learners)} pair(s))")
        else:
            logger.error(f"Saving models did not finish within shutdown_timeout_s = "
                         f"{self.config.shutdown_timeout_s:g} s; the last complete versions "
                         "stay on disk and are loaded at the next start.")
        return done

