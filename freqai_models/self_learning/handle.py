"""What FreqAI pickles into its own model folder: a small token, never a Keras object.

The weights live in our store; the adapter finds the live learner by pair. The handle only
records which pair and training counter FreqAI saw, so FreqAI's joblib file stays tiny and
loading it never touches TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelHandle:
    pair: str
    training_counter: int
    available: bool = True  # False when TensorFlow is missing: predictions are not tradable
