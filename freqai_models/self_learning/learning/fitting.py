"""PairFitter: what one FreqAI training does to a pair's networks and wide head.

The first training (`full`) sets the input scaling, trains the networks on the window with a
purged validation tail, and fits the wide head from scratch; later ones (`incremental`,
continual learning) consolidate the samples learned since into the wide head's statistics
and take an incremental pass of the networks on the new samples plus replayed older ones.
The learner (learning/learner.py) holds the lock and counts the training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from self_learning.candles.samples import (
    MIN_FIT_SAMPLES,
    InsufficientDataError,
    Samples,
    SkipCounts,
)
from self_learning.candles.timeline import NEVER, iso_utc
from self_learning.learning import novelty
from self_learning.returns.models import DEFAULT_PENALTY
from self_learning.returns.moments import Moments

if TYPE_CHECKING:
    from self_learning.config import SelfLearningConfig
    from self_learning.learning.state import LearnerState
    from self_learning.learning.training import NetworkTrainer
    from self_learning.networks.pair_networks import PairNetworks
    from self_learning.returns.head import WideHead

VALIDATION_SHARE = 0.1


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
    last_learned_ts: int = NEVER
    challenge: str | None = None  # how it settled a drift response's challenge, if one was on

    def describe(self, pair: str) -> str:
        """The training's log line (README, "Log lines")."""
        why = f" ({self.skips.describe()})" if self.skipped else ""
        what = "update" if self.mode == "incremental" else "training"
        stepped = max(self.consolidated - self.samples, 0)
        per_candle = f", {stepped} learned per candle since the last training" if stepped else ""
        settled = {"kept": "; drift response kept (it predicted better than the model before "
                           "it)",
                   "restored": "; drift response undone (the model before it predicted "
                               "better)",
                   "on trial": "; drift response still on trial (no clear winner yet)"
                   }.get(self.challenge or "", "")
        return (f"{self.mode} {what} of {pair}: {self.samples} new samples{per_candle}, "
                f"{self.replayed} replayed, {self.skipped} skipped{why}, {self.seconds:.2f} s, "
                f"training counter {self.training_counter}, last learned candle "
                f"{iso_utc(self.last_learned_ts)}{settled}")


@dataclass(frozen=True)
class Learned:
    """What one training learned (the counts of its FitReport)."""

    samples: int       # new samples the networks learned
    replayed: int      # older samples replayed against forgetting
    consolidated: int  # samples the wide head's statistics took at full weight


class PairFitter:
    def __init__(self, config: SelfLearningConfig, nets: PairNetworks, state: LearnerState,
                 wide_head: WideHead, trainer: NetworkTrainer,
                 others: Callable[[int], Moments]):
        self.config, self.nets, self.state = config, nets, state
        self.wide, self.trainer, self.others = wide_head, trainer, others

    @property
    def _last_learned_ts(self) -> int:
        return int(self.state.last_learned_ts.numpy())

    def full(self, s: Samples, rng: np.random.Generator) -> Learned:
        """Train from scratch on every usable sample (all of them new, none replayed, all
        taken by the wide head)."""
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
        train, val = rows[: max(cut - c.label_period_candles, 1)], rows[cut:]  # purged tail
        others = self.others(int(s.ts[-1]))  # what the other pairs knew by the newest candle
        nets.discovery.module.models.ridge_lambda.assign(DEFAULT_PENALTY)
        if c.deep_head:
            self.wide.fit_train_part(s, train, others)
        self.trainer.full(s, train, val, rng)
        nets.discovery.module.models.deep_blend.assign(
            self.trainer.choose_blend(s, val) if c.deep_head else 0.0)
        self.wide.first_fit(s, rows, others)
        errors = np.log(nets.autoencoder.forward(tf.constant(s.windows[s.input_ok]))[1].numpy()
                        + novelty.EPS)
        self.state.novelty_mean.assign(float(errors.mean()))
        self.state.novelty_var.assign(float(max(errors.var(), 1e-6)))
        self.state.quality_scale.assign(float(max(s.targets[rows, 0].std(), 1e-6)))
        self._remember(s, rows)
        return Learned(len(rows), 0, len(rows))

    def incremental(self, s: Samples, rng: np.random.Generator) -> Learned:
        """Consolidate the samples learned since into the wide head, then an incremental pass
        of the networks on the new samples plus as many replayed ones."""
        c, st = self.config, self.state
        lin = np.flatnonzero(s.target_ok & (s.ts > int(st.linear_learned_ts.numpy())))
        if not self.wide.ready and len(lin) >= MIN_FIT_SAMPLES:
            self.wide.first_fit(s, lin, self.others(int(s.ts[-1])))
        elif len(lin) and self.wide.ready:
            self.wide.consolidate(s, lin, self.others,
                                  with_incumbent=float(st.challenge_on.numpy()) > 0.5)
        new = np.flatnonzero(s.target_ok & (s.ts > self._last_learned_ts))
        if len(new) == 0:
            return Learned(0, 0, len(lin))
        replay = min(len(new), int(min(st.replay_count.numpy(), c.replay_size)))
        windows, feats, tgt = s.windows[new], s.features[new], s.targets[new]
        if replay:
            rw, rf, rt, _ = st.sample_replay(replay)
            windows = np.concatenate([windows, rw.numpy()])
            feats = np.concatenate([feats, rf.numpy()])
            tgt = np.concatenate([tgt, rt.numpy()])
        self.trainer.incremental(windows, feats, tgt, rng)
        self._remember(s, new)
        return Learned(len(new), replay, len(lin))

    def _remember(self, s: Samples, rows: np.ndarray) -> None:
        keep = rows[-self.config.replay_size:]
        self.state.push_replay(s.windows[keep], s.features[keep], s.targets[keep])
        self.state.last_learned_ts.assign(max(int(s.ts[rows].max()), self._last_learned_ts))
