"""PairLearner: how one pair's networks are trained and what they predict.

Knows nothing of freqtrade. Every public method holds `self.lock`, so FreqAI's training
thread, the per-candle loop and background saves never see half-updated weights.

* `fit(candles)`: the first call trains from scratch; later calls (continual learning)
  consolidate the samples learned since into the wide head's statistics and take an
  incremental pass of the networks on the new samples plus a replay of older ones.
* `observe(candles)`: per-candle learning (live, dry-run and prequential backtests): every
  candle newer than the last one seen is stepped through the compiled loop.
* `predict(candles)`: predictions with the state as it is, no learning.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, fields

import numpy as np
import tensorflow as tf

from self_learning.config import SelfLearningConfig
from self_learning.learning import wide
from self_learning.learning.compiled import CompiledPrograms
from self_learning.learning.pool import LinearStats, StatsPool
from self_learning.learning.program import Programs, empty_outputs
from self_learning.learning.settings import LearningSettings
from self_learning.learning.state import NEVER, LearnerState
from self_learning.networks.discovery import PENALTIES
from self_learning.networks.pair_networks import PairNetworks
from self_learning.predictions import SCORE_NAMES, Predictions
from self_learning.samples import (
    MIN_FIT_SAMPLES,
    CandleHistory,
    Candles,
    Samples,
    SkipCounts,
    prepare,
    skip_counts,
)

logger = logging.getLogger(__name__)

DEFAULT_PENALTY = 0.3  # the wide head's ridge penalty until the record chooses one
BLENDS = (0.0, 0.25, 0.5, 1.0)  # deep-head weights tried on the validation tail
VALIDATION_SHARE = 0.1


class InsufficientDataError(ValueError):
    """Too few usable samples to train from scratch."""


@dataclass(frozen=True)
class FitReport:
    mode: str          # "full" or "incremental"
    samples: int       # new samples learned
    replayed: int      # older samples replayed against forgetting
    skipped: int       # rows that could not be used (NaN, broken or no-trade candles)
    seconds: float
    training_counter: int
    skips: SkipCounts = SkipCounts()  # `skipped` by reason
    consolidated: int = 0  # samples the wide head's statistics took at full weight


@dataclass(frozen=True)
class StepBatch:
    """What the compiled loop steps through, one row per candle (see Programs.step_block)."""

    windows: np.ndarray
    features: np.ndarray
    input_ok: np.ndarray
    ts: np.ndarray
    targets: np.ndarray      # of the candle H steps earlier, matured now
    target_ok: np.ndarray
    target_ts: np.ndarray    # timestamp of that earlier candle (checked against the ring)
    reset: np.ndarray        # a gap before this candle: pending samples are dropped

    def rows(self, sl: slice) -> StepBatch:
        return StepBatch(*(getattr(self, f.name)[sl] for f in fields(self)))


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
        self.wide_spec = wide.WideSpec(self.settings.half_life_s, c.huber_delta,
                                       c.label_period_candles)
        programs = Programs(self.nets, self.state, self.settings)
        variables = [v for m in self.modules().values() for v in m.state_variables()]
        self.programs = CompiledPrograms(programs, variables, self.settings.key())
        self.history = CandleHistory(keep=c.window_candles + c.label_period_candles + 1)
        # Mirror of state.last_seen_ts, kept by `observe` (the only writer after the store's
        # restore at creation): reading a variable eagerly costs ~0.3 ms per candle here.
        self._last_seen: int | None = None

    # -- what the store and the adapter read ---------------------------------------------------

    def modules(self) -> dict[str, tf.Module]:
        return {**self.nets.modules(), "learner_state": self.state}

    def graph_key(self) -> str:
        return self.nets.graph_key()

    @property
    def training_counter(self) -> int:
        return int(self.state.training_counter.numpy())

    @property
    def trained(self) -> bool:
        return self.training_counter > 0

    @property
    def step_compiled(self) -> bool:
        return self.programs.step_compiled

    @property
    def last_learned_ts(self) -> int:
        return int(self.state.last_learned_ts.numpy())

    @property
    def last_seen_ts(self) -> int:
        return int(self.state.last_seen_ts.numpy())

    def metadata(self) -> dict[str, dict]:
        with self.lock:
            c = self.config
            return self.nets.metadata({
                "training_counter": self.training_counter,
                "last_learned_candle_ts": self.last_learned_ts,
                "last_seen_candle_ts": self.last_seen_ts,
                "features": self.feature_names,
                "timeframe_s": self.timeframe_s,
                "hyperparameters": {"window_candles": c.window_candles,
                                    "latent_dim": c.latent_dim, "hidden_units": c.hidden_units,
                                    "label_period_candles": c.label_period_candles},
            })

    def wide_stats(self) -> LinearStats:
        """The pair's own wide statistics (consolidated plus recent) as of the moment all
        they hold was known: the newest sample's label matured `label_period_candles` after
        it. What the pool shares with the other pairs."""
        m = self.nets.discovery.module
        anchor = int(m.stats_ts.numpy())
        newest = max(int(self.state.linear_learned_ts.numpy()), self.last_learned_ts, anchor)
        known = newest + self.config.label_period_candles * self.timeframe_s
        d = 0.5 ** ((known - anchor) / self.settings.half_life_s)
        return LinearStats((m.stats_a.numpy() + m.recent_a.numpy()) * d,
                           (m.stats_b.numpy() + m.recent_b.numpy()) * d,
                           float(m.stats_n.numpy() + m.recent_n.numpy()) * d, known)

    # -- training ------------------------------------------------------------------------------

    def _samples(self, candles: Candles) -> tuple[Samples, int]:
        ctx, start = self.history.with_context(candles)
        c = self.config
        s = prepare(ctx, c.window_candles, c.label_period_candles, proxy=False)
        self.history.remember(ctx, s.observed)
        return s, start

    def fit(self, candles: Candles) -> FitReport:
        with self.lock:
            started = time.monotonic()
            s, start = self._samples(candles)
            skips = skip_counts(candles, s, start, self.config.window_candles)
            if not self.trained:
                learned, replayed, mode = self._fit_full(s), 0, "full"
                consolidated = learned
            else:
                learned, replayed, consolidated = self._fit_incremental(s)
                mode = "incremental"
            self.state.training_counter.assign_add(1)
            self._publish()
            return FitReport(mode, learned, replayed, skips.total, time.monotonic() - started,
                             self.training_counter, skips, consolidated)

    def _rng(self) -> np.random.Generator:
        # Derived from seed and counter: a restored learner shuffles exactly like the original.
        return np.random.default_rng([self.config.seed, self.training_counter])

    def _others(self, as_of: int) -> wide.Moments:
        f = len(self.feature_names)
        if self.pool is None or not self.config.shared_across_pairs:
            return wide.Moments.zeros(f)
        o = self.pool.others(self.pair or "", as_of)
        return wide.Moments(o.a, o.b, o.n)

    def _fit_full(self, s: Samples) -> int:
        c, nets = self.config, self.nets
        rows = np.flatnonzero(s.target_ok)
        if len(rows) < MIN_FIT_SAMPLES:
            raise InsufficientDataError(
                f"only {len(rows)} usable samples, need at least {MIN_FIT_SAMPLES}: each "
                f"needs freqai.self_learning.window_candles ({c.window_candles}) observed "
                "candles up to it and freqai.feature_parameters.label_period_candles "
                f"({c.label_period_candles}) after it; give FreqAI more training data "
                "(freqai.train_period_days) or check the candles")
        nets.autoencoder.set_scaling(s.windows[s.input_ok])
        nets.discovery.set_scaling(s.features[rows], s.targets[rows, 0])
        nets.liquidity.set_scaling(s.features[rows], s.targets[rows, 1:])
        cut = int(len(rows) * (1.0 - VALIDATION_SHARE))
        train, val = rows[: max(cut - c.label_period_candles, 1)], rows[cut:]
        # The wide head first (the deep head learns its residual), chosen on a purged tail.
        z, y = self._wide_rows(s, rows)
        ts = s.ts[rows]
        others = self._others(int(s.ts[-1]))  # what the other pairs knew by the newest candle
        lam = DEFAULT_PENALTY
        disc = nets.discovery.module
        disc.ridge_lambda.assign(lam)
        if c.deep_head:  # the deep head learns the residual of a wide head without the tail
            ntr = len(train)
            disc.wide_beta.assign(wide.irls(z[:ntr], y[:ntr], ts[:ntr], int(ts[ntr - 1]),
                                            self.wide_spec, lam, others))
        self._train_networks(s, train, val, c.epochs)
        disc.deep_blend.assign(self._choose_blend(s, val) if c.deep_head else 0.0)
        self._first_wide(s, rows, others)
        errors = np.log(self._errors(s.windows[s.input_ok]) + 1e-8)
        self.state.novelty_mean.assign(float(errors.mean()))
        self.state.novelty_var.assign(float(max(errors.var(), 1e-6)))
        self.state.quality_scale.assign(float(max(s.targets[rows, 0].std(), 1e-6)))
        self._remember_learned(s, rows)
        return len(rows)

    def _first_wide(self, s: Samples, rows: np.ndarray, others: wide.Moments) -> None:
        """The wide head from scratch on the window's rows (plus the pool): Huber IRLS, then
        its statistics anchored at the newest row."""
        z, y = self._wide_rows(s, rows)
        ts = s.ts[rows]
        lam = float(self.nets.discovery.module.ridge_lambda.numpy())
        beta = wide.irls(z, y, ts, int(ts[-1]), self.wide_spec, lam, others)
        own = wide.own_moments(z, y, ts, int(ts[-1]), self.wide_spec, beta)
        self._set_wide(own, int(ts[-1]), wide.solve(own + others.discounted(
            int(s.ts[-1]), int(ts[-1]), self.settings.half_life_s), lam))
        self.state.linear_learned_ts.assign(int(ts[-1]))

    @property
    def wide_ready(self) -> bool:
        """Whether the wide head has learned anything (not after an upgrade from a layout
        without it, until the next training)."""
        return int(self.state.linear_learned_ts.numpy()) != NEVER

    def after_upgrade(self) -> None:
        """A restore read an earlier layout (learning/layouts.py): the wide head starts from
        the next training's window."""
        with self.lock:
            self.state.linear_learned_ts.assign(NEVER)

    def _wide_rows(self, s: Samples, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self.nets.discovery
        z = d.wide_inputs(s.features[rows]).numpy()
        y = d.scaled_target(s.targets[rows, 0]).numpy()
        return z, y

    def _set_wide(self, own: wide.Moments, anchor: int, beta: np.ndarray) -> None:
        m = self.nets.discovery.module
        m.stats_a.assign(own.a)
        m.stats_b.assign(own.b)
        m.stats_n.assign(own.n)
        m.stats_ts.assign(anchor)
        for var in (m.recent_a, m.recent_b, m.recent_n):
            var.assign(tf.zeros_like(var))
        m.wide_beta.assign(beta)

    def _errors(self, windows: np.ndarray) -> np.ndarray:
        return self.nets.autoencoder.forward(tf.constant(windows, tf.float32))[1].numpy()

    def _train_networks(self, s: Samples, train: np.ndarray, val: np.ndarray,
                        epochs: int) -> None:
        """Epochs of the one guarded update over the training rows; each network keeps the
        weights of its epoch with the lowest validation loss, and training stops once no
        network improved for `patience` epochs (early stopping on the purged tail)."""
        c = self.config
        args = (s.windows[train], s.features[train], s.targets[train],
                np.ones(len(train), np.float32))
        vargs = (s.windows[val], s.features[val], s.targets[val], np.ones(len(val), np.float32))
        groups = [self.nets.autoencoder, self.nets.discovery, self.nets.liquidity]
        counts = [len(net.trainable_variables()) for net in groups]
        spans = np.cumsum([0, *counts])
        best = [(np.inf, None)] * 3
        rng = self._rng()
        stale = 0
        for _ in range(epochs):
            order = rng.permutation(len(train)).astype(np.int32)
            _, losses = self.programs.epoch(*args, order, c.batch_size, vargs)
            stale += 1
            improved = [i for i in range(3) if losses[i] < best[i][0]]
            if improved:
                values = self.programs.trainable_values()
                for i in improved:
                    best[i] = (losses[i], values[spans[i] : spans[i + 1]])
                stale = 0
            if len(val) and stale >= c.patience:
                break
        for (_, values), net in zip(best, groups, strict=True):
            if values is not None:
                for var, value in zip(net.trainable_variables(), values, strict=True):
                    var.assign(value)

    def _choose_blend(self, s: Samples, val: np.ndarray) -> float:
        """The deep-head weight with the lowest Huber loss on the validation tail (the wide
        head fitted without it), 0 when nothing beats the wide head alone."""
        if len(val) < 3:
            return 0.0
        d = self.nets.discovery
        latent = self.nets.autoencoder.encode(tf.constant(s.windows[val]))
        if not self.config.use_latent:
            latent = tf.zeros_like(latent)
        feats = tf.constant(s.features[val])
        wide_part = tf.linalg.matvec(d.wide_inputs(feats), d.module.wide_beta).numpy()
        deep_part = d.deep(feats, latent).numpy()
        y = d.scaled_target(s.targets[val, 0]).numpy()
        losses = [_huber(y - wide_part - a * deep_part) for a in BLENDS]
        return float(BLENDS[int(np.argmin(losses))])

    def _fit_incremental(self, s: Samples) -> tuple[int, int, int]:
        """(samples the networks learned, replayed, samples consolidated in the wide head)."""
        c, st = self.config, self.state
        lin = np.flatnonzero(s.target_ok & (s.ts > int(st.linear_learned_ts.numpy())))
        if not self.wide_ready and len(lin) >= MIN_FIT_SAMPLES:
            self._first_wide(s, lin, self._others(int(s.ts[-1])))
        elif len(lin) and self.wide_ready:
            self._consolidate(s, lin, int(s.ts[-1]))
        new = np.flatnonzero(s.target_ok & (s.ts > self.last_learned_ts))
        if len(new) == 0:
            return 0, 0, len(lin)
        replay = min(len(new), int(min(st.replay_count.numpy(), c.replay_size)))
        windows, feats, tgt = s.windows[new], s.features[new], s.targets[new]
        if replay:
            rw, rf, rt, _ = st.sample_replay(replay)
            windows = np.concatenate([windows, rw.numpy()])
            feats = np.concatenate([feats, rf.numpy()])
            tgt = np.concatenate([tgt, rt.numpy()])
        weights = np.ones(len(windows), np.float32)
        rng = self._rng()
        for _ in range(c.incremental_epochs):
            self.programs.epoch(windows, feats, tgt, weights,
                                rng.permutation(len(windows)).astype(np.int32), c.batch_size)
        self._remember_learned(s, new)
        return len(new), replay, len(lin)

    def _consolidate(self, s: Samples, rows: np.ndarray, newest_ts: int) -> None:
        """Move the wide head's statistics to the newest learned sample: the consolidated
        ones discounted to it plus these rows at full weight; what the per-candle steps
        learned of the same rows is dropped (it was a small-weight preview of them)."""
        m = self.nets.discovery.module
        z, y = self._wide_rows(s, rows)
        ts = s.ts[rows]
        anchor = int(ts[-1])
        old_anchor = int(m.stats_ts.numpy())
        d = 0.5 ** ((anchor - old_anchor) / self.settings.half_life_s)
        beta = m.wide_beta.numpy()
        own = wide.Moments(m.stats_a.numpy() * d, m.stats_b.numpy() * d,
                           float(m.stats_n.numpy()) * d)
        others = self._others(newest_ts).discounted(newest_ts, anchor,
                                                    self.settings.half_life_s)
        # Each candidate penalty is scored on the new rows before they are learned (rows
        # whose label overlaps one already learned are left out: purged).
        fresh = ts > old_anchor + self.config.label_period_candles * self.timeframe_s
        gains, powers = wide.penalty_record(own, others, z[fresh], y[fresh], PENALTIES)
        m.penalty_gain.assign(m.penalty_gain.numpy() * d + gains)
        m.penalty_power.assign(m.penalty_power.numpy() * d + powers)
        lam = wide.best_penalty(m.penalty_gain.numpy(), m.penalty_power.numpy(), PENALTIES,
                                float(m.ridge_lambda.numpy()))
        m.ridge_lambda.assign(lam)
        own = own + wide.own_moments(z, y, ts, anchor, self.wide_spec, beta)
        self._set_wide(own, anchor, wide.solve(own + others, lam))
        self.state.linear_learned_ts.assign(anchor)

    def _remember_learned(self, s: Samples, rows: np.ndarray) -> None:
        keep = rows[-self.config.replay_size:]
        self.state.push_replay(s.windows[keep], s.features[keep], s.targets[keep])
        self.state.last_learned_ts.assign(max(int(s.ts[rows].max()), self.last_learned_ts))

    def share(self) -> None:
        """Hand the pair's wide statistics to the pool (after a restore)."""
        with self.lock:
            self._publish()

    def _publish(self) -> None:
        if self.pool is not None and self.pair is not None:
            self.pool.publish(self.pair, self.wide_stats())

    # -- prediction and per-candle learning -------------------------------------------------

    def predict(self, candles: Candles) -> Predictions:
        """Predict every row of `candles` with the state as it is; no state changes."""
        with self.lock:
            ctx, start = self.history.with_context(candles)
            c = self.config
            s = prepare(ctx, c.window_candles, c.label_period_candles, proxy=False)
            sl = slice(start, None)
            out = self.programs.predict(s.windows[sl], s.features[sl])
            n = len(candles)
            ready = self.trained and self.wide_ready
            return Predictions(candles.ts, out[:, 0], out[:, 1], out[:, 2], out[:, 3],
                               np.full(n, self.training_counter), s.input_ok[sl] & ready,
                               scores={k: np.full(n, np.nan, np.float32) for k in SCORE_NAMES})

    def observe(self, candles: Candles) -> Predictions:
        """Step every candle newer than the last one seen: learn what matured, then predict.

        Returns the predictions of the stepped rows that belong to `candles` (remembered
        older candles may be stepped too, e.g. after a restore, but are not returned)."""
        with self.lock:
            last_seen = self.last_seen_ts if self._last_seen is None else self._last_seen
            candles = self._new_tail(candles, last_seen)
            s, start = self._samples(candles)
            h = self.config.label_period_candles
            floor = last_seen if last_seen != NEVER else self.last_learned_ts
            idx = np.flatnonzero(s.observed & (s.ts > floor))  # only observations step
            if len(idx) == 0:
                out = empty_outputs()
            else:
                self._last_seen = None  # unknown if the run fails part-way
                out = self._run(self._step_batch(s, idx, last_seen, h))
                self._last_seen = int(s.ts[idx[-1]])  # what the step wrote
                if self.pool is not None and not self.pool.keep_history:
                    self._publish()
            mine = idx >= start
            ok = s.input_ok[idx] & (out["training_counter"] > 0) & self.wide_ready
            return Predictions(
                s.ts[idx][mine], out["s_close"][mine], out["liq_up"][mine],
                out["liq_down"][mine], out["novelty"][mine], out["training_counter"][mine],
                ok[mine], int(out["learned"].sum()),
                scores={k: out[k][mine] for k in SCORE_NAMES})

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
                others = self._others(int(ts[lo]))
                parts.append(self.programs.run(batch.rows(slice(lo, hi)),
                                               (others.a, others.b, others.n)))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _step_batch(self, s: Samples, idx: np.ndarray, last_seen: int, h: int) -> StepBatch:
        # The stream is the sequence of observed candles: the sample that matures at a stepped
        # candle is the observed candle h steps earlier, and the pending ring restarts only
        # when the candle stepped before this block is not the observation before idx[0].
        observed = np.flatnonzero(s.observed)
        at = np.searchsorted(observed, idx)
        has_prev = at >= h
        prev_c = observed[np.where(has_prev, at - h, 0)]
        reset = np.zeros(len(idx), dtype=bool)
        reset[0] = last_seen != NEVER and (at[0] == 0 or s.ts[observed[at[0] - 1]] != last_seen)
        return StepBatch(
            s.windows[idx], s.features[idx], s.input_ok[idx], s.ts[idx].astype(np.int64),
            s.targets[prev_c], s.target_ok[prev_c] & has_prev,
            np.where(has_prev, s.ts[prev_c], NEVER).astype(np.int64), reset)


def _huber(r: np.ndarray) -> float:
    a = np.abs(r)
    return float(np.mean(np.where(a < 1.0, 0.5 * a * a, a - 0.5)))
