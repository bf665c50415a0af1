"""PairLearner: the three networks of one pair, how they are trained, and what they predict.

Knows nothing of freqtrade. Every public method holds `self.lock`, so FreqAI's training thread,
the per-candle loop and background saves never see half-updated weights.

* `fit(candles)`: first call trains from scratch; later calls (continual learning) take an
  incremental pass on the samples not learned yet, plus a replay of older ones.
* `observe(candles)`: per-candle online learning (live, dry-run and prequential backtests):
  every candle newer than the last one seen is stepped through `OnlineStepper`.
* `predict(candles)`: predictions with the weights as they are, no learning.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from self_learning.config import SelfLearningConfig
from self_learning.networks import (
    FeatureDiscoveryNetwork,
    LiquidityPredictionModel,
    MarketStructureAutoencoder,
)
from self_learning.online import OnlineStepper, empty_outputs
from self_learning.predictions import Predictions
from self_learning.quality import quality_weight, signal_quality
from self_learning.samples import (
    MIN_FIT_SAMPLES,
    CandleHistory,
    Candles,
    Samples,
    SkipCounts,
    prepare,
    skip_counts,
)
from self_learning.state import NEVER, LearnerState

logger = logging.getLogger(__name__)

PROXY_WEIGHT = 0.25  # weight of self-supervised liquidity targets (future not known yet)


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


class PairLearner:
    def __init__(self, config: SelfLearningConfig, feature_names: list[str], timeframe_s: int):
        c = self.config = config
        self.feature_names = list(feature_names)
        self.timeframe_s = int(timeframe_s)
        self.lock = threading.RLock()
        n_features = len(self.feature_names)
        self.autoencoder = MarketStructureAutoencoder(
            c.window_candles, c.latent_dim, c.hidden_units, c.learning_rate, c.seed)
        self.discovery = FeatureDiscoveryNetwork(
            n_features, c.latent_dim, c.hidden_units, c.learning_rate, c.seed + 1000)
        self.liquidity = LiquidityPredictionModel(
            n_features, c.latent_dim, c.hidden_units, c.learning_rate, c.seed + 2000)
        self.state = LearnerState(self.autoencoder.input_dim, n_features,
                                  c.label_period_candles, c.replay_size, c.seed)
        self.stepper = OnlineStepper(self.autoencoder, self.discovery, self.liquidity,
                                     self.state, c.replay_batch)
        self.history = CandleHistory(keep=c.window_candles + c.label_period_candles + 1)
        # Mirror of state.last_seen_ts, kept by `observe` (the only writer after the store's
        # restore at creation): reading a variable eagerly costs ~0.3 ms per candle here.
        self._last_seen: int | None = None

    # -- what the store and the adapter read ---------------------------------------------------

    def modules(self) -> dict[str, tf.Module]:
        return {**self.autoencoder.modules, **self.discovery.modules, **self.liquidity.modules,
                "learner_state": self.state}

    def graph_key(self) -> str:
        c = self.config
        # "adam": the optimizer's slot layout (flat since the per-candle speed work), so the
        # first save after an upgrade writes the full SavedModel instead of reusing the graph.
        return json.dumps({"window": c.window_candles, "latent": c.latent_dim,
                           "hidden": c.hidden_units, "features": len(self.feature_names),
                           "horizon": c.label_period_candles, "replay": c.replay_size,
                           "adam": "flat"})

    @property
    def training_counter(self) -> int:
        return int(self.state.training_counter.numpy())

    @property
    def trained(self) -> bool:
        return self.training_counter > 0

    @property
    def step_compiled(self) -> bool:
        """Whether `observe` has compiled its step yet (the first call takes seconds)."""
        return self.stepper.compiled

    @property
    def last_learned_ts(self) -> int:
        return int(self.state.last_learned_ts.numpy())

    @property
    def last_seen_ts(self) -> int:
        return int(self.state.last_seen_ts.numpy())

    def feature_importances(self) -> dict[str, float]:
        gates = self.discovery.importances()
        names = self.feature_names + [f"latent_{i}" for i in range(self.config.latent_dim)]
        return dict(zip(names, (float(g) for g in gates), strict=True))

    def metadata(self) -> dict[str, dict]:
        """Per-network metadata for the store (it adds timestamps, versions, checksums)."""
        with self.lock:
            c = self.config
            common = {
                "training_counter": self.training_counter,
                "last_learned_candle_ts": self.last_learned_ts,
                "last_seen_candle_ts": self.last_seen_ts,
                "features": self.feature_names,
                "timeframe_s": self.timeframe_s,
                "hyperparameters": {"window_candles": c.window_candles, "latent_dim": c.latent_dim,
                                    "hidden_units": c.hidden_units,
                                    "label_period_candles": c.label_period_candles},
            }
            d, f, lat = self.autoencoder.input_dim, len(self.feature_names), c.latent_dim
            shapes = {"encoder": [[None, d]], "decoder": [[None, lat]],
                      "feature_discovery": [[None, f], [None, lat]],
                      "liquidity": [[None, f], [None, lat]], "learner_state": []}
            names = {"encoder": "MarketStructureAutoencoder.encoder",
                     "decoder": "MarketStructureAutoencoder.decoder",
                     "feature_discovery": "FeatureDiscoveryNetwork",
                     "liquidity": "LiquidityPredictionModel", "learner_state": "LearnerState"}
            return {k: {**common, "network": names[k], "input_shapes": shapes[k]}
                    for k in names}

    # -- training --------------------------------------------------------------------------

    def _samples(self, candles: Candles, proxy: bool = True) -> tuple[Samples, int]:
        ctx, start = self.history.with_context(candles)
        c = self.config
        s = prepare(ctx, c.window_candles, c.label_period_candles, proxy)
        self.history.remember(ctx, s.observed)
        return s, start

    def fit(self, candles: Candles) -> FitReport:
        with self.lock:
            started = time.monotonic()
            s, start = self._samples(candles)
            skips = skip_counts(candles, s, start, self.config.window_candles)
            if not self.trained:
                learned, replayed = self._fit_full(s), 0
                mode = "full"
            else:
                learned, replayed = self._fit_incremental(s)
                mode = "incremental"
            self.state.training_counter.assign_add(1)
            return FitReport(mode, learned, replayed, skips.total, time.monotonic() - started,
                             self.training_counter, skips)

    def _rng(self) -> np.random.Generator:
        # Derived from seed and counter: a restored learner shuffles exactly like the original.
        return np.random.default_rng([self.config.seed, self.training_counter])

    def _latent_inputs(self, s: Samples) -> np.ndarray:
        latent = self.autoencoder.encode(s.windows).numpy()
        return np.concatenate([s.features, latent], axis=1)

    def _fit_full(self, s: Samples) -> int:
        c = self.config
        rows = s.target_ok
        if rows.sum() < MIN_FIT_SAMPLES:
            raise InsufficientDataError(
                f"only {int(rows.sum())} usable samples, need at least {MIN_FIT_SAMPLES}: each "
                f"needs freqai.self_learning.window_candles ({c.window_candles}) observed "
                "candles up to it and freqai.feature_parameters.label_period_candles "
                f"({c.label_period_candles}) after it; give FreqAI more training data "
                "(freqai.train_period_days) or check the candles")
        fit = dict(epochs=c.epochs, batch_size=c.batch_size, rng=self._rng())
        self.autoencoder.set_scaling(s.windows[s.input_ok])
        self.autoencoder.fit(s.windows[s.input_ok], s.windows[s.input_ok], **fit)
        x = self._latent_inputs(s)
        self.discovery.set_scaling(x[rows], s.targets[rows, 0])
        self.discovery.fit(x[rows], s.targets[rows, 0], **fit)
        liq_rows, liq_y, liq_w = self._liquidity_rows(s, s.input_ok)
        self.liquidity.set_scaling(x[rows], s.targets[rows, 1:])
        self.liquidity.fit(x[liq_rows], liq_y, liq_w, **fit)
        errors = np.log(self.autoencoder.reconstruction_error(s.windows[s.input_ok]).numpy()
                        + 1e-8)
        self.state.novelty_mean.assign(float(errors.mean()))
        self.state.novelty_var.assign(float(max(errors.var(), 1e-6)))
        self.state.quality_scale.assign(float(max(s.targets[rows, 0].std(), 1e-6)))
        self._remember_learned(s, rows)
        return int(rows.sum())

    def _liquidity_rows(self, s: Samples, rows: np.ndarray):
        """Realized excursions where known, trailing excursions (lower weight) otherwise."""
        y = np.where(s.target_ok[:, None], s.targets[:, 1:], s.proxy[:, 1:])[rows]
        w = np.where(s.target_ok, 1.0, PROXY_WEIGHT)[rows].astype(np.float32)
        return rows, y, w

    def _fit_incremental(self, s: Samples) -> tuple[int, int]:
        c = self.config
        new = s.target_ok & (s.ts > self.last_learned_ts)
        n_new = int(new.sum())
        if n_new == 0:
            return 0, 0
        x_new = self._latent_inputs(s)[new]
        pred = self.discovery.predict(s.features[new], x_new[:, len(self.feature_names):])
        weights = quality_weight(signal_quality(pred, s.targets[new, 0],
                                                self.state.quality_scale)).numpy()
        replay = min(n_new, int(min(self.state.replay_count.numpy(), c.replay_size)))
        rw, rf, rt, _ = self.state.sample_replay(replay) if replay else (None,) * 4
        windows = _stack(s.windows[new], rw)
        feats = _stack(s.features[new], rf)
        tgt = _stack(s.targets[new], rt)
        w = np.concatenate([weights, np.ones(replay, np.float32)])
        inc = dict(epochs=c.incremental_epochs, batch_size=c.batch_size, rng=self._rng())
        self.autoencoder.update_incremental(windows, windows, **inc)
        x = np.concatenate([feats, self.autoencoder.encode(windows).numpy()], axis=1)
        self.discovery.update_incremental(x, tgt[:, 0], w, **inc)
        self.liquidity.update_incremental(x, tgt[:, 1:], **inc)
        self._remember_learned(s, new)
        return n_new, replay

    def _remember_learned(self, s: Samples, rows: np.ndarray) -> None:
        keep = np.flatnonzero(rows)[-self.config.replay_size:]
        self.state.push_replay(s.windows[keep], s.features[keep], s.targets[keep])
        self.state.last_learned_ts.assign(int(s.ts[rows].max()))

    # -- prediction and online learning -----------------------------------------------------

    def predict(self, candles: Candles) -> Predictions:
        """Predict every row of `candles` with the current weights; no state changes."""
        with self.lock:
            ctx, start = self.history.with_context(candles)
            c = self.config
            s = prepare(ctx, c.window_candles, c.label_period_candles)
            sl = slice(start, None)
            out = self.stepper.predict(s.windows[sl], s.features[sl])
            n = len(candles)
            return Predictions(candles.ts, out[:, 0], out[:, 1], out[:, 2], out[:, 3],
                               np.full(n, self.training_counter), s.input_ok[sl] & self.trained)

    def observe(self, candles: Candles) -> Predictions:
        """Step every candle newer than the last one seen: learn what matured, then predict.

        Returns the predictions of the stepped rows that belong to `candles` (remembered
        older candles may be stepped too, e.g. after a restore, but are not returned)."""
        with self.lock:
            s, start = self._samples(candles, proxy=False)
            h = self.config.label_period_candles
            last_seen = self.last_seen_ts if self._last_seen is None else self._last_seen
            floor = last_seen if last_seen != NEVER else self.last_learned_ts
            idx = np.flatnonzero(s.observed & (s.ts > floor))  # only observations step
            if len(idx) == 0:
                out = empty_outputs()
            else:
                self._last_seen = None  # unknown if the run fails part-way
                out = self.stepper.run(*self._step_inputs(s, idx, last_seen, h))
                self._last_seen = int(s.ts[idx[-1]])  # what the step wrote
            mine = idx >= start
            ok = s.input_ok[idx] & (out["training_counter"] > 0)
            return Predictions(s.ts[idx][mine], out["s_close"][mine], out["liq_up"][mine],
                               out["liq_down"][mine], out["novelty"][mine],
                               out["training_counter"][mine], ok[mine],
                               int(out["learned"].sum()))

    def _step_inputs(self, s: Samples, idx: np.ndarray, last_seen: int, h: int):
        # The stream is the sequence of observed candles: the sample that matures at a stepped
        # candle is the observed candle h steps earlier, and the pending ring restarts only
        # when the candle stepped before this block is not the observation before idx[0].
        observed = np.flatnonzero(s.observed)
        at = np.searchsorted(observed, idx)
        has_prev = at >= h
        prev_c = observed[np.where(has_prev, at - h, 0)]
        reset = np.zeros(len(idx), dtype=bool)
        reset[0] = last_seen != NEVER and (at[0] == 0 or s.ts[observed[at[0] - 1]] != last_seen)
        return (
            s.windows[idx], s.features[idx], s.input_ok[idx], s.ts[idx].astype(np.int64),
            s.targets[prev_c], s.target_ok[prev_c] & has_prev,
            np.where(has_prev, s.ts[prev_c], NEVER).astype(np.int64), reset,
        )


def _stack(new: np.ndarray, replay) -> np.ndarray:
    return new if replay is None else np.concatenate([new, np.asarray(replay)], axis=0)
