"""Benchmark of FreqAI trainings: a pair's first (full) training and an incremental one.

    cd /work/main && .venv/bin/python benchmarks/fit.py [--pair ETC/BTC] [--repeats 3]

One pair of real 5m candles from ../shared/data/binance with ~60 stationary ratio features
(benchmarks/online.py), the default model config. In one process:

* compile_s: what the first full training of the process costs more than a later pair's
  (tracing the training programs, once per network shape);
* fit_full_s: the first training of a further pair (1,500 candles, median of `--repeats`
  pairs), i.e. once the process has its compiled programs;
* fit_incremental_s: a FreqAI retrain of such a pair one day (288 candles) later.

Works on this code and on earlier commits (PairLearner moved to self_learning.learning), so
runs can alternate between commits. Prints a table, then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from figures import print_figures
from online import FIT_CANDLES, build_learner, load_candles

DAY = 288


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pair", default="ETC/BTC")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from self_learning.runtime.runtime_env import configure_tensorflow_threads

    configure_tensorflow_threads()
    candles, names = load_candles(args.pair)
    first = full = None
    fulls, incs = [], []
    for i in range(args.repeats + 1):
        learner = build_learner(names)
        t0 = time.perf_counter()
        learner.fit(candles.rows(slice(0, FIT_CANDLES)))
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        learner.fit(candles.rows(slice(DAY, FIT_CANDLES + DAY)))
        inc = time.perf_counter() - t0
        if i == 0:
            first = full
        else:
            fulls.append(full)
            incs.append(inc)
    result = {"fit_full_s": round(float(np.median(fulls)), 3),
              "fit_incremental_s": round(float(np.median(incs)), 3),
              "fit_full_first_s": round(first, 3),
              "compile_s": round(first - float(np.median(fulls)), 3),
              "features": len(names), "fit_candles": FIT_CANDLES}
    print_figures(result, 22)


if __name__ == "__main__":
    main()
