"""Benchmark: the shutdown save of N pairs, and per-pair live save times, on real learners.

    .venv/bin/python benchmarks/shutdown.py [--pairs 100] [--rounds 5] [--features 60]

Default config (window 32, hidden 64, replay 2048), N real PairLearners in one
SelfLearningRuntime with background saves, as in dry-run/live:

1. cold shutdown: a process that has not saved yet (every pair changed, no version on disk)
   stops: `runtime.shutdown()` wall time and whether it finished within `shutdown_timeout_s`
   (then, for the record, the time until the writer has saved every pair anyway);
2. restart: a new runtime on that store restores every pair (process-wide graph templates
   cleared, as in a new process), then `--rounds` rounds of one save per pair, queued like
   autosave: the first round is a restarted process's first save of each pair, the later
   ones are routine saves; then the shutdown of that process (every pair changed again).

Per-pair save time = the caller's part of `save_async` + the writer's job (snapshot, copy to
the writer's modules where the design has them, store write, fsync, publish, retention).
Prints a table, then one JSON line (last line).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from self_learning.runtime.runtime_env import configure_tensorflow_threads

configure_tensorflow_threads()

from figures import print_figures  # noqa: E402

from self_learning.config import parse_config  # noqa: E402
from self_learning.runtime.lifecycle import SelfLearningRuntime  # noqa: E402

TIMEFRAME_S = 300


class SaveClock:
    """Times every save of a runtime: the caller's `save_async` plus the writer's job."""

    def __init__(self, runtime: SelfLearningRuntime):
        self.caller: dict[str, float] = {}
        self.writer: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        saver, submit_async = runtime.saves.saver, runtime.saves.save_async
        run = saver._run

        def timed_run(job):
            started = time.perf_counter()
            run(job)
            with self._lock:
                self.writer.append((job.pair, time.perf_counter() - started))

        def timed_save_async(pair):
            started = time.perf_counter()
            submit_async(pair)
            self.caller[pair] = time.perf_counter() - started

        saver._run = timed_run
        runtime.saves.save_async = timed_save_async

    def take(self) -> list[float]:
        """Per-pair save times (ms) since the last call."""
        with self._lock:
            done, self.writer = self.writer, []
        return [(self.caller.get(pair, 0.0) + took) * 1e3 for pair, took in done]


def build(root: Path, config, pairs: list[str], features: list[str]) -> SelfLearningRuntime:
    runtime = SelfLearningRuntime(config, root, TIMEFRAME_S, background_saves=True)
    for pair in pairs:
        runtime.learners.learner(pair, features)
    return runtime


def touch(runtime: SelfLearningRuntime, pairs: list[str]) -> None:
    """Every pair changed since its last save (what learning does to the counter)."""
    for pair in pairs:
        runtime.learners.known(pair).state.training_counter.assign_add(1)


def clear_templates() -> None:
    try:
        from self_learning.store.templates import PROCESS_TEMPLATES
    except ImportError:  # the design before graph templates
        return
    PROCESS_TEMPLATES._templates.clear()


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 1),
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
            "max": round(ordered[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--workers", type=int, default=None,
                        help="writer threads (default: autosave.SAVE_WORKERS)")
    args = parser.parse_args()
    if args.workers is not None:
        import self_learning.runtime.autosave as autosave

        autosave.SAVE_WORKERS = args.workers
    config = parse_config({"self_learning": {}, "feature_parameters": {"label_period_candles": 12}})
    pairs = [f"P{i:03d}/USDT" for i in range(args.pairs)]
    features = [f"%-f{i}" for i in range(args.features)]
    out: dict[str, object] = {"pairs": args.pairs, "workers": args.workers,
                              "shutdown_timeout_s": config.shutdown_timeout_s}
    with tempfile.TemporaryDirectory(prefix="shutdown-bench-") as tmp:
        root = Path(tmp) / "self_learning"
        runtime = build(root, config, pairs, features)
        touch(runtime, pairs)
        clock = SaveClock(runtime)
        started = time.perf_counter()
        out["cold_shutdown_in_time"] = runtime.shutdown()  # False: shutdown_timeout_s passed
        out["cold_shutdown_s"] = round(time.perf_counter() - started, 2)
        assert runtime.saves.saver.wait_idle(3600)  # the writer finishes the rest, for the record
        out["cold_all_saved_s"] = round(time.perf_counter() - started, 2)
        out["cold_save_ms"] = summary(clock.take())
        del runtime, clock

        clear_templates()
        started = time.perf_counter()
        runtime = build(root, config, pairs, features)
        out["restore_all_s"] = round(time.perf_counter() - started, 2)
        clock, rounds = SaveClock(runtime), []
        for _ in range(args.rounds):
            touch(runtime, pairs)
            for pair in pairs:
                runtime.saves.save_async(pair)
            assert runtime.saves.saver.wait_idle(600)
            rounds.append(clock.take())
        out["first_save_after_restart_ms"] = summary(rounds[0])
        out["later_save_ms"] = summary([ms for r in rounds[1:] for ms in r])
        touch(runtime, pairs)
        started = time.perf_counter()
        out["warm_shutdown_in_time"] = runtime.shutdown()
        out["warm_shutdown_s"] = round(time.perf_counter() - started, 2)
    out.update(peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               load_average_1m=round(os.getloadavg()[0], 2), cpus=os.cpu_count(),
               code=str(Path(sys.modules["self_learning"].__file__).parents[1]))
    print_figures(out, 30)


if __name__ == "__main__":
    main()
