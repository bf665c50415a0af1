"""What a first (cold) run pays for XLA: CPU seconds of each compiled program, cold and cached.

    .venv/bin/python benchmarks/compile_cost.py [--features 94]

The default model config (config.json's `self_learning` section) at a network shape given by
the feature count (94: the 1h holdout's strategy features). Each measurement runs in a fresh
process, first with an empty XLA cache folder (`cold`, as `benchmarks/quality.py --cold`), then
again on the folder the first one filled (`cached`):

* trace_step: tracing the per-candle step in Python (paid cached too; no XLA);
* step: the step's first call (on zero candles: no state changes): TensorFlow graph -> HLO,
  then cold XLA's HLO passes and LLVM code generation, cached a load from the folder;
* epoch: a training epoch program's first call (1,024 / 256 rows, the capacities of the 1h
  holdout's first fit): its tracing, compile or load, and one epoch;
* programs: the compiled programs in the cache folder afterwards.

CPU seconds are the process's (every thread: XLA generates code on a pool of threads), so
they are less sensitive than wall seconds to other jobs on a shared machine. Prints a table,
then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import print_figures

ROOT = Path(__file__).resolve().parents[1]
CHILD = "--child"
ROWS, VAL_ROWS = 685, 68  # the 1h holdout's first fit: capacities 1024 and 256


def timed(fn) -> tuple[float, float]:
    """(CPU s of the whole process, wall s) of fn()."""
    cpu, wall = time.process_time(), time.monotonic()
    fn()
    return time.process_time() - cpu, time.monotonic() - wall


def measure(features: int, timeframe_s: int) -> dict[str, float]:
    """One process's figures (in the child: XLA's cache is configured from the environment)."""
    from self_learning.runtime.runtime_env import configure_tensorflow_threads

    configure_tensorflow_threads()
    from self_learning.runtime.xla_cache import configure_xla_cache

    configure_xla_cache()
    import numpy as np

    from self_learning.config import parse_config
    from self_learning.learning.compiled import TrainingRows
    from self_learning.learning.learner import PairLearner

    freqai = json.loads((ROOT / "config.json").read_text())["freqai"]
    config = parse_config({"self_learning": freqai["self_learning"],
                           "feature_parameters": freqai["feature_parameters"]})
    learner = PairLearner(config, [f"f{i}" for i in range(features)], timeframe_s)
    out = {}
    p = learner.programs
    out["trace_step_cpu_s"], _ = timed(p.trace_step)  # traces only: XLA compiles at 1st call
    d, f = p.traceable.d, p.traceable.f
    out["step_cpu_s"], out["step_wall_s"] = timed(p.compile_step)
    rng = np.random.default_rng(0)

    def rows(n: int) -> TrainingRows:
        return TrainingRows.of(rng.normal(size=(n, d)), rng.normal(size=(n, f)),
                               0.01 * rng.normal(size=(n, 3)), np.ones(n))

    train, val = rows(ROWS), rows(VAL_ROWS)
    order = np.arange(ROWS, dtype=np.int32)
    out["epoch_cpu_s"], out["epoch_wall_s"] = timed(
        lambda: p.epoch(train, order, config.batch_size, val))
    return out


def child_run(folder: Path, features: int, timeframe_s: int) -> dict[str, float]:
    env = {**os.environ, "SELF_LEARNING_XLA_CACHE": str(folder), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_XLA_FLAGS", None)
    done = subprocess.run([sys.executable, __file__, CHILD, str(features), str(timeframe_s)],
                          env=env, capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["programs"] = len(list(folder.glob("*/xla_compile_cache__*.pb")))
    return figures


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == CHILD:
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=94)
    parser.add_argument("--timeframe-s", type=int, default=3600, help="candle seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compile-cost-") as tmp:
        cold = child_run(Path(tmp), args.features, args.timeframe_s)
        cached = child_run(Path(tmp), args.features, args.timeframe_s)
    figures = {f"{name}.{key}": round(value, 3) for name, run in (("cold", cold),
               ("cached", cached)) for key, value in run.items()}
    for key in ("step_cpu_s", "epoch_cpu_s"):
        figures[f"cold_extra.{key}"] = round(cold[key] - cached[key], 3)
    print_figures(figures)


if __name__ == "__main__":
    main()
