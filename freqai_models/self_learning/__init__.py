"""SelfLearning for FreqAI: self-learning TensorFlow models for freqtrade."""

__version__ = "0.1.0"
