"""BackgroundSaver: pairs are written concurrently, one pair never twice at once, a waiting
save is replaced by a newer one, a failure is logged and retried later, and backtests write
in place on the caller's thread."""

from __future__ import annotations

import logging
import threading
import time

from self_learning.runtime.autosave import BackgroundSaver, SaveJob, SaveOutcome

TIMEOUT_S = 10


class Recorder:
    """Jobs that block until released and record who ran when (and how many at once)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.most_at_once = 0
        self.same_pair_overlap = False
        self.ran: list[str] = []
        self.saved: list[tuple[str, int]] = []
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def job(self, pair: str, label: str, counter: int = 1) -> SaveJob:
        def write() -> SaveOutcome:
            with self.lock:
                self.same_pair_overlap |= self.running.get(pair, 0) > 0
                self.running[pair] = self.running.get(pair, 0) + 1
                self.most_at_once = max(self.most_at_once, sum(self.running.values()))
                self.ran.append(label)
            self.started.release()
            assert self.release.wait(TIMEOUT_S)
            with self.lock:
                self.running[pair] -= 1
            return SaveOutcome(counter, ("net",))

        return SaveJob(pair, write)

    def on_saved(self, pair: str, outcome: SaveOutcome) -> None:
        self.saved.append((pair, outcome.training_counter))


def test_pairs_are_written_concurrently_and_a_waiting_save_is_replaced():
    """Two workers write A and B at the same time; while A is written, A's next two requests
    coalesce into the newest one, which runs after A's first save, never beside it."""
    rec = Recorder()
    saver = BackgroundSaver(60, rec.on_saved, workers=2)
    saver.submit(rec.job("A", "A1", 1))
    saver.submit(rec.job("B", "B1", 1))
    assert rec.started.acquire(timeout=TIMEOUT_S) and rec.started.acquire(timeout=TIMEOUT_S)
    saver.submit(rec.job("A", "A2", 2))
    saver.submit(rec.job("A", "A3", 3))
    time.sleep(0.2)  # a free worker must not pick A while A1 is being written
    assert sorted(rec.ran) == ["A1", "B1"]
    rec.release.set()
    assert saver.stop(TIMEOUT_S)
    assert rec.ran[2:] == ["A3"] and rec.most_at_once == 2 and not rec.same_pair_overlap
    assert sorted(rec.saved) == [("A", 1), ("A", 3), ("B", 1)]


def test_failed_save_is_logged_and_not_counted_as_saved(caplog):
    """A write that raises logs one error naming the pair and the error; on_saved is not
    called (the pair stays dirty, so the next interval retries)."""
    saved = []

    def fail() -> SaveOutcome:
        raise OSError("disk full")

    saver = BackgroundSaver(60, lambda pair, outcome: saved.append(pair))
    caplog.set_level(logging.ERROR)
    saver.submit(SaveJob("A", fail))
    assert saver.stop(TIMEOUT_S)
    assert saved == []
    assert "Saving models for A failed (OSError: disk full)" in caplog.text


def test_without_background_saves_are_written_on_the_callers_thread():
    """Backtests: submit returns after the write, done by the calling thread."""
    threads = []

    def write() -> SaveOutcome:
        threads.append(threading.current_thread())
        return SaveOutcome(1, ())

    saver = BackgroundSaver(60, lambda pair, outcome: None, background=False)
    saver.submit(SaveJob("A", write))
    assert threads == [threading.current_thread()]
    assert saver.wait_idle(0.1)


def test_idle_workers_hand_freed_memory_back_without_any_save():
    """With nothing to write, a worker still trims the heap once per interval (a bot whose
    pairs save rarely must not creep either)."""
    from self_learning.runtime.heap import HeapTrimmer

    calls = []
    trimmer = HeapTrimmer(0.05, trim=lambda: calls.append(time.monotonic()))
    saver = BackgroundSaver(60, lambda pair, outcome: None, trimmer=trimmer)
    deadline = time.monotonic() + TIMEOUT_S
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert saver.stop(TIMEOUT_S)
    assert len(calls) >= 3
    assert all(b - a >= 0.05 for a, b in zip(calls[:-1], calls[1:], strict=True))


