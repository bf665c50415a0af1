"""PairNetworks: the three networks of one pair, and everything that names them.

It alone spells the networks' names, seeds, shapes and order: construction, `modules()` (what
the store saves, in order), per-network metadata and its field names, the graph key (what must
match for a saved graph to be reused) and the typed views of what a store holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from self_learning.candles.timeline import NEVER
from self_learning.config import SelfLearningConfig
from self_learning.networks.autoencoder import MarketStructureAutoencoder
from self_learning.networks.discovery import FeatureDiscoveryNetwork
from self_learning.networks.liquidity import LiquidityPredictionModel

NETWORK_NAMES = {
    "encoder": "MarketStructureAutoencoder.encoder",
    "decoder": "MarketStructureAutoencoder.decoder",
    "feature_discovery": "FeatureDiscoveryNetwork",
    "liquidity": "LiquidityPredictionModel",
    "learner_state": "LearnerState",
}
SEED_OFFSETS = {"autoencoder": 0, "feature_discovery": 1000, "liquidity": 2000}
SCHEMA = "wide-deep-3"  # state schema of this code (checkpoints of other schemas are upgraded)
SCHEMA_KEY = "layout"  # the metadata (and graph key) field holding it: its name in every store
# The learner's metadata fields (PairLearner.metadata writes them, the views below read them;
# their names are the same in every store).
COUNTER_KEY = "training_counter"
FEATURES_KEY = "features"
TIMEFRAME_KEY = "timeframe_s"              # seconds per candle of the candles it learned
LEARNED_KEY = "last_learned_candle_ts"     # newest candle learned (a training or a step)
SEEN_KEY = "last_seen_candle_ts"           # newest candle stepped
FOLDED_KEY = "novelty_folded_candle_ts"    # newest served candle in the novelty statistics


@dataclass(frozen=True)
class StoredCandles:
    """The newest candles one network's stored metadata says its learner knows (NEVER: none):
    learned, stepped, and folded into the novelty statistics while only serving."""

    learned: int
    seen: int
    folded: int

    @staticmethod
    def of(doc: Mapping[str, Any]) -> StoredCandles:
        return StoredCandles(int(doc.get(LEARNED_KEY, NEVER)), int(doc.get(SEEN_KEY, NEVER)),
                             int(doc.get(FOLDED_KEY, NEVER)))


@dataclass(frozen=True)
class RestoredModels:
    """What a restore found, typed (no digging in metadata dictionaries)."""

    version: int
    training_counter: int       # max over the networks
    counters: dict[str, int]    # per network
    features: list[str]
    last_learned_ts: int
    schema: str                 # SCHEMA of the code that saved it
    novelty_folded_ts: int      # newest served candle in the novelty statistics (NEVER: none)
    timeframe_s: int | None     # the candles it learned (None: not recorded)

    @staticmethod
    def from_metadata(version: int, metadata: dict[str, dict]) -> RestoredModels:
        counters = {k: int(m.get(COUNTER_KEY, 0)) for k, m in metadata.items()}
        disc = metadata.get("feature_discovery", {})
        known = StoredCandles.of(disc)
        timeframe_s = disc.get(TIMEFRAME_KEY)
        return RestoredModels(version, max(counters.values(), default=0), counters,
                              list(disc.get(FEATURES_KEY) or []), known.learned,
                              str(disc.get(SCHEMA_KEY, "wide-deep-1")), known.folded,
                              None if timeframe_s is None else int(timeframe_s))


class PairNetworks:
    def __init__(self, config: SelfLearningConfig, n_features: int):
        c = self.config = config
        self.n_features = int(n_features)
        self.autoencoder = MarketStructureAutoencoder(
            c.window_candles, c.latent_dim, c.hidden_units, c.learning_rate,
            c.seed + SEED_OFFSETS["autoencoder"])
        self.discovery = FeatureDiscoveryNetwork(
            n_features, c.latent_dim, c.hidden_units, c.learning_rate,
            c.seed + SEED_OFFSETS["feature_discovery"])
        self.liquidity = LiquidityPredictionModel(
            n_features, c.latent_dim, c.hidden_units, c.learning_rate,
            c.seed + SEED_OFFSETS["liquidity"])

    def in_order(self) -> tuple:
        """The three networks in their one order (modules, weights, losses, updates)."""
        return (self.autoencoder, self.discovery, self.liquidity)

    def modules(self) -> dict[str, tf.Module]:
        """The networks' modules in the store's order (the learner adds its state)."""
        return {name: module for net in self.in_order() for name, module in net.modules.items()}

    def graph_key(self) -> str:
        c = self.config
        return json.dumps({SCHEMA_KEY: SCHEMA, "window": c.window_candles, "latent": c.latent_dim,
                           "hidden": c.hidden_units, "features": self.n_features,
                           "horizon": c.label_period_candles, "replay": c.replay_size,
                           "scoreboard": c.scoreboard_candles})

    def metadata(self, common: dict) -> dict[str, dict]:
        """Per-network metadata for the store (it adds timestamps, versions, checksums)."""
        d, f, lat = self.autoencoder.input_dim, self.n_features, self.config.latent_dim
        shapes = {"encoder": [[None, d]], "decoder": [[None, lat]],
                  "feature_discovery": [[None, f], [None, lat]],
                  "liquidity": [[None, f], [None, lat]], "learner_state": []}
        return {k: {**common, SCHEMA_KEY: SCHEMA, "network": NETWORK_NAMES[k],
                    "input_shapes": shapes[k]} for k in NETWORK_NAMES}
