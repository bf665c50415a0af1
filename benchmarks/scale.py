"""Benchmark: one bot with 200 pairs: memory, and the shutdown save of 100 pairs never saved.

    .venv/bin/python benchmarks/scale.py [--pairs 200] [--unsaved 100] [--features 60]

Default config (window 32, hidden 64, replay 2048), `--pairs` real PairLearners in one
SelfLearningRuntime with background saves (as in dry-run/live); with `--step` each is also
fed its first candles (the compiled online step; slow: minutes on 2 busy cores). Then
`--unsaved` of them change and the process stops before any of them was saved: the store is
empty and nothing was saved in this process. The graph templates (one full SavedModel per
network shape, store/templates.py) are made by an idle writer when the first learner appears
(`templates_ready` says whether that had finished; a bot stopped within seconds of its start
would also wait for it). Figures: RSS after all pairs exist (goal <= 4 GB), the shutdown's
wall time (goal <= 3 s; the runtime's `shutdown()`, as FreqAI calls it) and the CPU time
the process used meanwhile (all threads; less sensitive than wall time to other processes
on the machine), the slowest and the median save inside it.
Prints a table, then one JSON line (last line).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from self_learning.runtime.runtime_env import configure_tensorflow_threads

configure_tensorflow_threads()

from self_learning.candles.samples import Candles  # noqa: E402
from self_learning.config import parse_config  # noqa: E402
from self_learning.runtime.lifecycle import SelfLearningRuntime  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from figures import print_figures  # noqa: E402
from shutdown import SaveClock  # noqa: E402

TIMEFRAME_S = 300
RSS_GOAL_MB = 4096
SHUTDOWN_GOAL_S = 3.0


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def candles(count: int, features: int, seed: int) -> Candles:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, count)))
    ts = 1_700_000_000 + TIMEFRAME_S * np.arange(count, dtype=np.int64)
    ohlcv = np.stack([close, close * 1.001, close * 0.999, close, np.full(count, 10.0)], 1)
    return Candles(ts=ts, ohlcv=ohlcv, features=rng.normal(size=(count, features)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--unsaved", type=int, default=100)
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--step", action="store_true", help="step each pair's first candles")
    args = parser.parse_args()
    config = parse_config({"self_learning": {}, "feature_parameters": {"label_period_candles": 12}})
    pairs = [f"P{i:03d}/USDT" for i in range(args.pairs)]
    names = [f"%-f{i}" for i in range(args.features)]
    data = candles(config.window_candles + 8, args.features, 0)
    out: dict[str, object] = {"pairs": args.pairs, "unsaved_at_shutdown": args.unsaved}
    rss_start = rss_mb()
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        runtime = SelfLearningRuntime(config, Path(tmp) / "self_learning", TIMEFRAME_S,
                                      background_saves=True)
        started = time.perf_counter()
        for pair in pairs:
            if args.step:
                runtime.predict(pair, names, data, learn=True)
            else:
                runtime.learners.learner(pair, names)
        out["create_all_s"] = round(time.perf_counter() - started, 1)
        learner = runtime.learners.known(pairs[0])
        out["templates_ready"] = all(runtime.store.templates.get(name, learner.graph_key())
                                     for name in learner.modules())
        out["rss_mb"] = round(rss_mb())
        out["rss_per_pair_mb"] = round((rss_mb() - rss_start) / args.pairs, 2)
        for pair in pairs[: args.unsaved]:
            runtime.learners.known(pair).state.training_counter.assign_add(1)
        clock = SaveClock(runtime)
        started, cpu = time.perf_counter(), time.process_time()
        out["shutdown_in_time"] = runtime.shutdown()
        out["shutdown_s"] = round(time.perf_counter() - started, 2)
        out["shutdown_cpu_s"] = round(time.process_time() - cpu, 2)  # all threads
        saves = clock.take()
        out["saved_at_shutdown"] = len(saves)
        out["slowest_save_ms"] = round(max(saves), 1)
        out["save_ms_p50"] = round(statistics.median(saves), 1)
        out["versions_on_disk"] = sum(
            1 for pair in pairs if runtime.store.pair(pair).latest is not None)
    out.update(peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               rss_goal_mb=RSS_GOAL_MB, shutdown_goal_s=SHUTDOWN_GOAL_S,
               load_average_1m=round(os.getloadavg()[0], 2), cpus=os.cpu_count(),
               code=str(Path(sys.modules["self_learning"].__file__).parents[1]))
    print_figures(out, 24)


if __name__ == "__main__":
    main()
