"""LearnerRegistry: the learner of each pair, restored or created on first use.

A pair's learner is restored from the run's stores (which stored version, and when a restore
is refused: restoring.py) or created, sharing the wide head's statistics with the pairs of the
same features (returns/pool.py); a changed feature list starts fresh models. A refused restore
is remembered (without the refused learner), so it is not tried again until the data passes
the candles the stored learner knows. It is the one owner of the pairs' learners: every learner
it hands out for the first time is passed to `started` (the SaveScheduler counts its changes
from there), and the SaveScheduler reads the learners to save from it (`current`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from self_learning.candles.timeline import RestoreRefused, travels_in_time
from self_learning.config import SelfLearningConfig
from self_learning.learning.learner import PairLearner
from self_learning.learning.settings import memory_half_life_s
from self_learning.returns.pool import PoolsByFeatures
from self_learning.runtime.guards import PairNotices
from self_learning.runtime.restoring import LearnerRestorer, Refusal, Unreadable
from self_learning.store import ModelStore
from self_learning.telemetry.observer import Observers, PairStart

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefusedRestore:
    """A pair's last refused restore (kept without the exception, whose traceback would hold
    the refused learner): the newest candle its stored learner knows, and the refusal."""

    until: int
    message: str


class LearnerRegistry:
    def __init__(self, config: SelfLearningConfig, timeframe_s: int, store: ModelStore,
                 seed: ModelStore | None, store_is_live: bool, *, traces_step: bool,
                 notices: PairNotices, started: Callable[[str, PairLearner], None]):
        """`traces_step`: trace each learner's per-candle step before any training (runs
        that learn per candle); `started`: told of each learner handed out first."""
        self.config, self.timeframe_s = config, timeframe_s
        self.notices, self._traces_step, self._started = notices, traces_step, started
        self._learners: dict[str, PairLearner] = {}
        self._pools = PoolsByFeatures(memory_half_life_s(config, timeframe_s),
                                      keep_history=not store_is_live)
        self._refused: dict[str, RefusedRestore] = {}
        self.restorer = LearnerRestorer(store, seed, store_is_live, timeframe_s,
                                        self._new_learner, Observers())
        self._lock = threading.Lock()

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
                    self.restorer.observer.pair_started(
                        PairStart(pair, "refused", detail=str(err)))
                raise
            except Refusal as refusal:
                self._refused[pair] = RefusedRestore(refusal.until, str(refusal))
                raise
            self._refused.pop(pair, None)
            self.notices.readable(pair)
            if self._traces_step:
                learner.trace_step()  # before any training: the same XLA cache entry each run
            self._learners[pair] = learner
            self._started(pair, learner)
            return learner

    def check_seed(self, pairs: list[str], first_candle_ts: int) -> None:
        """RestoreRefused naming every pair whose seed (live) model learned or saw a candle
        at or after the run's first candle."""
        self.restorer.check_seed(pairs, first_candle_ts)

    def known(self, pair: str) -> PairLearner | None:
        return self._learners.get(pair)

    def current(self) -> dict[str, PairLearner]:
        """Each pair's learner, in the order the pairs were first handed out: a copy, which
        the saves read at shutdown and at exit while another thread may add a pair."""
        return dict(self._learners)

    def _new_learner(self, pair: str, feature_names: list[str]) -> PairLearner:
        """A learner sharing the wide head's statistics with the pairs of the same features:
        in live trading the newest of each; in any other run every snapshot, so a pair
        FreqAI backtests later reads an earlier pair's as of each of its own windows."""
        pool = self._pools.for_pair(pair, feature_names)
        learner = PairLearner(self.config, feature_names, self.timeframe_s, pool)
        learner.pair = pair
        return learner
