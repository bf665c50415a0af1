"""The three Keras 3 networks, each wrapped in tf.Modules the store can save."""

from self_learning.networks.autoencoder import MarketStructureAutoencoder
from self_learning.networks.discovery import FeatureDiscoveryNetwork
from self_learning.networks.liquidity import LiquidityPredictionModel

__all__ = ["FeatureDiscoveryNetwork", "LiquidityPredictionModel", "MarketStructureAutoencoder"]
