"""The adapter's own per-candle work in live trading, outside TensorFlow: converting FreqAI's
dataframe to arrays, remembering and looking up the pair's earlier predictions, and building
the frame handed back to FreqAI.

    .venv/bin/python benchmarks/adapter.py [--features 80] [--rows 2000] [--repeats 15]

FreqAI's live path hands the model the newest candle of a wide dataframe (every feature
column the strategy made, ~80 here, plus OHLCV and the date) each candle, and our history
holds the pair's last `rows` predictions. Each figure is the median over `--repeats` rounds
of the mean of 200 calls, in ms. Run it with `PYTHONPATH=<other tree>/freqai_models` to
compare two versions of the code on the same machine, one after the other. Prints a JSON line
last.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
from figures import print_figures

from self_learning.candles import frames
from self_learning.candles.predictions import SCORE_NAMES, Predictions
from self_learning.runtime.prediction_history import PredictionHistory

CALLS = 200


def live_frame(features: int, rows: int) -> pd.DataFrame:
    """A dataframe shaped like the strategy's in live: date, OHLCV, then feature columns added
    one at a time (as freqtrade's feature engineering does)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=rows, freq="1min", tz="UTC")})
    for name in frames.OHLCV:
        df[name] = 1.0 + rng.random(rows)
    for i in range(features):
        df[f"%-feature_{i}"] = rng.normal(size=rows)
    return df


def predictions(ts: np.ndarray) -> Predictions:
    n = len(ts)
    return Predictions(ts, *(np.zeros(n) for _ in range(4)), np.ones(n, np.int64),
                       np.ones(n, bool), scores={k: np.zeros(n) for k in SCORE_NAMES})


def timed(fn) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        fn()
    return (time.perf_counter() - started) / CALLS * 1e3


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--features", type=int, default=80)
    p.add_argument("--rows", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args()
    df = live_frame(args.features, args.rows)
    names = [c for c in df.columns if c.startswith("%")]
    newest = df.iloc[-1:]
    ts0 = int(df["date"].iloc[-1].timestamp())
    history = PredictionHistory(keep=args.rows + 64)
    history.remember(predictions(np.arange(ts0 - 60 * args.rows, ts0, 60, dtype=np.int64)))
    clock = {"next": ts0}

    def remember_lookup():
        ts = np.array([clock["next"]], np.int64)
        clock["next"] += 60
        history.missing(ts)
        history.remember(predictions(ts))
        history.lookup(ts)

    one = predictions(np.array([ts0], np.int64))
    steps = {"candles_from_frame": lambda: frames.candles_from_frame(newest, names),
             "prediction_history": remember_lookup,
             "prediction_frame": lambda: frames.prediction_frame(one)}
    rounds: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeats):
        for name, fn in steps.items():
            rounds[name].append(timed(fn))
    out = {f"{k}_ms_p50": round(statistics.median(v), 4) for k, v in rounds.items()}
    out["total_ms_p50"] = round(sum(out.values()), 4)
    out.update(features=args.features, rows=args.rows, repeats=args.repeats)
    print_figures(out, 28)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
