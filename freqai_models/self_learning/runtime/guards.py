"""What keeps an unusable pair from trading, and a broken state from reaching the store.

* `PairNotices`: one log line per pair (not per candle) when a pair gets no predictions
  because it has not had a full training yet, or because its store folder cannot be read;
  one line when that is over.
* `check_finite(pair, snapshot)`: the last look at a learner's state before it is saved;
  `NonFiniteState` (naming the variables) instead of writing a NaN or inf to the store.
"""

from __future__ import annotations

import logging

import numpy as np

from self_learning.store.snapshot import Snapshot

logger = logging.getLogger(__name__)


class NonFiniteState(ValueError):
    """A snapshot holding NaN or inf: not saved, the last good version stays the newest."""


def nonfinite_variables(snapshot: Snapshot) -> list[str]:
    """`network/variable path` of every floating-point variable holding a NaN or inf."""
    return [f"{name}/{path}" for name, values in snapshot.items()
            for path, value in values.items()
            if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all()]


def check_finite(pair: str, snapshot: Snapshot) -> None:
    bad = nonfinite_variables(snapshot)
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise NonFiniteState(f"the state of {pair} holds NaN or inf in {', '.join(bad[:5])}"
                             f"{more}; it is not saved")


class PairNotices:
    """Says once per pair why it gets no predictions, and once when it gets them again."""

    def __init__(self):
        self._untrained: set[str] = set()
        self._unreadable: set[str] = set()

    def untrained(self, pair: str) -> None:
        if pair in self._untrained:
            return
        self._untrained.add(pair)
        logger.warning(f"{pair} has no model from a completed full training yet (fresh models: "
                       "nothing stored, no usable stored version, other features, or too few "
                       "candles to train on yet); it gets "
                       "no predictions (do_predict = 0) and learns nothing per candle until "
                       "FreqAI's next training of it, which trains it from scratch.")

    def trained(self, pair: str) -> None:
        if pair in self._untrained:
            self._untrained.discard(pair)
            logger.info(f"{pair} finished its full training; it gets predictions again.")

    def unreadable(self, pair: str, message: str) -> bool:
        """Log `message` the first time; True then (the caller notifies the user once)."""
        if pair in self._unreadable:
            return False
        self._unreadable.add(pair)
        logger.error(message)
        return True

    def readable(self, pair: str) -> None:
        if pair in self._unreadable:
            self._unreadable.discard(pair)
            logger.info(f"The store folder of {pair} can be read again; loading it.")
