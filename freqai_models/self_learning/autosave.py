"""BackgroundSaver: writes model versions on one worker thread, off the trading loop.

The caller hands over a snapshot (numpy copies of every variable, taken under the learner's
lock: the only blocking part). Snapshots of one pair are coalesced, so two saves of a pair never
overlap and a newer snapshot replaces an older one still waiting. A failed save is logged and
the pair stays dirty, so the next interval retries; the last good version on disk is untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class SaveJob:
    pair: str
    write: Callable[[], object]          # does the actual store write
    training_counter: int
    submitted: float = field(default_factory=time.monotonic)


class BackgroundSaver:
    def __init__(self, slow_warning_s: float, on_saved: Callable[[SaveJob], None],
                 background: bool = True):
        self.slow_warning_s = float(slow_warning_s)
        # Backtests and analyses have no trading loop to protect, and freqtrade's analysis
        # commands delete the model folder between runs: there, saves are written in place.
        self.background = bool(background)
        self._on_saved = on_saved
        self._pending: dict[str, SaveJob] = {}
        self._busy = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="self-learning-saver",
                                        daemon=True)
        self._thread.start()

    def submit(self, job: SaveJob) -> None:
        """Queue a save; after `stop()` (a late FreqAI retrain at shutdown) write it here."""
        if not self.background:
            self._run(job)
            return
        with self._cond:
            if not self._stopping:
                self._pending[job.pair] = job
                self._cond.notify_all()
                return
        logger.warning(f"Save of {job.pair} requested after the saver stopped; writing it now.")
        self._run(job)

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout: float) -> bool:
        done = self.wait_idle(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        return done

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping and not self._pending:
                    return
                pair = next(iter(self._pending))
                job = self._pending.pop(pair)
                self._busy += 1
            self._run(job)
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def _run(self, job: SaveJob) -> None:
        started = time.monotonic()
        try:
            info = job.write()
        except Exception as err:  # disk full, read-only folder, permissions, ...
            logger.error(f"Saving models for {job.pair} failed ({err.__class__.__name__}: {err}); "
                         "keeping the last good version, retrying at the next interval.")
            return
        took = time.monotonic() - started
        first_write = not getattr(info, "graphs_reused", True)
        if took > self.slow_warning_s and first_write:
            logger.info(f"First save of {job.pair} wrote full SavedModels in {took:.2f} s.")
        elif took > self.slow_warning_s:
            logger.warning(f"Saving models for {job.pair} took {took:.2f} s "
                           f"(slow_save_warning_s = {self.slow_warning_s:g}).")
        self._on_saved(job)
