"""The shipped setup (config.json) on timeframes it was not tuned on: real candles of
../shared/data/binance_usdt aggregated to 15m and 30m (from 5m) or 2h and 4h (from 1h), each
run with the stock `freqtrade backtesting` against the replay exchange on a dev window.

    .venv/bin/python benchmarks/timeframes.py [--out DIR] [--timeframes 15m 30m 2h 4h]
        [--cases setup cli] [--pairs BTC/USDT ETH/USDT SOL/USDT] [--source DIR]

Cases per timeframe (candles in a temporary data folder, never committed):
* `setup`: config.json plus a small override of the timeframe's own (SETUPS: the timeframe,
  include_timeframes valid for it, train/backtest days that give enough candles);
* `cli`: config.json unchanged but for the timeframe, as `--timeframe TF` on the command line
  gives it (include_timeframes ["1h"] then lies below a timeframe above 1h: freqtrade refuses).

Per run: the exit (code, freqtrade's error line), log errors, warnings (by message) and
tracebacks, non-finite served values, do_predict counts, trades, profit and exit reasons,
the held candles of the time exits (expected: hold_horizons x label_period_candles candles of
the timeframe) and of the ROI exits with the ROI table in candles of the timeframe, and the
timings the log gives. Must run inside `unshare -n` (it opens ports); one backtest at a time.
One JSON line last. What the runs showed: docs/operations.md "Other timeframes".
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from backtest_runs import run_cli
from odd_candles import check_dev
from quality_sets import SETS
from run_report import backtest_once, report

from self_learning_offline.market import pair_filename
from self_learning_offline.replay_exchange.candles import (
    aggregate,
    frame_to_candles,
    timeframe_ms,
)

SOURCE = SETS["usdt-1h"].datadir
DEV_WINDOWS = [w for s in ("usdt-5m", "usdt-1h") for w in SETS[s].windows if w.role == "dev"]
HOUR_MS = 3_600_000
CASES = ("setup", "cli")
TIMEOUT_S = 3600


@dataclass(frozen=True)
class Setup:
    """A timeframe's override of config.json: FreqAI's windows and the timeframes it reads,
    and the dev timerange it runs on (inside a dev window of the candles it is made from)."""

    include_timeframes: tuple[str, ...]
    train_days: int
    backtest_days: int
    timerange: str

    def freqai(self) -> dict:
        return {"train_period_days": self.train_days, "backtest_period_days": self.backtest_days,
                "feature_parameters": {"include_timeframes": list(self.include_timeframes)}}


# 5m candles start 2025-01-01 (the feb dev window leaves 35 days before it), 1h candles
# 2024-09-14 (jan-feb leaves 111): room for train_period_days and 250 startup candles of each
# included timeframe.
SETUPS = {
    "15m": Setup(("15m", "1h"), 10, 2, "20250205-20250219"),
    "30m": Setup(("30m", "2h"), 14, 2, "20250205-20250219"),
    "2h": Setup(("2h", "4h"), 30, 7, "20250103-20250228"),
    "4h": Setup(("4h",), 60, 14, "20250103-20250228"),
}
CLI_INCLUDED = ("1h",)  # config.json's include_timeframes


def source_timeframe(timeframe: str) -> str:
    """The recording a timeframe is made from: 1h (the longer history) for whole hours, else
    5m."""
    return "1h" if timeframe_ms(timeframe) % HOUR_MS == 0 else "5m"


def resampled(frame: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """A freqtrade OHLCV frame aggregated to `timeframe` on Binance's grid (the replay
    exchange's aggregation), incomplete candles at either end dropped."""
    candles, _ = frame_to_candles(frame)
    length, step = timeframe_ms(timeframe), int(candles.time[1] - candles.time[0])
    out = aggregate(candles, length)
    counts = pd.Series((candles.time // length) * length).value_counts()
    full = counts.reindex(out.time).to_numpy() == length // step
    return pd.DataFrame({
        "date": pd.to_datetime(out.time[full], unit="ms", utc=True),
        **{c: getattr(out, c)[full] for c in ("open", "high", "low", "close", "volume")}})


def write_candles(datadir: Path, pairs: list[str], timeframes: set[str], source: Path) -> None:
    """Each pair's candles of each timeframe into `datadir`, made from those of `source`."""
    datadir.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        for tf in timeframes:
            frame = pd.read_feather(source / pair_filename(pair, source_timeframe(tf)))
            if tf != source_timeframe(tf):
                frame = resampled(frame, tf)
            frame.reset_index(drop=True).to_feather(datadir / pair_filename(pair, tf))


def run_case(out: Path, timeframe: str, case: str, args, horizon: int) -> dict:
    setup = SETUPS[timeframe]
    name = f"{timeframe}-{case}"
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    included = setup.include_timeframes if case == "setup" else CLI_INCLUDED
    pairs = args.pairs
    write_candles(folder / "data", pairs, {timeframe, *included}, args.source)
    freqai = setup.freqai() if case == "setup" else {}
    run = {"timeframe": timeframe, "case": case, "timerange": setup.timerange,
           "freqai": freqai or "config.json's",
           **backtest_once(folder, name, pairs, setup.timerange, timeframe, freqai,
                           TIMEOUT_S)}
    candle = pd.Timedelta(milliseconds=timeframe_ms(timeframe))
    return report(run, folder, name, pairs, candle, horizon)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None, help="work folder (default: a tmp one)")
    p.add_argument("--timeframes", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    p.add_argument("--cases", nargs="+", default=["setup"], choices=CASES)
    p.add_argument("--pairs", nargs="+", default=["BTC/USDT", "ETH/USDT", "SOL/USDT"])
    p.add_argument("--source", type=Path, default=SOURCE,
                   help="the usdt candles' folder (default: the usdt-1h set's)")
    args = p.parse_args()
    for tf in args.timeframes:
        check_dev(SETUPS[tf].timerange, DEV_WINDOWS)
    config = json.loads((Path(__file__).resolve().parents[1] / "config.json").read_text())
    horizon = int(config["freqai"]["feature_parameters"]["label_period_candles"])
    out = args.out or Path(tempfile.mkdtemp(prefix="timeframes-"))
    results = []
    for tf in args.timeframes:
        for case in args.cases:
            results.append(run_case(out, tf, case, args, horizon))
            print(json.dumps(results[-1], indent=1, default=str), flush=True)
    print(f"runs kept in {out}", file=sys.stderr)
    print(json.dumps({"pairs": args.pairs, "runs": results}, default=str))
    return 0


if __name__ == "__main__":
    run_cli(main)
