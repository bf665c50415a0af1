"""SaveScheduler: when each pair's learner is saved, and what is written before the process ends.

It saves the learners of the LearnerRegistry, which owns them, and counts the changes of each
from when the registry handed it out (`track`, on restore or creation; `PairLearner.changes`:
trainings, learned candles, and served candles folded into the novelty statistics) in a
SaveLedger. Live and dry-run queue a save with the BackgroundSaver after every FreqAI training
(`trained`) and every `save_interval` changes (`save_if_due`, after predicting); a backtest
saves in place once per FreqAI window instead, after predicting its candles (`after_stepping`).
At shutdown every pair that changed is saved and the writes are waited for, bounded by
`shutdown_timeout_s`; a backtest, which freqtrade never shuts down, lets its queued saves land
at interpreter exit (`at_exit`), then leaves its heap to the operating system (heap.py). What
one save writes: pair_writer.py.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (its exit hook must be registered before ours)
import logging
import threading
import time
from collections.abc import Callable

from self_learning.config import SelfLearningConfig
from self_learning.learning.learner import PairLearner
from self_learning.runtime.autosave import BackgroundSaver, SaveJob, SaveOutcome
from self_learning.runtime.heap import leave_to_the_os
from self_learning.runtime.learner_registry import LearnerRegistry
from self_learning.runtime.pair_writer import PairSnapshot, PairWriter
from self_learning.runtime.save_ledger import SaveLedger
from self_learning.store import ModelStore
from self_learning.telemetry.observer import Observers, SaveDone

logger = logging.getLogger(__name__)


class SaveScheduler:
    def __init__(self, config: SelfLearningConfig, store: ModelStore, timeframe_s: int,
                 learners: LearnerRegistry, *, background: bool, after_stepping: bool,
                 newest: Callable[[str], int]):
        """`learners`: the pairs' learners, read here (the registry adds them); `after_stepping`:
        save once per FreqAI window after predicting it (a backtest), not after each training;
        `newest`: the newest candle handed in for a pair (-1 when none), reported with each
        save that lands."""
        self.config, self.store, self.timeframe_s = config, store, timeframe_s
        self.after_stepping = after_stepping
        self.observer = Observers()  # the runtime's (SelfLearningRuntime.observer)
        self._newest = newest
        self._learners = learners
        self._ledger = SaveLedger()  # per pair: learner.changes handed over, and landed
        self._preparing: set[str] = set()  # graph keys whose templates were asked for
        self._wrote = False  # whether this process has written a version to the store
        self.writer = PairWriter(store, config, timeframe_s)
        self.saver = BackgroundSaver(config.slow_save_warning_s, self._saved,
                                     background=background)
        # Backtesting never calls FreqAI's shutdown: let queued saves land before exit. It
        # must run before concurrent.futures refuses new work at interpreter shutdown (TF's
        # writers use it), hence threading's exit hooks (run in reverse order), not atexit.
        threading._register_atexit(self.at_exit)

    def track(self, pair: str, learner: PairLearner) -> None:
        """The pair's learner, just restored or created: its state as it is counts as saved."""
        self._ledger.start(pair, learner.changes)
        self._prepare_templates(learner)

    def _prepare_templates(self, learner: PairLearner) -> None:
        """A fresh learner of a network shape not saved yet: an idle writer makes its graph
        templates now, so the first saves (or a shutdown) write only variables."""
        key = learner.graph_key()
        if learner.trained or key in self._preparing or not self.saver.background:
            return
        self._preparing.add(key)
        keys, features = {name: key for name in learner.modules()}, list(learner.feature_names)
        self.saver.when_idle(lambda: self.store.prepare_templates(
            keys, lambda: PairLearner(self.config, features, self.timeframe_s).modules()))

    # -- when ----------------------------------------------------------------------------

    def trained(self, pair: str) -> None:
        """After a FreqAI training: saved now, unless the run saves after stepping (a backtest
        predicts each window right after training it, and the state after predicting is what
        a rerun of an interrupted backtest resumes from: one save per pair and window)."""
        if not self.after_stepping:
            self.save_async(pair)

    def save_if_due(self, pair: str, learner: PairLearner) -> None:
        """Save after predicting: every `save_interval` changes (candles learned, or served
        and folded into the novelty statistics), and after stepping after any change."""
        due = self._ledger.since_handed_over(pair, learner.changes)
        if due >= self.config.save_interval or (due and self.after_stepping):
            self.save_async(pair)

    def save_unsaved(self) -> list[str]:
        """Save every pair changed since its last save (at exit of a run that saves after
        stepping: a training not followed by a prediction); a store whose folder is gone
        (freqtrade's analysis commands delete the model folder between runs) is not written
        again. Returns the pairs saved."""
        if self._wrote and not self.store.root.exists():
            return []
        changed = self._not_handed_over()
        for pair in changed:
            self.save_async(pair)
        return changed

    # -- saving --------------------------------------------------------------------------

    def save_async(self, pair: str) -> None:
        """Queue a save of the pair; the saver snapshots it when it starts writing."""
        learner = self._learners.current()[pair]
        self._ledger.handed_over(pair, learner.changes)
        self.saver.submit(SaveJob(pair, lambda: self._write(pair, learner)))

    def _write(self, pair: str, learner: PairLearner) -> SaveOutcome:
        try:
            if self.saver.background:
                snapshot = PairSnapshot.of(learner)  # under the learner's lock, a few ms
                return self.writer.write(pair, snapshot)
            with learner.lock:  # in place: the learner holds the snapshot's values throughout
                return self.writer.write(pair, PairSnapshot.of(learner), learner.modules)
        except Exception as err:  # the saver logs it; observers notify
            self.observer.save_failed(pair, err)
            raise

    def _saved(self, pair: str, outcome: SaveOutcome) -> None:
        self._wrote = True
        self._ledger.landed(pair, outcome.changes)
        self.observer.saved(SaveDone(pair, outcome.training_counter, outcome.seconds,
                                     self._newest(pair)))

    def _not_handed_over(self) -> list[str]:
        """The pairs changed since their last save was handed to the saver."""
        return self._ledger.not_handed_over(self._changes())

    def dirty_pairs(self) -> list[str]:
        """The pairs whose learner has changes not yet on disk."""
        return self._ledger.unsaved(self._changes())

    def _changes(self) -> dict[str, int]:
        return {pair: learner.changes for pair, learner in self._learners.current().items()}

    # -- the end -------------------------------------------------------------------------

    def at_exit(self) -> None:
        """At interpreter exit: the queued saves land; a run that saves after stepping (a
        backtest, which freqtrade never shuts down) saves what changed since, and, ending
        with the process, leaves its heap to the operating system (heap.leave_to_the_os)."""
        self.saver.wait_idle(self.config.shutdown_timeout_s)
        if self.after_stepping:
            self.save_unsaved()
        self.observer.close()
        if self.after_stepping:
            leave_to_the_os()

    def shutdown(self) -> bool:
        """Save every pair that changed, wait for all writes (bounded), close the observers;
        True if all landed."""
        started = time.perf_counter()
        changed = self._not_handed_over()
        for pair in changed:  # pairs already handed over are being written: not again
            self.save_async(pair)
        in_time = self.saver.stop(self.config.shutdown_timeout_s)
        retry = self.dirty_pairs() if in_time else []  # a save that failed in flight
        for pair in retry:
            self.save_async(pair)  # the saver has stopped: written here, now
        unsaved = self.dirty_pairs()
        self.observer.close()
        if in_time and not unsaved:
            counters = ", ".join(f"{pair} {lrn.training_counter}"
                                 for pair, lrn in self._learners.current().items()) or "none"
            logger.info(f"models saved: {len(set(changed) | set(retry))} pair(s) written at "
                        f"shutdown in {time.perf_counter() - started:.2f} s; training counter "
                        f"per pair: {counters}")
            return True
        if in_time:
            logger.error(f"Saving models failed at shutdown for {', '.join(unsaved)}; their "
                         "last complete versions stay on disk and are loaded at the next start.")
        else:
            logger.error(f"Saving models did not finish within shutdown_timeout_s = "
                         f"{self.config.shutdown_timeout_s:g} s; the last complete versions "
                         "stay on disk and are loaded at the next start.")
        return False
