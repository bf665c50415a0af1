"""What the strategy's entry record costs per analysis of a pair (self_learning.strategy.
entry_record; README "Trading rules", "Whether the entries pay").

    cd <project root> && .venv/bin/python benchmarks/entry_record.py [--repeat 50]

Real 1h candles of BTC/USDT from ../shared/data/binance_usdt, the last 500, 1,500 and 5,000
(a live bot's frame, two months, most of the file); `&-s_close` is the training-free
yardstick -(close/SMA20 - 1), whose signals (candles clearing the default entry threshold)
are counted. Per
size, the median over `--repeat` calls of: `entry_record` alone, and the strategy's
`populate_entry_trend` (entry filters, signals and the record) with its ratio to the same
method without the record (`entry_filters` and the signals only). Prints a table, then one
JSON line (the last line). Timings on a shared machine are noisy: read the medians and ratios
of one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from figures import print_figures

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "freqai_models"))
sys.path.insert(0, str(ROOT / "user_data" / "strategies"))

from SelfLearningStrategy import SelfLearningStrategy  # noqa: E402

from self_learning.strategy.entry_record import entry_record  # noqa: E402
from self_learning.strategy.strategy_columns import entry_filters  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "binance_usdt" / "BTC_USDT-1h.feather"
SIZES = (500, 1500, 5000)
HORIZON = 4  # config.json's label_period_candles


def frame(candles: pd.DataFrame) -> pd.DataFrame:
    close = candles["close"]
    return candles.assign(**{"&-s_close": -(close / close.rolling(20).mean() - 1),
                             "do_predict": 1, "&-novelty": 0.0}).reset_index(drop=True)


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    candles = pd.read_feather(DATA)
    strategy = SelfLearningStrategy({"timeframe": "1h", "freqai": {
        "enabled": True, "feature_parameters": {"label_period_candles": HORIZON}}})
    rules = strategy.entry_rules("BTC/USDT")

    def signals_only(df: pd.DataFrame) -> pd.DataFrame:
        conditions = np.logical_and.reduce(list(entry_filters(df, rules).values()))
        df.loc[conditions, ["enter_long", "enter_tag"]] = (1, "ai_long")
        return df

    figures = {"candles_file": len(candles)}
    for size in SIZES:
        df = frame(candles.tail(size))
        signalled = signals_only(df.copy())
        figures[f"signals_{size}"] = int((signalled["enter_long"] == 1).sum())
        figures[f"record_ms_{size}"] = round(median_ms(
            lambda df=signalled: entry_record(df, HORIZON), args.repeat), 3)
        before = median_ms(lambda df=df: signals_only(df.copy()), args.repeat)
        after = median_ms(lambda df=df: strategy.populate_entry_trend(
            df.copy(), {"pair": "BTC/USDT"}), args.repeat)
        figures[f"entry_trend_ms_{size}"] = round(after, 3)
        figures[f"entry_trend_ratio_{size}"] = round(after / before, 2)
    print_figures(figures)


if __name__ == "__main__":
    main()
