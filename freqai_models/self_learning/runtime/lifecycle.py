"""SelfLearningRuntime: the learners of all pairs, served and saved.

One object per FreqAI model instance; it composes the LearnerRegistry (learner_registry.py:
each pair's learner, restored or created on first use), the SaveScheduler (save_scheduler.py:
saves every `save_interval` changes and after every FreqAI training, or once per window in a
backtest; the writes at shutdown and at exit) and the observers (telemetry/), and serves
FreqAI's fit and predict with them. Knows nothing of freqtrade.

Which stored version a pair restores from, and when a restore is refused: restoring.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from self_learning.candles.predictions import Predictions
from self_learning.candles.samples import Candles
from self_learning.config import SelfLearningConfig
from self_learning.learning.learner import FitReport, PairLearner
from self_learning.runtime.guards import PairNotices
from self_learning.runtime.learner_registry import LearnerRegistry
from self_learning.runtime.learning_log import LearningLog
from self_learning.runtime.prediction_history import PredictionHistory, merge
from self_learning.runtime.run_stores import LiveStore, plan_store
from self_learning.runtime.save_scheduler import SaveScheduler
from self_learning.store import ModelStore
from self_learning.store.relocation import StoreMove
from self_learning.store.templates import PROCESS_TEMPLATES
from self_learning.telemetry.observer import FitDone, Observers, ResponseStarted

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
            runtime.learners.check_seed(run.pairs, plan.not_after_ts)
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
        self._history: dict[str, PredictionHistory] = {}
        self._newest: dict[str, int] = {}     # newest candle handed in per pair (telemetry)
        self.notices = PairNotices()  # once per pair: untrained, unreadable store folder
        self.learning_log = LearningLog()  # the per-candle learning line, once per halt
        self.learners = LearnerRegistry(config, self.timeframe_s, self.store, self.seed,
                                        self.store_is_live, traces_step=self.learns_per_candle,
                                        notices=self.notices, started=self._started)
        # A backtest (or analysis) saves in place once per FreqAI window, after predicting
        # it; live and dry-run after each training and every `save_interval` changes.
        self.saves = SaveScheduler(config, self.store, self.timeframe_s, self.learners,
                                   background=background_saves,
                                   after_stepping=not self.store_is_live,
                                   newest=lambda pair: self._newest.get(pair, -1))
        self.observer = Observers()  # one for both (for_run sets the run's)

    def _started(self, pair: str, learner: PairLearner) -> None:
        """A learner the registry hands out first: the saves count its changes from here."""
        self.saves.track(pair, learner)

    @property
    def observer(self) -> Observers:
        """TensorBoard and notifications (telemetry/), shared by the restorer and the saves."""
        return self.saves.observer

    @observer.setter
    def observer(self, observer: Observers) -> None:
        self.learners.restorer.observer = self.saves.observer = observer

    @property
    def learns_per_candle(self) -> bool:
        """Whether this run learns per candle: live and dry-run (the live store) with
        `online_learning`, other runs with `prequential_backtest`; what the adapter passes to
        `predict` as `learn`."""
        c = self.config
        return c.online_learning if self.store_is_live else c.prequential_backtest

    def shutdown(self) -> bool:
        """Save every pair that changed, wait for all writes (bounded); True if all landed."""
        return self.saves.shutdown()

    # -- learning entry points -----------------------------------------------------------

    def fit(self, pair: str, feature_names: list[str], candles: Candles) -> FitReport:
        learner = self.learners.learner(pair, feature_names, _newest(candles))
        report = learner.fit(candles)
        self.notices.trained(pair)
        self._newest[pair] = _newest(candles) or -1
        self.saves.trained(pair)
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
        learner = self.learners.learner(pair, feature_names, _newest(candles))
        if not learner.trained:
            self.notices.untrained(pair)
        if not learn:
            served = learner.serve(candles)
            self._newest[pair] = _newest(candles) or -1
            self.saves.save_if_due(pair, learner)
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
        self.saves.save_if_due(pair, learner)
        history.remember(stepped)
        return merge(history.lookup(candles.ts), stepped)  # rows not stepped: not tradable

    def predict_training_candles(self, pair: str, feature_names: list[str],
                                 candles: Candles) -> Predictions:
        """Predictions of the candles the pair was just trained on (label_scale), with the
        state as it is: they are not served, so nothing is folded into the novelty
        statistics (in-sample rows, out of time order)."""
        return self.learners.learner(pair, feature_names, _newest(candles)).predict(candles)


def _newest(candles: Candles) -> int | None:
    return int(candles.ts.max()) if len(candles.ts) else None
