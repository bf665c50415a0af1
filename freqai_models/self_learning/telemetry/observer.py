"""What the runtime tells its observers (TensorBoard, notifications), and the fan-out.

The runtime calls these hooks on its own threads (the trading loop, FreqAI's training
thread, the saver's writers). A hook must return at once: it may copy references or put
them on a queue, never write files or talk to the network. `Observers` calls each observer
and keeps an observer's failure away from trading (logged once per observer and hook).
Knows nothing of freqtrade or TensorFlow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from self_learning.candles.predictions import Predictions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairStart:
    """How a pair's learner came to be: "loaded" from the store, "created" or "refused"."""

    pair: str
    how: str
    version: int | None = None
    training_counter: int = 0
    last_learned_ts: int = -1
    detail: str = ""  # the refusal's message


@dataclass(frozen=True)
class FitDone:
    pair: str
    mode: str            # "full" or "incremental"
    samples: int
    seconds: float
    training_counter: int
    newest_ts: int       # newest candle of the training data
    challenge: str | None = None  # how it settled a drift response's challenge, if one was on


@dataclass(frozen=True)
class ResponseStarted:
    """Drift responses (monitor/response.py) started while stepping a pair's candles."""

    pair: str
    ts: int              # newest candle of the stepped block (live: the candle itself)
    count: int           # responses started in that block


@dataclass(frozen=True)
class SaveDone:
    pair: str
    training_counter: int
    seconds: float       # the write in the saver's thread
    newest_ts: int       # newest candle the pair had seen when the save was handed over


class RuntimeObserver:
    """No-op hooks; subclasses override what they need."""

    def pair_started(self, start: PairStart) -> None:
        """A pair's learner was restored, created or refused."""

    def stepped(self, pair: str, predictions: Predictions) -> None:
        """Candles were stepped (learned what matured, predicted); rows carry the scores."""

    def response_started(self, start: ResponseStarted) -> None:
        """A drift alarm on a losing rolling IC started a drift response."""

    def fitted(self, fit: FitDone) -> None:
        """A FreqAI training of the pair finished."""

    def saved(self, save: SaveDone) -> None:
        """A version of the pair landed on disk."""

    def save_failed(self, pair: str, error: BaseException) -> None:
        """A save of the pair failed; the last good version stays."""

    def close(self) -> None:
        """Shutdown: flush what is buffered (bounded)."""


class Observers(RuntimeObserver):
    """Calls every observer in turn; one that raises is logged (once per hook) and skipped."""

    def __init__(self, observers: list[RuntimeObserver] | None = None):
        self.observers = list(observers or [])
        self._failed: set[tuple[int, str]] = set()

    def add(self, observer: RuntimeObserver) -> None:
        self.observers.append(observer)

    def _each(self, hook: str, *args: Any) -> None:
        for observer in self.observers:
            try:
                getattr(observer, hook)(*args)
            except Exception as err:  # never let telemetry break trading
                key = (id(observer), hook)
                if key not in self._failed:
                    self._failed.add(key)
                    logger.exception(f"{type(observer).__name__}.{hook} failed ({err}); "
                                     "trading goes on, this is logged once.")

    def pair_started(self, start: PairStart) -> None:
        self._each("pair_started", start)

    def stepped(self, pair: str, predictions: Predictions) -> None:
        self._each("stepped", pair, predictions)

    def response_started(self, start: ResponseStarted) -> None:
        self._each("response_started", start)

    def fitted(self, fit: FitDone) -> None:
        self._each("fitted", fit)

    def saved(self, save: SaveDone) -> None:
        self._each("saved", save)

    def save_failed(self, pair: str, error: BaseException) -> None:
        self._each("save_failed", pair, error)

    def close(self) -> None:
        self._each("close")
