"""Crash consistency: SIGKILL a learning process at random moments, restart it each time, and
compare its final weights with a run that was never interrupted.

Each process (benchmarks/crash_worker.py) restores the newest good version, replays every
candle after the last one it had learned, and goes on learning candle by candle with background
saves. Kills land at random candles (with a random delay, so some hit a save in flight).
Prints a table and, last, a JSON line with `kills`, `max_abs_weight_diff`,
`counter_uninterrupted`, `counter_killed`, `failed_loads` (and `kills_during_save`).
The workers of one drill share an XLA cache of their own in the work folder
(self_learning.runtime.xla_cache, as the bot's processes share theirs): the first compiles the
online step and the fit's programs, the others load them (the same executables, so the same
weights) instead of compiling them again, ~7 s a process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import print_figures

from self_learning.runtime.xla_cache import ENV as XLA_CACHE_ENV

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "benchmarks" / "crash_worker.py"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "binance" / "LTC_BTC-5m.feather"
KILL_MARGIN = 40  # candles: ~0.1 s of stepping at ~2.5 ms per candle, twice the longest delay


def worker_env(xla_cache: Path) -> dict[str, str]:
    """The workers' environment: quiet TensorFlow, the drill's XLA cache."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", XLA_CACHE_ENV: str(xla_cache)}


def _start(store: Path, data: Path, candles: int, save_interval: int,
           env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), "--store", str(store), "--data", str(data),
         "--candles", str(candles), "--save-interval", str(save_interval)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)


def _events(proc: subprocess.Popen):
    for line in proc.stdout:
        if line.startswith("{"):
            yield json.loads(line)


def run_worker(store: Path, data: Path, candles: int, save_interval: int, starts: list,
               env: dict[str, str], kill_at: int | None = None, delay_s: float = 0.0) -> bool:
    """Run a worker in `env`, adding its start events to `starts`. With `kill_at`, SIGKILL it
    once it passed that candle (+ `delay_s`) and return whether the kill landed; without, it
    must run to the end (RuntimeError otherwise)."""
    proc = _start(store, data, candles, save_interval, env)
    for event in _events(proc):
        if event["event"] == "start":
            starts.append(event)
        if kill_at is not None and event["event"] == "progress" and event["candle"] >= kill_at:
            time.sleep(delay_s)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=1800 if kill_at is None else 600)
    proc.stdout.close()
    if kill_at is None and proc.returncode != 0:
        raise RuntimeError(f"worker failed with exit code {proc.returncode}")
    return proc.returncode == -signal.SIGKILL


def final_weights(store: Path, data: Path):
    sys.path.insert(0, str(WORKER.parent))
    from crash_worker import build_runtime, drill_candles

    runtime = build_runtime(store, 10**6)
    names = [f"f{i}" for i in range(drill_candles(data, 10).features.shape[1])]
    learner = runtime.learners.learner("DRILL/BTC", names)
    values = [v.numpy() for m in learner.modules().values() for v in m.state_variables()]
    return learner.training_counter, values


def drill(candles: int, kills: int, seed: int, data: Path, save_interval: int,
          workdir: Path) -> dict:
    import numpy as np

    rng = random.Random(seed)
    clean, killed = workdir / "uninterrupted", workdir / "killed"
    env = worker_env(workdir / "xla")
    run_worker(clean, data, candles, save_interval, [], env)
    from crash_worker import FIT_CANDLES

    # Kill points stop KILL_MARGIN candles before the end: with the random delay after the
    # target candle, a kill near the end could land after the worker finished (no kill).
    targets = sorted(rng.randint(FIT_CANDLES + 1, FIT_CANDLES + candles - KILL_MARGIN)
                     for _ in range(kills))
    starts, done_kills, during_save = [], 0, 0
    for target in targets:
        if run_worker(killed, data, candles, save_interval, starts, env, target,
                      rng.uniform(0, 0.05)):
            done_kills += 1
            pair_dir = next(killed.iterdir(), None)
            if pair_dir and any(p.name.startswith(".tmp-") for p in pair_dir.iterdir()):
                during_save += 1
    run_worker(killed, data, candles, save_interval, starts, env)
    failed_loads = sum(1 for s in starts if s["versions_on_disk"] and not s["restored"])
    counter_a, weights_a = final_weights(clean, data)
    counter_b, weights_b = final_weights(killed, data)
    diff = max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
               if a.size else 0.0 for a, b in zip(weights_a, weights_b, strict=True))
    return {"candles": candles, "kills": done_kills, "kills_during_save": during_save,
            "restarts": len(starts), "max_abs_weight_diff": diff,
            "counter_uninterrupted": counter_a, "counter_killed": counter_b,
            "failed_loads": failed_loads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candles", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-interval", type=int, default=25)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not args.data.is_file():
        parser.error(f"--data {args.data} does not exist (real candles: ../shared/data/binance)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        result = drill(args.candles, args.kills, args.seed, args.data, args.save_interval,
                       Path(tmp))
    result["seconds"] = round(time.monotonic() - started, 1)
    print_figures(result, 24)
    return 0


if __name__ == "__main__":
    sys.exit(main())
