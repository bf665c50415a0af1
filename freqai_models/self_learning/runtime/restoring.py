"""Restoring a pair's learner from the stores of a run (one concern: which stored version may
be used, and what is logged when it is used or refused).

Order: the run's own store, then, when given, a read-only `seed` store (a backtest started
from the live model). A stored learner that knows candles later than the data it is first
used on is never loaded (timeline.py): in the live store that is refused (the pair gets no
model and nothing is written over the store until the data catches up), in a run's own store
it means an earlier run of the same backtest, which is replaced by fresh models; a seed that
travels in time is refused. A store folder that cannot be read (permissions, a broken disk)
is `Unreadable`: the pair gets no model until it can be read (retried at each use).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from self_learning.candles.timeline import (
    NEVER,
    RestoreRefused,
    iso_utc,
    known_until,
    travels_in_time,
)
from self_learning.learning import upgrades
from self_learning.learning.learner import PairLearner
from self_learning.networks.pair_networks import RestoredModels, StoredCandles
from self_learning.store import ModelStore
from self_learning.telemetry.observer import Observers, PairStart

logger = logging.getLogger(__name__)


class Refusal(RestoreRefused):
    """A refused restore, with the newest candle the stored learner knows."""

    def __init__(self, message: str, until: int):
        super().__init__(message)
        self.until = until


class Unreadable(RestoreRefused):
    """The pair's store folder cannot be read; what to do, in the message."""

    def __init__(self, pair: str, path: Path, err: OSError):
        super().__init__(
            f"Cannot read the stored models of {pair} in {path} ({type(err).__name__}: "
            f"{err.strerror or err}): fix its permissions, or move it away to start {pair} "
            "fresh. Until then it gets no predictions (do_predict = 0), learns nothing and "
            "nothing is written there; the other pairs are not affected.")


@dataclass(frozen=True)
class Known:
    """The newest candles a stored learner knows: learned (a training, or stepped per candle)
    and folded into its novelty statistics while only serving (live without per-candle
    learning: nothing learned from them)."""

    learned: int
    folded: int = NEVER

    @property
    def until(self) -> int:
        return known_until(self.learned, NEVER, self.folded)

    def describe(self) -> str:
        """What a refusal says it knows: learned candles, or only served ones."""
        if self.folded <= self.learned:
            return f"learned candles up to {iso_utc(self.learned)}"
        return (f"served candles up to {iso_utc(self.folded)} (folded into its novelty "
                f"statistics, without per-candle learning; it learned candles up to "
                f"{iso_utc(self.learned)})")


