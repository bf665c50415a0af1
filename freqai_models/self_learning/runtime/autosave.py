"""BackgroundSaver: writes model versions on a few worker threads, off the trading loop.

A job takes its snapshot when a worker starts it (numpy copies of every variable, under the
learner's lock, a few ms) and writes it; so a queued save always writes the newest state, and
only as many snapshots as there are workers exist at once (~2 MB each with the default replay
buffer), whatever the number of pairs. Jobs of one pair are coalesced: a pair is written by at
most one worker at a time, and a newer request replaces one still waiting. Different pairs are
written concurrently (`workers`): a save is mostly file writes and fsyncs, which release the
GIL. A failed save is logged and the pair stays dirty, so the next interval retries; the last
good version on disk is untouched. While idle, a worker hands freed heap memory back to the
operating system once a minute (heap.py), so a long run's RSS stays flat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from self_learning.runtime.heap import HeapTrimmer

logger = logging.getLogger(__name__)

SAVE_WORKERS = 2  # benchmarks/shutdown.py, 2 cores: 100 pairs in ~3.6 s with 2, ~4.4 s with 1 or 4


@dataclass(frozen=True)
class SaveOutcome:
    training_counter: int          # the counter of the snapshot that was written
    graphs_reused: tuple[str, ...]  # networks written from a graph template (fast path)
    seconds: float = 0.0
    changes: int = 0               # the learner's change count in that snapshot (save_ledger.py)


@dataclass
class SaveJob:
    pair: str
    write: Callable[[], SaveOutcome]   # takes the snapshot and writes it to the store
    submitted: float = field(default_factory=time.monotonic)


class BackgroundSaver:
    def __init__(self, slow_warning_s: float, on_saved: Callable[[str, SaveOutcome], None],
                 background: bool = True, workers: int | None = None,
                 trimmer: HeapTrimmer | None = None):
        self.slow_warning_s = float(slow_warning_s)
        # Backtests and analyses have no trading loop to protect, and freqtrade's analysis
        # commands delete the model folder between runs: there, saves are written in place.
        self.background = bool(background)
        self._on_saved = on_saved
        self._trimmer = trimmer if trimmer is not None else HeapTrimmer()
        self._pending: dict[str, SaveJob] = {}
        self._idle_work: list[Callable[[], None]] = []
        self._active: set[str] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = []
        count = SAVE_WORKERS if workers is None else max(1, int(workers))
        for i in range(count if self.background else 0):
            thread = threading.Thread(target=self._work, name=f"self-learning-saver-{i}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

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

    def when_idle(self, task: Callable[[], None]) -> None:
        """Run `task` on a worker when no save is waiting (preparation such as graph
        templates; dropped without background workers or after `stop()`)."""
        with self._cond:
            if self.background and not self._stopping:
                self._idle_work.append(task)
                self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being written; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout: float) -> bool:
        """Wait for every queued and running save (True if all landed within `timeout`), then
        for the workers themselves: a preparation already running (graph templates, inside
        TensorFlow) finishes before the process may exit, since a daemon thread still in
        TensorFlow's C++ code when Python exits aborts the process ("terminate called ...",
        exit code 134). Preparations still waiting are dropped."""
        deadline = time.monotonic() + timeout
        done = self.wait_idle(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = [thread.name for thread in self._threads if thread.is_alive()]
        if busy:  # a save that did not land (the caller says which) or a preparation
            logger.warning(f"{', '.join(busy)} still running after {timeout:g} s "
                           "(shutdown_timeout_s); not waiting for it any longer.")
        return done

    def _next(self) -> SaveJob | None:
        """The oldest waiting job of a pair nobody is writing (caller holds the condition)."""
        for pair, job in self._pending.items():
            if pair not in self._active:
                del self._pending[pair]
                self._active.add(pair)
                return job
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                job = self._next()
                while job is None:
                    if self._stopping and not self._pending:
                        return
                    if self._idle_work:
                        break
                    # Woken by a job, or idle for a while: then hand freed memory back.
                    if not self._cond.wait(self._trimmer.min_interval_s):
                        break
                    job = self._next()
            if job is None:
                self._idle_task()
                continue
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._active.discard(job.pair)
                    self._cond.notify_all()

    def _idle_task(self) -> None:
        with self._cond:
            task = self._idle_work.pop(0) if self._idle_work else None
        if task is None:
            self._trimmer.maybe_trim()
            return
        try:
            task()
        except Exception as err:  # preparation only: the save itself will do it or say why
            logger.warning(f"Preparing saves failed ({err.__class__.__name__}: {err}).")

    def _run(self, job: SaveJob) -> None:
        started = time.monotonic()
        try:
            outcome = job.write()
        except Exception as err:  # disk full, read-only folder, permissions, ...
            logger.error(f"Saving models for {job.pair} failed ({err.__class__.__name__}: {err}); "
                         "keeping the last good version, retrying at the next interval.")
            return
        took = time.monotonic() - started
        if took > self.slow_warning_s and not outcome.graphs_reused:
            logger.info(f"First save of {job.pair} wrote full SavedModels in {took:.2f} s "
                        "(once per network shape and process; later saves write variables).")
        elif took > self.slow_warning_s:
            logger.warning(f"Saving models for {job.pair} took {took:.2f} s "
                           f"(slow_save_warning_s = {self.slow_warning_s:g}).")
        self._on_saved(job.pair, replace(outcome, seconds=took))
