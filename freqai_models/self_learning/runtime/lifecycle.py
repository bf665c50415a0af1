"""SelfLearningRuntime: the learners of all pairs, their store, autosave and shutdown.

One object per FreqAI model instance. It creates or restores a PairLearner on first use of a
pair, counts its changes (`PairLearner.changes`: trainings, learned candles, and served
candles folded into the novelty statistics), queues saves with the BackgroundSaver every
`save_interval` changes (and after every FreqAI training), and on shutdown saves every pair
that changed and waits for the writes, bounded by `shutdown_timeout_s`. A backtest saves in
place once per FreqAI window instead, after predicting its candles (`_saves_after_stepping`).
Knows nothing of freqtrade.

Which stored version a pair restores from, and when a restore is refused: restoring.py.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (its exit hook must be registered before ours)
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from self_learning.candles.predictions import Predictions
from self_learning.candles.samples import Candles
from self_learning.candles.timeline import RestoreRefused, travels_in_time
from self_learning.config import SelfLearningConfig
from self_learning.learning.learner import FitReport, PairLearner
from self_learning.learning.settings import memory_half_life_s
from self_learning.returns.pool import PoolsByFeatures
from self_learning.runtime.autosave import BackgroundSaver, SaveJob, SaveOutcome
from self_learning.runtime.guards import PairNotices
from self_learning.runtime.learning_log import LearningLog
from self_learning.runtime.pair_writer import PairSnapshot, PairWriter
from self_learning.runtime.prediction_history import PredictionHistory, merge
from self_learning.runtime.restoring import LearnerRestorer, Refusal, Unreadable
from self_learning.runtime.run_stores import LiveStore, plan_store
from self_learning.runtime.save_ledger import SaveLedger
from self_learning.store import ModelStore
from self_learning.store.relocation import StoreMove
from self_learning.store.templates import PROCESS_TEMPLATES
from self_learning.telemetry.observer import (
    FitDone,
    Observers,
    PairStart,
    ResponseStarted,
    SaveDone,
)

logger = logging.getLogger(__name__)

# Metadata fields (PairLearner.metadata) that name a model: retention never removes a stored
# version whose fields differ (another feature list, timeframe or release's layout).
MODEL_IDENTITY = ("layout", "features", "timeframe_s", "hyperparameters")


@dataclass(frozen=True)
class RunContext:
    """What the host tells the runtime about the run (the adapter reads it off freqtrade)."""

    identifier_dir: Path           # FreqAI's model folder of the identifier (its full_path)
    live: LiveStore                # where the identifier's live store is (run_stores.py)
    timeframe_s: int
    mode: str | None               # freqtrade's run mode value ("live", "backtest", ...)
    timerange: str | None
    start_ts: int | None           # the timerange's first second
    pairs: list[str]
    send: Callable[[str], None]    # a notification to the user (freqtrade's send_msg)
    tensorboard: bool


@dataclass(frozen=True)
class RefusedRestore:
    """A pair's last refused restore (kept without the exception, whose traceback would hold
    the refused learner): the newest candle its stored learner knows, and the refusal."""

    until: int
    message: str


class SelfLearningRuntime:
    @staticmethod
    def for_run(config: SelfLearningConfig, run: RunContext) -> SelfLearningRuntime:
        """The runtime on the store of this run mode (run_stores.py), with its observers
        (notifications; TensorBoard when asked). Live and dry-run first move the live store
        from where earlier releases kept it (store/relocation.py: under its writer lock,
        which the runtime then keeps; StoreError when it cannot); with
        backtest_from_live_model, RestoreRefused when the live model knows candles from the
        run's start on."""
        plan = plan_store(run.identifier_dir, run.live, run.mode, run.timerange, run.start_ts,
                          config.backtest_from_live_model)
        if plan.moves_from is not None:
            StoreMove(plan.moves_from, plan.root).settle()
        runtime = SelfLearningRuntime(config, plan.root, run.timeframe_s,
                                      background_saves=plan.background_saves,
                                      seed_root=plan.seed, store_is_live=plan.live_store)
        seed = f", starting from the live model in {plan.seed}" if plan.seed else ""
        logger.info(f"SelfLearning store for this {plan.mode} run: {plan.root}{seed}")
        if plan.seed is not None and plan.not_after_ts is not None:
            runtime.check_seed(run.pairs, plan.not_after_ts)
        from self_learning.telemetry import observers_for

        runtime.observer = observers_for(
            config, run.identifier_dir, None if plan.live_store else plan.root.name,
            run.pairs, str(run.mode), run.send, run.tensorboard)
        return runtime

    def __init__(self, config: SelfLearningConfig, store_root: Path, timeframe_s: int,
                 background_saves: bool = True, *, seed_root: Path | None = None,
                 store_is_live: bool | None = None):
        self.config = config
        self.timeframe_s = int(timeframe_s)
        self.store = ModelStore(Path(store_root), keep_versions=config.keep_versions,
                                templates=PROCESS_TEMPLATES, identity=MODEL_IDENTITY)
        self.seed = ModelStore(Path(seed_root), config.keep_versions) if seed_root else None
        self.store_is_live = background_saves if store_is_live is None else store_is_live
        if self.store_is_live:  # a run's own store is locked by its first save (hyperopt: none)
            self.store.hold_lock()  # StoreInUse when another process writes this store
        self._learners: dict[str, PairLearner] = {}
        self._pools = PoolsByFeatures(memory_half_life_s(config, self.timeframe_s),
                                      keep_history=not self.store_is_live)
        self._history: dict[str, PredictionHistory] = {}
        self._refused: dict[str, RefusedRestore] = {}
        self._ledger = SaveLedger()  # per pair: learner.changes handed over, and landed
        self._newest: dict[str, int] = {}     # newest candle handed in per pair (telemetry)
        self.notices = PairNotices()  # once per pair: untrained, unreadable store folder
        self.learning_log = LearningLog()  # the per-candle learning line, once per halt
        self._preparing: set[str] = set()     # graph keys whose templates were asked for
        self.writer = PairWriter(self.store, config, self.timeframe_s)
        self.restorer = LearnerRestorer(self.store, self.seed, self.store_is_live,
                                        self.timeframe_s, self._new_learner, Observers())
        self._lock = threading.Lock()
        self._wrote = False  # whether this process has written a version to the store
        self.saver = BackgroundSaver(config.slow_save_warning_s, self._saved,
                                     background=background_saves)
        # Backtesting never calls FreqAI's shutdown: let queued saves land before exit. It
        # must run before concurrent.futures refuses new work at interpreter shutdown (TF's
        # writers use it), hence threading's exit hooks (run in reverse order), not atexit.
        threading._register_atexit(self._at_exit)

    @property
    def observer(self) -> Observers:
        """TensorBoard and notifications (telemetry/); the restorer reports to the same."""
        return self.restorer.observer

    @observer.setter
    def observer(self, observer: Observers) -> None:
        self.restorer.observer = observer

    def _at_exit(self) -> None:
        self.saver.wait_idle(self.config.shutdown_timeout_s)
        if self._saves_after_stepping():
            self.save_unsaved()
        self.observer.close()

    @property
    def learns_per_candle(self) -> bool:
        """Whether this run learns per candle: live and dry-run (the live store) with
        `online_learning`, other runs with `prequential_backtest`; what the adapter passes to
        `predict` as `learn`."""
        c = self.config
        return c.online_learning if self.store_is_live else c.prequential_backtest

    def _saves_after_stepping(self) -> bool:
        """A backtest (or analysis) saves in place once per FreqAI window, after the window's
        candles are predicted (stepped, or served and folded into the novelty statistics),
        not also after its training: FreqAI predicts each window right after training it, and
        the state after predicting is what a rerun of an interrupted backtest resumes from
        (FreqAI keeps the windows it predicted). One save instead of two per pair and window
        (tens of ms each). Live and dry-run save after each training and every
        `save_interval` learned (or, without per-candle learning, served) candles."""
        return not self.store_is_live

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

    # -- learners ------------------------------------------------------------------------

    def learner(self, pair: str, feature_names: list[str],
                newest_ts: int | None = None) -> PairLearner:
        """The pair's learner, restored or created on first use; `newest_ts` (the newest
        candle of the data it is about to see) guards that restore. RestoreRefused when the
        only stored learner knows later candles, or its store folder cannot be read (said
        once per pair; retried at each call)."""
        with self._lock:
            current = self._learners.get(pair)
            if current is not None and current.feature_names == list(feature_names):
                return current
            if current is not None:
                logger.warning(f"Feature list of {pair} changed; starting fresh models for it.")
            refused = self._refused.get(pair)
            if refused is not None and travels_in_time(refused.until, newest_ts):
                raise RestoreRefused(refused.message)
            try:
                learner = self.restorer.restore_or_create(pair, list(feature_names), newest_ts)
            except Unreadable as err:
                if self.notices.unreadable(pair, str(err)):
                    self.observer.pair_started(PairStart(pair, "refused", detail=str(err)))
                raise
            except Refusal as refusal:
                self._refused[pair] = RefusedRestore(refusal.until, str(refusal))
                raise
            self._refused.pop(pair, None)
            self.notices.readable(pair)
            if self.learns_per_candle:
                learner.trace_step()  # before any training: the same XLA cache entry each run
            self._learners[pair] = learner
            self._ledger.start(pair, learner.changes)
            self._prepare_templates(learner)
            return learner

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

    def check_seed(self, pairs: list[str], first_candle_ts: int) -> None:
        """RestoreRefused naming every pair whose seed (live) model learned or saw a candle
        at or after the run's first candle."""
        self.restorer.check_seed(pairs, first_candle_ts)

    def known(self, pair: str) -> PairLearner | None:
        return self._learners.get(pair)

    def _new_learner(self, pair: str, feature_names: list[str]) -> PairLearner:
        """A learner sharing the wide head's statistics with the pairs of the same features:
        in live trading the newest of each; in any other run every snapshot, so a pair
        FreqAI backtests later reads an earlier pair's as of each of its own windows."""
        pool = self._pools.for_pair(pair, feature_names)
        learner = PairLearner(self.config, feature_names, self.timeframe_s, pool)
        learner.pair = pair
        return learner

    # -- learning entry points -----------------------------------------------------------

    def fit(self, pair: str, feature_names: list[str], candles: Candles) -> FitReport:
        learner = self.learner(pair, feature_names, _newest(candles))
        report = learner.fit(candles)
        self.notices.trained(pair)
        self._newest[pair] = _newest(candles) or -1
        if not self._saves_after_stepping():
            self.save_async(pair)
        self.observer.fitted(FitDone(pair, report.mode, report.samples, report.seconds,
                                     report.training_counter, self._newest[pair],
                                     report.challenge))
        return report

    def predict(self, pair: str, feature_names: list[str], candles: Candles,
                learn: bool) -> Predictions:
        """Predictions for every candle. With `learn`, every candle newer than the last one
        seen is stepped (learn what matured, then predict); the older rows keep what was
        predicted for them when they were the newest (PredictionHistory). Without, the served
        candles are folded into the novelty statistics (learner.serve). A pair without a
        full training yet gets no tradable rows and steps nothing (learner.observe). What the
        stepping learned and passed over is logged (LearningLog: once per halt)."""
        learner = self.learner(pair, feature_names, _newest(candles))
        if not learner.trained:
            self.notices.untrained(pair)
        if not learn:
            served = learner.serve(candles)
            self._newest[pair] = _newest(candles) or -1
            self._save_if_due(pair, learner)
            return served
        history = self._history.setdefault(pair, PredictionHistory(keep=len(candles.ts) + 64))
        history.keep = max(history.keep, len(candles.ts) + 64)
        if history.missing(candles.ts[candles.ts <= learner.step_floor]).any():
            # A first call, or a restart: the rows never predicted get a prediction from the
            # model as it is *before* this call steps the new ones, so the training counter
            # never falls from one row to the next.
            history.remember(learner.predict(candles))
        compiled = learner.step_compiled
        started = time.perf_counter()
        responses = learner.drift_responses
        stepped = learner.observe(candles)
        self._newest[pair] = _newest(candles) or -1
        self.learning_log.stepped(pair, stepped, int(stepped.training_counter[-1])
                                  if len(stepped.ts) else learner.training_counter)
        self.observer.stepped(pair, stepped)
        if (new := learner.drift_responses - responses) > 0:
            self.observer.response_started(ResponseStarted(pair, self._newest[pair], new))
        if not compiled and learner.step_compiled:
            logger.info(f"Online learning step ready for {pair} (XLA compiles it once per "
                        f"process and network shape): stepped {len(stepped.ts)} candles in "
                        f"{time.perf_counter() - started:.1f} s")
        self._save_if_due(pair, learner)
        history.remember(stepped)
        return merge(history.lookup(candles.ts), stepped)  # rows not stepped: not tradable

    def predict_training_candles(self, pair: str, feature_names: list[str],
                                 candles: Candles) -> Predictions:
        """Predictions of the candles the pair was just trained on (label_scale), with the
        state as it is: they are not served, so nothing is folded into the novelty
        statistics (in-sample rows, out of time order)."""
        return self.learner(pair, feature_names, _newest(candles)).predict(candles)

    def _save_if_due(self, pair: str, learner: PairLearner) -> None:
        """Save after predicting: every `save_interval` changes (candles learned, or served
        and folded into the novelty statistics), and in a backtest after any change
        (`_saves_after_stepping`)."""
        due = self._ledger.since_handed_over(pair, learner.changes)
        if due >= self.config.save_interval or (due and self._saves_after_stepping()):
            self.save_async(pair)

    # -- saving --------------------------------------------------------------------------

    def save_async(self, pair: str) -> None:
        """Queue a save of the pair; the saver snapshots it when it starts writing."""
        learner = self._learners[pair]
        self._ledger.handed_over(pair, learner.changes)
        self.saver.submit(SaveJob(pair, lambda: self._write(pair, learner)))

    def _write(self, pair: str, learner: PairLearner) -> SaveOutcome:
        snapshot = PairSnapshot.of(learner)  # under the learner's lock, a few ms
        try:
            return self.writer.write(pair, snapshot)
        except Exception as err:  # the saver logs it; observers notify
            self.observer.save_failed(pair, err)
            raise

    def _saved(self, pair: str, outcome: SaveOutcome) -> None:
        self._wrote = True
        self._ledger.landed(pair, outcome.changes)
        self.observer.saved(SaveDone(pair, outcome.training_counter, outcome.seconds,
                                     self._newest.get(pair, -1)))

    def _not_handed_over(self) -> list[str]:
        """The pairs changed since their last save was handed to the saver."""
        return self._ledger.not_handed_over(self._changes())

    def dirty_pairs(self) -> list[str]:
        """The pairs whose learner has changes not yet on disk."""
        return self._ledger.unsaved(self._changes())

    def _changes(self) -> dict[str, int]:
        return {pair: learner.changes for pair, learner in self._learners.items()}

    def shutdown(self) -> bool:
        """Save every pair that changed, wait for all writes (bounded); True if all landed."""
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
                                 for pair, lrn in self._learners.items()) or "none"
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


def _newest(candles: Candles) -> int | None:
    return int(candles.ts.max()) if len(candles.ts) else None