class LearnerRestorer:
    def __init__(self, store: ModelStore, seed: ModelStore | None, store_is_live: bool,
                 timeframe_s: int, new_learner: Callable[[str, list[str]], PairLearner],
                 observer: Observers):
        self.store, self.seed, self.store_is_live = store, seed, store_is_live
        self.timeframe_s = timeframe_s
        self._new_learner, self.observer = new_learner, observer

    def check_seed(self, pairs: list[str], first_candle_ts: int) -> None:
        """Before a run starts from the seed store: RestoreRefused naming every pair whose
        stored model learned or saw a candle at or after the run's first candle."""
        late = []
        for pair in pairs:
            docs = (self.seed.pair(pair).newest_metadata() if self.seed else None) or {}
            stored = [StoredCandles.of(doc) for doc in docs.values()]
            known = Known(max((known_until(s.learned, s.seen) for s in stored), default=NEVER),
                          max((s.folded for s in stored), default=NEVER))
            if travels_in_time(known.until, first_candle_ts - self.timeframe_s):
                late.append(f"{pair} {known.describe()}")
        if late:
            raise RestoreRefused(
                "freqai.self_learning.backtest_from_live_model: the live model in "
                f"{self.seed.root} knows candles from this run's start "
                f"({iso_utc(first_candle_ts)}) on: {'; '.join(late)}. Starting from it would "
                "backtest on what it already knows; choose a timerange that starts after "
                "those candles, or set backtest_from_live_model to false.")

    def restore_or_create(self, pair: str, feature_names: list[str],
                           newest_ts: int | None) -> PairLearner:
        learner = self._restored(self.store, pair, feature_names, newest_ts, seed=False)
        if learner is None and self.seed is not None:
            learner = self._restored(self.seed, pair, feature_names, newest_ts, seed=True)
        if learner is not None:
            learner.share()
            return learner
        learner = self._new_learner(pair, feature_names)
        for name in learner.modules():
            logger.info(f"created new model {name} for {pair}")
        self.observer.pair_started(PairStart(pair, "created"))
        return learner

    def _restored(self, store: ModelStore, pair: str, feature_names: list[str],
                  newest_ts: int | None, seed: bool) -> PairLearner | None:
        pair_store = store.pair(pair)
        try:
            if not pair_store.versions:
                return None
            learner = self._new_learner(pair, feature_names)
            found = pair_store.restore(learner.modules(), upgrade=upgrades.upgrade)
        except OSError as err:
            raise Unreadable(pair, pair_store.path, err) from None
        if found is None:
            return None
        if found.upgraded:
            relearn = upgrades.relearns_wide_head(found.metadata)
            if relearn:
                learner.after_upgrade()
            logger.info(f"Upgraded the stored models of {pair} from an earlier schema "
                        f"({', '.join(found.upgraded)}); "
                        + ("the wide head is re-learned at the next training." if relearn
                           else "everything they learned is kept."))
        restored = RestoredModels.from_metadata(found.version, found.metadata)
        if never_fully_trained(learner):
            logger.warning(f"Stored models of {pair} in {pair_store.path} never finished a full "
                           "training (an earlier release learned per candle before one); "
                           "starting fresh models (the stored versions are kept).")
            return None
        if restored.timeframe_s not in (None, self.timeframe_s):
            logger.warning(f"Stored models of {pair} in {pair_store.path} learned candles of "
                           f"{restored.timeframe_s} s, this run's are {self.timeframe_s} s "
                           "(another timeframe); starting fresh models (the stored versions "
                           "are kept). Give each timeframe its own freqai.identifier.")
            return None
        if restored.features != feature_names:
            logger.warning(f"Stored models of {pair} in {pair_store.path} were trained on other "
                           "features; starting fresh models (the stored versions are kept).")
            return None
        known = Known(known_until(learner.last_learned_ts, learner.last_seen_ts),
                      restored.novelty_folded_ts)
        if travels_in_time(known.until, newest_ts):
            self._time_travel(pair, pair_store.path, known, newest_ts, seed)
            return None
        learner.state.training_counter.assign(restored.training_counter)
        learner.restore_novelty_folded_ts(restored.novelty_folded_ts)
        for name, counter in restored.counters.items():
            logger.info(f"loaded {name} for {pair} (training counter {counter}) from "
                        f"v{restored.version:06d}")
        logger.info(f"Restored {pair}{' from the live model' if seed else ''}: training "
                    f"counter {restored.training_counter} (max over networks), last learned "
                    f"candle {iso_utc(learner.last_learned_ts)}")
        self.observer.pair_started(PairStart(pair, "loaded", restored.version,
                                             restored.training_counter, learner.last_learned_ts))
        return learner

    def _time_travel(self, pair: str, path: Path, known: Known, newest_ts: int,
                     seed: bool) -> None:
        """Refuse (raise) or, for a run's own store, replace an earlier run (one warning)."""
        what = (f"the models of {pair} in {path} {known.describe()}, later than the newest "
                f"candle of the data now ({iso_utc(newest_ts)})")
        if not seed and not self.store_is_live:
            logger.warning(f"Not resuming {pair}: {what}, so they are from an earlier run of "
                           "this backtest; training fresh models into the same folder (use a "
                           "new identifier to keep that run's models).")
            return
        if seed:
            message = (f"Refusing to start {pair} from the live model: {what}. Choose a "
                       "timerange that starts after that candle, or set "
                       "freqai.self_learning.backtest_from_live_model to false.")
        else:
            message = (f"Refusing to load {pair}: {what}; it gets no predictions "
                       "(do_predict = 0) and its store is left untouched. Check the exchange's "
                       f"candles and the system clock, or move {path} away to start it fresh.")
        logger.error(message)
        self.observer.pair_started(PairStart(pair, "refused", detail=message))
        raise Refusal(message, known.until)


def never_fully_trained(learner: PairLearner) -> bool:
    """The input scaling a full training sets is still the initial one (mean 0, spread 1 for
    every input), which no real training window gives."""
    encoder = learner.nets.autoencoder.encoder
    return bool((encoder.input_mean.numpy() == 0).all() and (encoder.input_std.numpy() == 1).all())
