"""Notifications of the model through freqtrade's `dp.send_msg` (Telegram, Discord, webhooks).

* one start-up summary once every whitelisted pair has its learner (loaded version and
  training counter, new models, or refused);
* a save failure (the first of a run of failures per pair) and the first save that works
  again after it;
* a pair's drift alarm at most once per `freqai.self_learning.drift_notify_hours` of candle
  time (0: every alarm); every alarm is logged, one line each, and the alarms held back are
  counted in the pair's next message;
* always: a drift response that starts (an alarm on a clearly negative rolling IC) and the
  training that ends its challenge (kept or undone);
* with `freqai.self_learning.scoreboard_summary_hours` > 0, the scoreboard of every pair at
  that interval of wall clock (off by default).

`send` is called on the thread of the hook (dp.send_msg only queues the text; freqtrade's
main loop sends it). freqtrade sends nothing in backtests; the log lines are written there too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from self_learning.candles.predictions import Predictions
from self_learning.config import SelfLearningConfig
from self_learning.telemetry import messages
from self_learning.telemetry.observer import (
    FitDone,
    PairStart,
    ResponseStarted,
    RuntimeObserver,
    SaveDone,
)

logger = logging.getLogger(__name__)


class Notifier(RuntimeObserver):
    def __init__(self, send: Callable[[str], None], pairs: list[str], mode: str,
                 summary_hours: float = 0.0, scoreboard_candles: int = 288,
                 clock: Callable[[], float] = time.monotonic,
                 drift_notify_hours: float = SelfLearningConfig.drift_notify_hours,
                 drift_challenge: bool = SelfLearningConfig.drift_challenge):
        self._send = send
        self.expected = set(pairs)
        self.mode = mode
        self.summary_s = float(summary_hours) * 3600.0
        self.scoreboard_candles = int(scoreboard_candles)
        self._clock = clock
        self._lock = threading.Lock()
        self._starts: dict[str, PairStart] = {}
        self._started_sent = False
        self._alarms: dict[str, int] = {}
        self.drift_notify_hours = float(drift_notify_hours)
        self.drift_challenge = drift_challenge
        self._notified_ts: dict[str, int] = {}  # candle of the pair's last alarm message
        self._held: dict[str, int] = {}  # alarms only logged since the pair's last message
        self._responses: dict[str, int] = {}
        self._latest: dict[str, messages.ScoreLine] = {}
        self._failing: set[str] = set()
        self._last_summary = clock()

    def send(self, text: str) -> None:
        self._send(text)

    def pair_started(self, start: PairStart) -> None:
        with self._lock:
            self._starts[start.pair] = start
            if self._started_sent or not self.expected <= set(self._starts):
                return
            self._started_sent = True
            text = messages.startup(list(self._starts.values()), self.mode)
        logger.info(text.replace("\n", " | "))
        self.send(text)

    def stepped(self, pair: str, predictions: Predictions) -> None:
        drift = np.asarray(predictions.score("drift"), np.float64)
        alarms = np.flatnonzero(drift > 0.5)
        out: list[tuple[str, bool]] = []  # (text, notified), in candle order
        with self._lock:
            for i in alarms:
                out.append(self._alarm(pair, int(predictions.ts[i]),
                                       messages.latest_scores(pair, _row(predictions, i))))
            line = messages.latest_scores(pair, predictions, self._alarms.get(pair, 0))
            if line is not None:
                self._latest[pair] = line
            summary = self._summary_due()
        for text, notified in out:
            logger.warning(text)
            if notified:
                self.send(text)
        if summary:
            logger.info(summary.replace("\n", " | "))
            self.send(summary)

    def _alarm(self, pair: str, ts: int, line: messages.ScoreLine | None) -> tuple[str, bool]:
        """Count an alarm; its log line and whether it is notified (the pair's first, or
        `drift_notify_hours` of candles after its last alarm message)."""
        self._alarms[pair] = self._alarms.get(pair, 0) + 1
        last = self._notified_ts.get(pair)
        if last is None or ts - last >= self.drift_notify_hours * 3600.0:
            self._notified_ts[pair] = ts
            return messages.drift_alarm(pair, ts, self._alarms[pair], line,
                                        self._held_back(pair)), True
        self._held[pair] = self._held.get(pair, 0) + 1
        text = messages.drift_alarm(pair, ts, self._alarms[pair], line)
        return messages.drift_alarm_held(text, last, self.drift_notify_hours), False

    def response_started(self, start: ResponseStarted) -> None:
        with self._lock:
            self._responses[start.pair] = self._responses.get(start.pair, 0) + start.count
            text = messages.response_started(start.pair, start.ts, self._responses[start.pair],
                                             self.drift_challenge, self._held_back(start.pair))
        logger.warning(text)
        self.send(text)

    def fitted(self, fit: FitDone) -> None:
        if fit.challenge not in ("kept", "restored"):
            return
        with self._lock:
            text = messages.response_ended(fit.pair, fit.challenge, fit.training_counter,
                                           self._held_back(fit.pair))
        logger.info(text)
        self.send(text)

    def _held_back(self, pair: str) -> int:
        """The pair's alarms only logged since its last message, which this one counts."""
        return self._held.pop(pair, 0)

    def _summary_due(self) -> str | None:
        if self.summary_s <= 0 or not self._latest:
            return None
        now = self._clock()
        if now - self._last_summary < self.summary_s:
            return None
        self._last_summary = now
        return messages.scoreboard(list(self._latest.values()), self.scoreboard_candles)

    def save_failed(self, pair: str, error: BaseException) -> None:
        with self._lock:
            first = pair not in self._failing
            self._failing.add(pair)
        if first:
            self.send(messages.save_failed(pair, error))

    def saved(self, save: SaveDone) -> None:
        with self._lock:
            recovered = save.pair in self._failing
            self._failing.discard(save.pair)
        if recovered:
            self.send(messages.save_recovered(save.pair, save.training_counter))


def _row(p: Predictions, i: int) -> Predictions:
    """Row i of a block, as a one-row Predictions."""
    at = slice(i, i + 1)
    return Predictions(p.ts[at], p.s_close[at], p.liq_up[at], p.liq_down[at], p.novelty[at],
                       p.training_counter[at], p.ok[at],
                       scores={k: np.asarray(v)[at] for k, v in p.scores.items()})
