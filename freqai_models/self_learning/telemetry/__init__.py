"""Telemetry of the model: TensorBoard scalars and notifications, as runtime observers.

`observers_for` builds what a run gets: the Notifier always (its texts go to freqtrade's
`dp.send_msg`, which sends nothing outside dry-run and live) and the TensorBoardWriter when
`freqai.activate_tensorboard` is on. The runtime calls them through `Observers`
(observer.py), which keeps a failing observer away from trading.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from self_learning.config import SelfLearningConfig
from self_learning.telemetry.notify import Notifier
from self_learning.telemetry.observer import (
    FitDone,
    Observers,
    PairStart,
    ResponseStarted,
    RuntimeObserver,
    SaveDone,
)
from self_learning.telemetry.tensorboard import TensorBoardWriter, logdir_for

__all__ = ["FitDone", "Notifier", "Observers", "PairStart", "ResponseStarted",
           "RuntimeObserver", "SaveDone", "TensorBoardWriter", "logdir_for", "observers_for"]


def observers_for(config: SelfLearningConfig, identifier_dir: Path, run_store: str | None,
                  pairs: list[str], mode: str, send: Callable[[str], None],
                  tensorboard: bool) -> Observers:
    observers = Observers([Notifier(send, pairs, mode, config.scoreboard_summary_hours,
                                    config.scoreboard_candles,
                                    drift_notify_hours=config.drift_notify_hours,
                                    drift_challenge=config.drift_challenge)])
    if tensorboard:
        observers.add(TensorBoardWriter(logdir_for(identifier_dir, run_store)))
    return observers
