"""The shipped 1h setup on real candles that are not clean: a gap, a flat zero-volume stretch
and a pair listed mid-run, each damaging one pair of a copy of the real candles, each run with
the stock `freqtrade backtesting` against the replay exchange, compared with a run on the
undamaged copy.

    .venv/bin/python benchmarks/odd_candles.py [--out DIR] [--timerange 20241201-20241222]
        [--pairs BTC/USDT ETH/USDT SOL/USDT] [--damaged SOL/USDT] [--cases clean gap flat
        listing] [--gap-hours 12] [--listed-days 3]

Cases (each on its own copy of the candles of ../shared/data/binance_usdt, never committed):
* `clean`: undamaged, the reference;
* `gap`: `--gap-hours` consecutive candles of the damaged pair removed in the middle of the
  backtest (freqtrade fills them with flat zero-volume candles when it loads the data);
* `flat`: the same hours replaced by flat zero-volume candles at the last close (a halt,
  an illiquid pair);
* `listing`: the damaged pair's candles start `--listed-days` after the backtest's start (a
  pair listed mid-run: no training days before it).

Per case it reports: whether the run failed (exit code, a FreqAI training that raised); the
log lines about the damaged pair (warnings, errors, the model's skip counts); non-finite
values in the predictions FreqAI stored; refused saves; trades (of any pair) opened on a
signal candle without a usable prediction (do_predict != 1, e.g. before the pair's first
training); and, per undamaged pair, how far its predictions moved from the clean run's (rows
compared, rows whose `&-s_close` differs, max |diff|).

Runs `clean` first. Must run inside `unshare -n` (it opens ports). Timeranges: inside a dev
window of the usdt-1h set only (quality_sets.py). About a minute; one JSON line last. What
the cases showed: docs/operations.md "Gaps, flat candles and new listings". The same cases
in one CI backtest on generated candles: tests/e2e/test_odd_candles_e2e.py.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import (
    Backtests,
    BenchError,
    RunSpec,
    load_predictions,
    prediction_files,
    run_cli,
)
from quality_sets import SETS, timerange_bounds

from self_learning_offline.market import pair_filename

SOURCE = SETS["usdt-1h"].datadir
DEV_WINDOWS = [w for w in SETS["usdt-1h"].windows if w.role == "dev"]
TIMEFRAME = "1h"
CANDLE = pd.Timedelta(hours=1)  # TIMEFRAME's
CASES = ("clean", "gap", "flat", "listing")
TIMEOUT_S = 1800
SERVED = ("&-s_close", "&-liq_up", "&-liq_down", "&-novelty", "&-training_counter")
SKIP_LINE = re.compile(r"skip|passed over", re.IGNORECASE)
LEVEL = re.compile(r" - (WARNING|ERROR|CRITICAL) - ")


def check_dev(timerange: str, windows=DEV_WINDOWS) -> None:
    """Refuse a timerange outside the dev `windows` (never the holdout)."""
    begin, end = timerange_bounds(timerange)
    for w in windows:
        w_begin, w_end = timerange_bounds(w.timerange)
        if w_begin <= begin and end <= w_end:
            return
    raise BenchError(f"--timerange {timerange} is not inside a dev window "
                     f"({', '.join(w.timerange for w in windows)})")


def damage(candles: pd.DataFrame, case: str, begin: pd.Timestamp, end: pd.Timestamp,
           gap_hours: int, listed_days: int) -> pd.DataFrame:
    """The candles of the damaged pair for `case` (backtest from `begin` to `end`)."""
    if case == "clean":
        return candles
    if case == "listing":
        return candles[candles["date"] >= begin + pd.Timedelta(days=listed_days)]
    middle = (begin + (end - begin) / 2).floor("D") + pd.Timedelta(hours=6)
    hours = (candles["date"] >= middle) & (candles["date"] < middle
                                            + pd.Timedelta(hours=gap_hours))
    if case == "gap":
        return candles[~hours]
    last_close = candles.loc[candles["date"] < middle, "close"].iloc[-1]
    flat = candles.copy()
    flat.loc[hours, ["open", "high", "low", "close"]] = last_close
    flat.loc[hours, "volume"] = 0.0
    return flat


def write_case(folder: Path, case: str, pairs: list[str], damaged: str, args) -> Path:
    begin, end = timerange_bounds(args.timerange)
    datadir = folder / "data"
    datadir.mkdir(parents=True)
    for pair in pairs:
        name = pair_filename(pair, TIMEFRAME)
        candles = pd.read_feather(SOURCE / name)
        if pair == damaged:
            candles = damage(candles, case, begin, end, args.gap_hours, args.listed_days)
        candles.reset_index(drop=True).to_feather(datadir / name)
    return datadir


def pair_lines(log: str, pair: str) -> list[str]:
    """Log lines naming `pair` that are warnings/errors or speak of skips."""
    return [line for line in log.splitlines()
            if pair in line and (LEVEL.search(line) or SKIP_LINE.search(line))]


def report(case: str, log: str, models_dir: Path, results_dir: Path, pairs: list[str],
           damaged: str, clean: pd.DataFrame | None) -> dict:
    from freqtrade.data.btanalysis import load_backtest_data

    preds = load_predictions(models_dir, pairs) if models_dir.exists() else pd.DataFrame()
    nonfinite = nonfinite_served(models_dir, pairs)
    trades = load_backtest_data(results_dir)
    mine = trades[trades["pair"] == damaged] if len(trades) else trades
    out = {
        "case": case,
        "trades": int(len(trades)), "damaged_trades": int(len(mine)),
        "nonfinite_served": nonfinite,
        "errors": sum(1 for line in log.splitlines() if " - ERROR - " in line),
        "tracebacks": log.count("Traceback"),
        "damaged_log": pair_lines(log, damaged)[:40],
        "refused_saves": [line for line in log.splitlines() if "NaN or inf" in line][:5],
    }
    if len(preds):
        out["entries_without_prediction"] = sum(
            untrained_entries(trades[trades["pair"] == p], preds[preds["pair"] == p])
            for p in pairs) if len(trades) else 0
        d = preds[preds["pair"] == damaged]
        out["damaged_rows"] = {"predicted": int(len(d)),
                               "usable": int((d["do_predict"] == 1).sum())}
    if clean is not None and len(preds):
        out["moved"] = moved(clean, preds, [p for p in pairs if p != damaged])
    return out


def nonfinite_served(models_dir: Path, pairs: list[str]) -> dict[str, int]:
    """Non-finite values per served column over FreqAI's prediction files of `pairs` (a
    window FreqAI filled with its null predictions holds only the target columns)."""
    counts = dict.fromkeys(SERVED, 0)
    for _, _, frame in prediction_files(models_dir, pairs):
        for column in SERVED:
            if column in frame:
                counts[column] += int((~np.isfinite(frame[column].to_numpy(float))).sum())
    return counts


def untrained_entries(trades: pd.DataFrame, preds: pd.DataFrame,
                      candle: pd.Timedelta = CANDLE) -> int:
    """Trades opened on a signal candle (the one `candle` before the open) without a usable
    prediction."""
    if not len(trades):
        return 0
    usable = preds.set_index("date")["do_predict"]
    signal = pd.to_datetime(trades["open_date"], utc=True) - candle
    flags = usable.reindex(signal.astype("datetime64[ns, UTC]")).fillna(0)
    return int((flags != 1).sum())


def moved(clean: pd.DataFrame, preds: pd.DataFrame, pairs: list[str]) -> dict:
    """Per undamaged pair: rows compared, rows whose `&-s_close` differs, max |diff|."""
    out = {}
    for pair in pairs:
        a = clean[clean["pair"] == pair].set_index("date")["pred"]
        b = preds[preds["pair"] == pair].set_index("date")["pred"]
        both = a.index.intersection(b.index)
        diff = (a[both] - b[both]).abs()
        out[pair] = {"rows": int(len(both)), "differ": int((diff > 1e-12).sum()),
                     "max_abs": float(diff.max()) if len(both) else None,
                     "first_differ": str(diff[diff > 1e-12].index.min())
                     if (diff > 1e-12).any() else None}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None, help="work folder (default: a tmp one)")
    p.add_argument("--timerange", default="20241201-20241222")
    p.add_argument("--pairs", nargs="+", default=["BTC/USDT", "ETH/USDT", "SOL/USDT"])
    p.add_argument("--damaged", default="SOL/USDT")
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    p.add_argument("--gap-hours", type=int, default=12)
    p.add_argument("--listed-days", type=int, default=3)
    p.add_argument("--report-only", action="store_true", help="read the runs kept in --out")
    args = p.parse_args()
    check_dev(args.timerange)
    if args.damaged not in args.pairs:
        raise BenchError(f"--damaged {args.damaged} is not among --pairs")
    if args.report_only and args.out is None:
        raise BenchError("--report-only reads the runs of --out DIR: name it")
    out = args.out or Path(tempfile.mkdtemp(prefix="odd-candles-"))
    cases = ["clean", *[c for c in args.cases if c != "clean"]]
    results, clean = {}, None
    for case in cases:
        folder, failed = out / case, None
        if not args.report_only:
            if folder.exists():
                shutil.rmtree(folder)
            datadir = write_case(folder, case, args.pairs, args.damaged, args)
            runs = Backtests(folder, datadir, args.pairs, args.timerange, {}, TIMEOUT_S,
                             stake="USDT", timeframe=TIMEFRAME)
            try:
                runs.run_all([RunSpec(case, "SelfLearningModel")])
            except BenchError as err:
                print(f"{case}: {err}", file=sys.stderr)
                failed = str(err).splitlines()[0]
        log = (folder / f"{case}.log").read_text()
        models_dir = folder / f"user_data_{case}" / "models" / f"quality-{case}"
        results_dir = folder / f"results_{case}"
        try:
            results[case] = report(case, log, models_dir, results_dir, args.pairs,
                                   args.damaged, clean)
        except (BenchError, ValueError) as err:
            results[case] = {"case": case, "report_failed": str(err)[:500]}
        if failed:
            results[case]["failed"] = failed
        if case == "clean":
            clean = load_predictions(models_dir, args.pairs)
        print(json.dumps(results[case], indent=1, default=str), flush=True)
    print(f"runs kept in {out}")
    print(json.dumps({"timerange": args.timerange, "damaged": args.damaged,
                      "cases": results}, default=str))
    return 0


if __name__ == "__main__":
    run_cli(main)
