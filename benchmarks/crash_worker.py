"""One learning process of the crash drill (run by benchmarks/crash_consistency.py and its test).

It restores the newest good version from the store (or starts fresh and trains), then learns
candle by candle exactly as the live bot does - `observe` over the whole candle history first,
then one new candle at a time - with background saves every `save_interval` updates, until
candle `--candles`. Killing it at any moment and starting it again must end in the same weights
as a run that was never killed. Prints one JSON status line at start and one at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TIMEFRAME_S = 300
FIT_CANDLES = 600


def drill_candles(datafile: Path, count: int):
    """Real candles + simple stationary features, cut to FIT_CANDLES + count rows."""
    from self_learning.candles.samples import Candles

    df = pd.read_feather(datafile).iloc[: FIT_CANDLES + count + 60].reset_index(drop=True)
    close = df["close"]
    feats = [close / close.rolling(p).mean() - 1 for p in (5, 10, 20, 40)]
    feats += [close.pct_change(p) for p in (1, 3, 6, 12)]
    feats += [df["volume"] / df["volume"].rolling(20).mean() - 1]
    frame = pd.concat(feats, axis=1).iloc[60:]
    df = df.iloc[60:]
    dates = pd.to_datetime(df["date"], utc=True)
    ts = ((dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()
    ohlcv = df[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    return Candles(ts.astype(np.int64), ohlcv, frame.to_numpy(np.float64))


def build_runtime(store: Path, save_interval: int):
    import keras
    import tensorflow as tf

    from self_learning.config import parse_config
    from self_learning.runtime.lifecycle import SelfLearningRuntime

    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(3)
    config = parse_config({
        "self_learning": {"window_candles": 16, "latent_dim": 4, "hidden_units": 32,
                          "epochs": 3, "batch_size": 128, "replay_size": 256,
                          "save_interval": save_interval, "seed": 3},
        "feature_parameters": {"label_period_candles": 6},
    })
    return SelfLearningRuntime(config, store, TIMEFRAME_S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--candles", type=int, default=2000)
    parser.add_argument("--save-interval", type=int, default=25)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    candles = drill_candles(args.data, args.candles)
    from self_learning.runtime.xla_cache import configure_xla_cache

    configure_xla_cache()  # $SELF_LEARNING_XLA_CACHE, before the first compile (as the bot)
    runtime = build_runtime(args.store, args.save_interval)
    pair, names = "DRILL/BTC", [f"f{i}" for i in range(candles.features.shape[1])]
    versions = runtime.store.pair(pair).versions
    learner = runtime.learners.learner(pair, names)
    print(json.dumps({"event": "start", "versions_on_disk": versions,
                      "restored": learner.trained, "counter": learner.training_counter,
                      "last_seen": learner.last_seen_ts}), flush=True)
    if not learner.trained:
        runtime.fit(pair, names, candles.rows(slice(0, FIT_CANDLES)))
    total = len(candles)
    seen = np.searchsorted(candles.ts, learner.last_seen_ts, side="right")
    start = max(int(seen), FIT_CANDLES)
    # the history first, as live
    runtime.predict(pair, names, candles.rows(slice(0, start + 1)), learn=True)
    for i in range(start + 1, total):
        runtime.predict(pair, names, candles.rows(slice(i, i + 1)), learn=True)
        print(json.dumps({"event": "progress", "candle": i}), flush=True)
    runtime.shutdown()
    print(json.dumps({"event": "done", "counter": learner.training_counter}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
