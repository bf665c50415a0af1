"""Benchmark of the drift detector: delay after a planted flip, false alarms when stationary.

    cd /work/main && .venv/bin/python benchmarks/drift.py [--streams 20] [--length 20000]

Streams are the signal the detector watches (monitor/drift.py), made as a model with a
rank-IC-like edge of 0.25 on labels that overlap 12 samples would produce them
(tests/test_drift_and_scoreboard.py: edge_stream): `--streams` stationary ones of `--length`
samples (~70 days of 5m candles at 20,000), and as many whose edge flips sign in the middle.
The detector runs with the model's default settings, through River's PageHinkley (mode "up",
the same delta, threshold, alpha and min_instances; the model's compiled twin is tested equal
to it alarm for alarm). Prints a table, then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from figures import print_figures  # noqa: E402
from test_drift_and_scoreboard import edge_stream, reference_page_hinkley  # noqa: E402

from self_learning.config import SelfLearningConfig  # noqa: E402


def settings() -> dict:
    c = SelfLearningConfig()
    return dict(delta=c.drift_delta, threshold=c.drift_threshold,
                alpha=1.0 - 1.0 / c.memory_candles, min_instances=c.scoreboard_candles)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--length", type=int, default=20000)
    args = parser.parse_args()
    cfg = settings()
    half = args.length // 2
    false_alarms, delays, missed = 0, [], 0
    for s in range(args.streams):
        still = edge_stream(args.length, seed=1000 + s)
        false_alarms += len(reference_page_hinkley(still, **cfg))
        flip = edge_stream(args.length, flip_at=half, seed=2000 + s)
        after = [a - half for a in reference_page_hinkley(flip, **cfg) if a >= half]
        missed += not after
        delays += after[:1]
    samples = args.streams * args.length
    result = {
        "stationary_samples": samples,
        "false_alarms_per_10k": round(false_alarms / samples * 1e4, 3),
        "flip_delay_median": float(np.median(delays)) if delays else None,
        "flip_delay_max": float(np.max(delays)) if delays else None,
        "flips_missed": missed,
        **{f"setting_{k}": v for k, v in cfg.items()},
    }
    print_figures(result, 30)


if __name__ == "__main__":
    main()