def test_stop_waits_for_a_preparation_already_running_and_drops_the_waiting_ones():
    """A graph-template preparation that a worker has started finishes before stop()
    returns (the process must not exit with a daemon thread inside TensorFlow: exit code 134,
    "terminate called ..."); one still waiting is not started any more."""
    started, ran = threading.Event(), []

    def preparation(label: str, seconds: float):
        def task():
            started.set()
            time.sleep(seconds)
            ran.append(label)
        return task

    saver = BackgroundSaver(60, lambda pair, outcome: None, workers=1)
    saver.when_idle(preparation("running", 0.3))
    assert started.wait(TIMEOUT_S)
    saver.when_idle(preparation("waiting", 0.0))
    assert saver.stop(TIMEOUT_S)
    assert ran == ["running"]
    time.sleep(0.1)
    assert ran == ["running"]


def test_wait_idle_waits_for_a_save_being_written_not_only_for_the_queue():
    rec = Recorder()
    saver = BackgroundSaver(60, rec.on_saved, workers=1)
    saver.submit(rec.job("A", "A1"))
    assert rec.started.acquire(timeout=TIMEOUT_S)  # taken off the queue, being written
    assert not saver.wait_idle(0.1)
    rec.release.set()
    assert saver.wait_idle(TIMEOUT_S) and rec.saved == [("A", 1)]
    assert saver.stop(TIMEOUT_S)


def test_a_save_requested_after_stop_is_written_on_the_callers_thread(caplog):
    threads = []

    def write() -> SaveOutcome:
        threads.append(threading.current_thread())
        return SaveOutcome(1, ())

    saver = BackgroundSaver(60, lambda pair, outcome: None)
    assert saver.stop(TIMEOUT_S)
    saver.submit(SaveJob("A", write))
    assert threads == [threading.current_thread()]
    assert "Save of A requested after the saver stopped" in caplog.text


def test_zero_workers_still_means_one():
    rec = Recorder()
    rec.release.set()
    saver = BackgroundSaver(60, rec.on_saved, workers=0)
    saver.submit(rec.job("A", "A1"))
    assert saver.stop(TIMEOUT_S) and rec.saved == [("A", 1)]


def test_preparations_run_in_the_order_they_were_asked_for():
    rec = Recorder()
    saver = BackgroundSaver(60, rec.on_saved, workers=1)
    saver.submit(rec.job("A", "A1"))
    assert rec.started.acquire(timeout=TIMEOUT_S)  # the only worker is busy
    ran = []
    for label in ("first", "second", "third"):
        saver.when_idle(lambda label=label: ran.append(label))
    rec.release.set()
    assert saver.wait_idle(TIMEOUT_S)
    deadline = time.monotonic() + TIMEOUT_S
    while len(ran) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == ["first", "second", "third"]
    assert saver.stop(TIMEOUT_S)


def test_on_saved_gets_the_time_the_write_took_and_a_slow_save_is_named(caplog):
    """A save slower than slow_warning_s: its first (full SavedModels) write is an info line,
    a later one (graph templates reused) a warning; on_saved gets the seconds it took."""
    outcomes = []

    def job(reused):
        def write() -> SaveOutcome:
            time.sleep(0.02)
            return SaveOutcome(1, reused)
        return SaveJob("A", write)

    saver = BackgroundSaver(0.01, lambda pair, outcome: outcomes.append(outcome),
                            background=False)
    caplog.set_level(logging.INFO)
    saver.submit(job(()))
    saver.submit(job(("net",)))
    assert all(outcome.seconds >= 0.02 for outcome in outcomes)
    levels = [(r.levelname, r.getMessage().split(" ")[0]) for r in caplog.records]
    assert levels == [("INFO", "First"), ("WARNING", "Saving")]
