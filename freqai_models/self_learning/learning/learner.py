"""PairLearner: how one pair's networks are trained and what they predict.

Knows nothing of freqtrade. Every public method holds `self.lock`, so FreqAI's training
thread, the per-candle loop and background saves never see half-updated weights.

* `fit(candles)`: the first call trains from scratch; later calls (continual learning)
  consolidate the samples learned since into the wide head's statistics and take an
  incremental pass of the networks on the new samples plus a replay of older ones.
* `observe(candles)`: per-candle learning (live, dry-run and prequential backtests): every
  candle newer than the last one seen is stepped through the compiled loop, once the pair
  has had its first (full) training: before it, nothing is stepped or learned, so the next
  training is a full one and nothing untrained is ever traded on.
* `serve(candles)`: serving without per-candle learning: `predict`, then every served
  candle newer than any folded, learned or seen one is folded into the novelty statistics in
  time order, each scored before it is folded (learning/novelty.py), as the step does. The
  newest folded candle is saved with them (metadata), so a restored learner refolds none.
* `predict(candles)`: predictions with the state as it is, no state changes (the training
  candles' predictions, the prediction history's first fill).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

import numpy as np
import tensorflow as tf

from self_learning.candles.predictions import PREDICTED, SCORE_NAMES, Predictions
from self_learning.candles.samples import (
    CandleHistory,
    Candles,
    Samples,
    prepare,
    skip_counts,
)
from self_learning.candles.timeline import NEVER, known_until
from self_learning.config import SelfLearningConfig
from self_learning.learning.compiled import CompiledPrograms, StepBatch, step_batch
from self_learning.learning.fitting import FitReport, PairFitter
from self_learning.learning.novelty import NoveltyStats, log_errors, score_and_fold
from self_learning.learning.program import Programs, empty_outputs
from self_learning.learning.settings import LearningSettings
from self_learning.learning.state import LearnerState, read_scalar
from self_learning.learning.training import NetworkTrainer
from self_learning.networks.pair_networks import (
    COUNTER_KEY,
    FEATURES_KEY,
    FOLDED_KEY,
    LEARNED_KEY,
    SEEN_KEY,
    TIMEFRAME_KEY,
    PairNetworks,
)
from self_learning.returns import ridge
from self_learning.returns.head import WideHead
from self_learning.returns.moments import Moments
from self_learning.returns.pool import StatsPool

logger = logging.getLogger(__name__)

class PairLearner:
    def __init__(self, config: SelfLearningConfig, feature_names: list[str], timeframe_s: int,
                 pool: StatsPool | None = None):
        c = self.config = config
        self.feature_names = list(feature_names)
        self.timeframe_s = int(timeframe_s)
        self.pool = pool
        self.pair: str | None = None  # set by the runtime (the pool's name for it)
        self.lock = threading.RLock()
        self.nets = PairNetworks(config, len(self.feature_names))
        self.state = LearnerState(self.nets.autoencoder.input_dim, len(self.feature_names),
                                  c.label_period_candles, c.replay_size,
                                  c.scoreboard_candles, c.seed)
        self.settings = LearningSettings.from_config(c, timeframe_s)
        spec = ridge.WideSpec(self.settings.half_life_s, c.huber_delta, c.label_period_candles)
        self.wide = WideHead(self.nets.discovery, self.state, spec, self.timeframe_s)
        programs = Programs(self.nets, self.state, self.settings)
        variables = [v for m in self.modules().values() for v in m.state_variables()]
        self.programs = CompiledPrograms(programs, variables, self.settings.key())
        self.trainer = NetworkTrainer(c, self.nets, self.programs)
        self.fitter = PairFitter(c, self.nets, self.state, self.wide, self.trainer, self._others)
        self.history = CandleHistory(keep=c.window_candles + c.label_period_candles + 1)
        # Mirror of state.last_seen_ts, kept by `observe` (the only writer after the store's
        # restore at creation): reading a variable eagerly costs ~0.3 ms per candle here.
        self._last_seen: int | None = None
        self._unshared = 0  # candles stepped since the pool last got this pair's statistics
        # The newest candle `observe` has met (stepped or passed over), and whether it was
        # passed over: the stepping floor stays at the last observation during a halt, and
        # live each call hands over the whole recent frame.
        self._met = NEVER
        self._halted = False
        # Newest candle `serve` folded into the novelty statistics: saved in the metadata
        # (`novelty_folded_candle_ts`), set back by restoring.py. Not last_seen_ts: that one
        # tells the step which candles it has stepped (and learned the matured samples of).
        self._novelty_floor = NEVER
        self._served = 0  # candles `serve` folded into the novelty statistics (this process)

    # -- what the store and the adapter read ---------------------------------------------------

    def modules(self) -> dict[str, tf.Module]:
        return {**self.nets.modules(), "learner_state": self.state}

    def graph_key(self) -> str:
        return self.nets.graph_key()

    @property
    def training_counter(self) -> int:
        return int(read_scalar(self.state.training_counter))

    @property
    def changes(self) -> int:
        """Rises with every change a save must keep, and only then: each training and each
        candle the step learned (`training_counter`), and each served candle `serve` folded
        into the novelty statistics. Compared within one process only (the runtime's save
        cadence and shutdown); nothing of it is stored beyond `training_counter`."""
        return self.training_counter + self._served

    @property
    def trained(self) -> bool:
        """Whether a full training has completed: the counter only rises from 0 by one
        (`observe` steps nothing before it)."""
        return self.training_counter > 0

    @property
    def drift_responses(self) -> int:
        """The drift responses the pair has started (checkpointed, so over its whole life)."""
        return int(read_scalar(self.state.drift_responses))

    @property
    def step_compiled(self) -> bool:
        return self.programs.step_compiled

    def trace_step(self) -> None:
        """Trace the per-candle step before any training (CompiledPrograms.trace_step)."""
        with self.lock:
            self.programs.trace_step()

    @property
    def last_learned_ts(self) -> int:
        return int(read_scalar(self.state.last_learned_ts))

    @property
    def step_floor(self) -> int:
        """`observe` steps the observed candles newer than this."""
        seen = self._stepped_until()
        return seen if seen != NEVER else self.last_learned_ts

    def _stepped_until(self) -> int:
        """state.last_seen_ts, from its mirror once `observe` has set it."""
        return self.last_seen_ts if self._last_seen is None else self._last_seen

    @property
    def last_seen_ts(self) -> int:
        return int(read_scalar(self.state.last_seen_ts))

    @property
    def novelty_folded_ts(self) -> int:
        """The newest candle `serve` folded into the novelty statistics (NEVER if none)."""
        return self._novelty_floor

    def restore_novelty_folded_ts(self, ts: int) -> None:
        """After a restore: the saved statistics hold the served candles up to `ts`."""
        with self.lock:
            self._novelty_floor = int(ts)

    def metadata(self) -> dict[str, dict]:
        with self.lock:
            c = self.config
            return self.nets.metadata({
                COUNTER_KEY: self.training_counter,
                LEARNED_KEY: self.last_learned_ts,
                SEEN_KEY: self.last_seen_ts,
                FOLDED_KEY: self._novelty_floor,
                FEATURES_KEY: self.feature_names,
                TIMEFRAME_KEY: self.timeframe_s,
                "hyperparameters": {"window_candles": c.window_candles,
                                    "latent_dim": c.latent_dim, "hidden_units": c.hidden_units,
                                    "label_period_candles": c.label_period_candles},
            })

    def wide_stats(self) -> Moments:
        """The pair's own wide statistics, as the pool shares them."""
        return self.wide.stats(self.last_learned_ts)

    @property
    def wide_ready(self) -> bool:
        return self.wide.ready

    def after_upgrade(self) -> None:
        """A restore read an earlier schema (learning/upgrades.py): the wide head starts from
        the next training's window."""
        with self.lock:
            self.wide.forget_everything()

    def share(self) -> None:
        """Hand the pair's wide statistics to the pool (after a restore)."""
        with self.lock:
            self._publish()

    def _publish(self) -> None:
        self._unshared = 0
        if self.pool is not None and self.pair is not None:
            self.pool.publish(self.pair, self.wide_stats())

    # -- training ------------------------------------------------------------------------------

    def _prepare(self, candles: Candles) -> tuple[Candles, Samples, int]:
        """`candles` preceded by the remembered ones (CandleHistory), their samples, and
        where `candles` start in them."""
        ctx, start = self.history.with_context(candles)
        c = self.config
        return ctx, prepare(ctx, c.window_candles, c.label_period_candles, proxy=False), start

    def _samples(self, candles: Candles) -> tuple[Samples, int]:
        """`_prepare`'s samples and start; the candles are remembered for the next call."""
        ctx, s, start = self._prepare(candles)
        self.history.remember(ctx, s.observed)
        return s, start

    def fit(self, candles: Candles) -> FitReport:
        with self.lock:
            started = time.monotonic()
            s, start = self._samples(candles)
            skips = skip_counts(candles, s, start, self.config.window_candles)
            challenge = self.programs.traceable.challenge
            if not self.trained:
                challenge.clear()
                mode, settled, learned = "full", None, self.fitter.full(s, self._rng())
            else:
                settled = challenge.settle()  # before the statistics move on
                mode, learned = "incremental", self.fitter.incremental(s, self._rng())
            self.state.training_counter.assign_add(1)
            self._publish()
            return FitReport(mode=mode, samples=learned.samples, replayed=learned.replayed,
                             skipped=skips.total, seconds=time.monotonic() - started,
                             training_counter=self.training_counter, skips=skips,
                             consolidated=learned.consolidated,
                             last_learned_ts=self.last_learned_ts, challenge=settled)

    def _rng(self) -> np.random.Generator:
        # Derived from seed and counter: a restored learner shuffles exactly like the original.
        return np.random.default_rng([self.config.seed, self.training_counter])

    def _others(self, as_of: int) -> Moments:
        """What the other pairs knew at `as_of`, valued then (zeros without a pool)."""
        if self.pool is None or not self.config.shared_across_pairs:
            return Moments.zeros(len(self.feature_names), as_of)
        return self.pool.others(self.pair or "", as_of)

    # -- prediction and per-candle learning -------------------------------------------------

    def predict(self, candles: Candles) -> Predictions:
        """Predict every row of `candles` with the state as it is; no state changes."""
        with self.lock:
            return self._predict(candles)[0]

    def serve(self, candles: Candles) -> Predictions:
        """`predict`, then fold the rows newer than any candle learned or seen into the
        novelty statistics, in time order: each such row's `novelty` is its z-score against
        the candles served before it, as in the per-candle step, so `&-novelty` stays
        relative to the recent candles without per-candle learning. The newest row folded is
        saved with the statistics (`novelty_folded_ts`), so after a restore no candle is
        folded twice, and a backtest cannot start from a live model whose statistics hold
        its candles. Before the first training nothing is folded."""
        with self.lock:
            p, input_ok = self._predict(candles)
            if not self.trained:
                return p
            floor = known_until(self.last_learned_ts, self.last_seen_ts, self._novelty_floor)
            rows = np.flatnonzero(input_ok & (candles.ts > floor) & np.isfinite(p.novelty))
            if len(rows) == 0:
                return p
            st = self.state
            stats = NoveltyStats(float(st.novelty_mean.numpy()), float(st.novelty_var.numpy()))
            z, after = score_and_fold(log_errors(p.novelty[rows], stats), stats,
                                      self.settings.novelty_alpha)
            st.novelty_mean.assign(after.mean)
            st.novelty_var.assign(after.var)
            self._novelty_floor = int(candles.ts[rows[-1]])
            self._served += len(rows)
            novelty = p.novelty.copy()
            novelty[rows] = z
            return replace(p, novelty=novelty)

    def _predict(self, candles: Candles) -> tuple[Predictions, np.ndarray]:
        """The predictions of every row, and which rows had a usable input window."""
        _, s, start = self._prepare(candles)
        sl = slice(start, None)
        out = self.programs.predict(s.windows[sl], s.features[sl])
        n = len(candles)
        ready = self.trained and self.wide_ready
        scores = {k: np.full(n, np.nan, np.float32) for k in SCORE_NAMES}
        scores["challenge"][:] = self.programs.traceable.challenge.served().numpy()  # what served
        p = Predictions(candles.ts, **dict(zip(PREDICTED, out.T, strict=True)),
                        training_counter=np.full(n, self.training_counter),
                        ok=s.input_ok[sl] & ready, scores=scores)
        return p, s.input_ok[sl]

    def observe(self, candles: Candles) -> Predictions:
        """Step every candle newer than the last one seen: learn what matured, then predict.

        Returns the predictions of the stepped rows that belong to `candles` (remembered
        older candles may be stepped too, e.g. after a restore, but are not returned).
        Before the first training nothing is stepped: no rows are returned. `passed_over`
        counts the new candles that are not market observations, each once (in this process),
        `halted` says whether the newest candle met so far was one (a call without new
        candles leaves it)."""
        with self.lock:
            if not self.trained:
                return Predictions.empty()
            last_seen = self._stepped_until()
            candles = self._new_tail(candles, last_seen)
            s, start = self._samples(candles)
            h = self.config.label_period_candles
            floor = self.step_floor
            new = s.ts > floor
            idx = np.flatnonzero(s.observed & new)  # only observations step
            unmet = new[start:] & (s.ts[start:] > self._met)
            passed_over = int((unmet & ~s.observed[start:]).sum())
            if (newest := np.flatnonzero(unmet)).size:
                self._met = int(s.ts[start + newest[-1]])
                self._halted = not bool(s.observed[start + newest[-1]])
            if len(idx) == 0:
                out = empty_outputs()
            else:
                self._last_seen = None  # unknown if the run fails part-way
                out = self._run(step_batch(s, idx, last_seen, h))
                self._last_seen = int(s.ts[idx[-1]])  # what the step wrote
                self._unshared += len(idx)
                if (self.pool is not None and not self.pool.keep_history
                        and self._unshared >= self.config.label_period_candles):
                    self._publish()  # live: every H candles (reading the statistics costs)
            mine = slice(int(np.searchsorted(idx, start)), None)  # idx ascends: a tail
            ok = s.input_ok[idx] & (out["training_counter"] > 0) & self.wide_ready
            return Predictions(
                s.ts[idx][mine], out["s_close"][mine], out["liq_up"][mine],
                out["liq_down"][mine], out["novelty"][mine], out["training_counter"][mine],
                ok[mine], int(out["learned"].sum()),
                scores={k: out[k][mine] for k in SCORE_NAMES}, passed_over=passed_over,
                halted=self._halted)

    def _new_tail(self, candles: Candles, last_seen: int) -> Candles:
        """The rows a step needs: those newer than the last candle seen, preceded by enough
        rows for their windows and matured targets (the candle history supplies the rest).
        Live trading hands over the whole recent dataframe every candle; preparing only its
        tail keeps a candle's cost independent of the dataframe's length."""
        if last_seen == NEVER or len(candles.ts) == 0:
            return candles
        first_new = int(np.searchsorted(candles.ts, last_seen, side="right"))
        start = max(first_new - 2 * self.history.keep, 0)
        return candles.rows(slice(start, None)) if start else candles

    def _run(self, batch: StepBatch) -> dict[str, np.ndarray]:
        """Step the batch, in parts where another pair's statistics become known (each part
        with the pool as of its first candle)."""
        ts = batch.ts
        cuts = (self.pool.change_points(self.pair or "", int(ts[0]), int(ts[-1]))
                if self.pool is not None and self.config.shared_across_pairs else [])
        bounds = [0, *np.searchsorted(ts, cuts).tolist(), len(ts)]
        parts = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi > lo:
                parts.append(self.programs.run(batch.rows(slice(lo, hi)),
                                               self._others(int(ts[lo]))))
        if len(parts) == 1:  # the usual case (live: always)
            return parts[0]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
