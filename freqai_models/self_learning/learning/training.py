"""NetworkTrainer: epochs of the one guarded update over a training's rows.

A full training keeps, per network, the weights of its epoch with the lowest loss on a
purged validation tail and stops early once no network improved for `patience` epochs; an
incremental training takes `incremental_epochs` passes over the new rows plus as many
replayed older ones. Both run CompiledPrograms.epoch, the same guarded update the per-candle
step runs. The deep head's blend weight is chosen on the same tail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from self_learning.candles.samples import Samples
from self_learning.learning.compiled import TrainingRows
from self_learning.networks.base import weighted_huber

if TYPE_CHECKING:
    from self_learning.config import SelfLearningConfig
    from self_learning.learning.compiled import CompiledPrograms
    from self_learning.networks.pair_networks import PairNetworks

BLENDS = (0.0, 0.25, 0.5, 1.0)  # deep-head weights tried on the validation tail


class NetworkTrainer:
    def __init__(self, config: SelfLearningConfig, nets: PairNetworks,
                 programs: CompiledPrograms):
        self.config, self.nets, self.programs = config, nets, programs

    def full(self, s: Samples, train: np.ndarray, val: np.ndarray,
             rng: np.random.Generator) -> None:
        c = self.config
        rows = TrainingRows.of(s.windows[train], s.features[train], s.targets[train],
                               np.ones(len(train), np.float32))
        vrows = TrainingRows.of(s.windows[val], s.features[val], s.targets[val],
                                np.ones(len(val), np.float32))
        groups = self.nets.in_order()
        spans = np.cumsum([0, *(len(net.trainable_variables()) for net in groups)])
        best = [(np.inf, None)] * 3
        stale = 0
        for _ in range(c.epochs):
            order = rng.permutation(len(train)).astype(np.int32)
            _, losses = self.programs.epoch(rows, order, c.batch_size, vrows)
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

    def incremental(self, windows, features, targets, rng: np.random.Generator) -> None:
        c = self.config
        rows = TrainingRows.of(windows, features, targets, np.ones(len(windows), np.float32))
        for _ in range(c.incremental_epochs):
            self.programs.epoch(rows, rng.permutation(len(windows)).astype(np.int32),
                                c.batch_size)

    def choose_blend(self, s: Samples, val: np.ndarray) -> float:
        """The deep-head weight with the lowest Huber loss on the validation tail (the wide
        head fitted without it), 0 when nothing beats the wide head alone."""
        if len(val) < 3:
            return 0.0
        d = self.nets.discovery
        latent = self.nets.autoencoder.encode(tf.constant(s.windows[val]))
        if not self.config.use_latent:
            latent = tf.zeros_like(latent)
        feats = tf.constant(s.features[val])
        wide_part = tf.linalg.matvec(d.wide_inputs(feats), d.module.models.challenger.beta).numpy()
        deep_part = d.deep(feats, latent).numpy()
        y = d.scaled_target(s.targets[val, 0]).numpy()
        ones = tf.ones([len(y)])
        losses = [float(weighted_huber(y[:, None], (wide_part + a * deep_part)[:, None], ones))
                  for a in BLENDS]
        return float(BLENDS[int(np.argmin(losses))])
