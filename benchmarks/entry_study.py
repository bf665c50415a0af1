"""Where SelfLearningStrategy's entries come from and whether they realize what they predict.

    .venv/bin/python benchmarks/quality.py --set usdt-1h --windows dev --no-seed \\
        --no-ablation --label-period-candles 4 \\
        --self-learning-config '{"memory_candles": 8760}' --keep-tmp   # -> /tmp/quality-bench-X
    .venv/bin/python benchmarks/strategy_grid.py --from /tmp/quality-bench-X/<window> ...
    .venv/bin/python benchmarks/entry_study.py --from /tmp/quality-bench-X \\
        --datadir ../shared/data/binance_usdt --timeframe 1h --horizon 4

Reads a folder kept by quality.py (one sub-folder per window) and runs no backtest. Per
window, over the stored predictions of each model of the folder:

* deciles: the usable predicted rows by decile of the prediction (pooled over the pairs):
  mean prediction, the strategy's `expected_return`, the realized target (`&-s_close`: mean
  close of the next H candles) and the H-candle return (what a time exit after H realizes);
  is the realized mean monotone in the prediction, is the top decile (where entries come
  from) what it predicts?
* filters (SelfLearningModel's rows): each entry rule of the strategy with its default
  values, the optional ones switched on (strategy_columns.entry_filters), alone and all the
  others without it: rows passing and their realized means; which rule removes the good
  entries?
* trades: every freqtrade result of the window (the quality run's own and strategy_grid's,
  with the parameters of their parameter file): trades, profit, max drawdown, the entries'
  predicted and realized mean at their signal candle (quality_trades.entry_quality) and the
  share of (pair, 7-day) cells with at least one trade.

Prints the tables, then one JSON line. Choose rules on dev windows only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import BenchError, read_stats, run_cli, trade_stats
from quality_trades import entry_quality, trade_list

from self_learning.reports.backtest import load_rows
from self_learning.strategy.strategy_columns import (
    EntryRules,
    calibration_candles,
    entry_filters,
    expected_return,
    round_trip,
    z_candles,
)

TIMEFRAME_S = {"5m": 300, "15m": 900, "1h": 3600}
WEEK = pd.Timedelta(days=7)


def model_rows(models_dir: Path, datadir: Path, pairs: list[str], timeframe: str,
               horizon: int, rules: EntryRules) -> pd.DataFrame:
    """The usable predicted rows of every pair (load_rows), with `expected_return`, the H-candle
    return `held`, and one boolean column per entry filter of `rules` (named as the filter)."""
    seconds = TIMEFRAME_S[timeframe]
    frames = []
    for pair, rows in load_rows(models_dir, datadir, pairs, timeframe, horizon).items():
        rows = rows.assign(expected_return=expected_return(rows, horizon,
                                                           calibration_candles(seconds)))
        rows["held"] = rows["close"].shift(-horizon) / rows["close"] - 1
        for name, mask in entry_filters(rows, rules).items():
            rows[name] = mask.fillna(False).to_numpy(dtype=bool)
        frames.append(rows.assign(pair=pair)[rows["usable"]])
    return pd.concat(frames, ignore_index=True)


def means(rows: pd.DataFrame) -> dict[str, float]:
    """rows, and mean prediction / expected_return / realized target / H-candle return in %."""
    return {"rows": float(len(rows)), "pred_pct": 100 * rows["&-s_close"].mean(),
            "expected_pct": 100 * rows["expected_return"].mean(),
            "target_pct": 100 * rows["target"].mean(), "held_pct": 100 * rows["held"].mean()}


def decile_table(rows: pd.DataFrame) -> pd.DataFrame:
    """means() of the rows by decile of the prediction (0: lowest), pooled over pairs."""
    decile = pd.qcut(rows["&-s_close"].rank(method="first"), 10, labels=False)
    return pd.DataFrame({d: means(part) for d, part in rows.groupby(decile)}).T


def filter_table(rows: pd.DataFrame, filters: list[str]) -> pd.DataFrame:
    """Per filter: means() of the rows passing it alone and of those passing every other
    filter (not it); the last line: all of them (the entry signals)."""
    table = {}
    for name in filters:
        others = np.logical_and.reduce([rows[f] for f in filters if f != name])
        table[name] = {**{f"alone_{k}": v for k, v in means(rows[rows[name]]).items()},
                       **{f"without_{k}": v for k, v in means(rows[others]).items()}}
    signals = rows[np.logical_and.reduce([rows[f] for f in filters])]
    table["all (entry signals)"] = {f"alone_{k}": v for k, v in means(signals).items()}
    return pd.DataFrame(table).T


def coverage(trades: pd.DataFrame, pairs: list[str], start: pd.Timestamp,
             end: pd.Timestamp) -> float:
    """Share of the (pair, 7-day block from `start`) cells up to `end` holding a trade's open."""
    blocks = max(1, int(np.ceil((end - start) / WEEK)))
    opened = trades[(trades["open_date"] >= start) & (trades["open_date"] < end)]
    cells = {(p, int((d - start) / WEEK)) for p, d in zip(opened["pair"], opened["open_date"],
                                                          strict=True)}
    return len(cells) / (len(pairs) * blocks)


def result_params(window: Path, name: str) -> str:
    """The buy/sell parameters of result `name` (its strategy_grid parameter file), or
    'defaults' for a quality.py run."""
    path = window / f"strategy_{name}" / "SelfLearningStrategy.json"
    if not path.is_file():
        return "defaults"
    params = json.loads(path.read_text())["params"]
    return " ".join(f"{k}={v}" for space in params.values() for k, v in space.items())


def trade_table(window: Path, rows_by_run: dict[str, pd.DataFrame], pairs: list[str],
                candle: pd.Timedelta) -> pd.DataFrame:
    """One line per freqtrade result of the window: run, parameters, trade figures, entries'
    predicted and realized means (%), (pair, week) coverage. Each result is read once."""
    lines = []
    for results in sorted(window.glob("results_*")):
        name = results.name.removeprefix("results_")
        config = json.loads((window / f"config.{name}.json").read_text())
        run = config["freqai"]["identifier"].removeprefix("quality-")
        rows = rows_by_run[run]
        scored = rows.rename(columns={"&-s_close": "pred"})
        stats = read_stats(results)
        trades = trade_list(stats)
        start, end = rows["date"].min(), rows["date"].max() + candle
        lines.append({"window": window.name, "run": run,
                      "params": result_params(window, name), **trade_stats(stats),
                      **entry_quality(trades, scored, candle),
                      "pair_weeks": coverage(trades, pairs, start, end)})
    return pd.DataFrame(lines)


def study_window(window: Path, datadir: Path, timeframe: str, horizon: int, fee: float
                 ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    """(deciles by run, filter table of the full run, trade table) of one window folder."""
    config = json.loads((window / "config.full.json").read_text())
    pairs = config["exchange"]["pair_whitelist"]
    rules = EntryRules(z_candles=z_candles(TIMEFRAME_S[timeframe]),
                       round_trip_fee=round_trip(fee), use_entry_z=True, use_score_ic=True,
                       use_expected_return=True)
    runs = sorted(p.name.removeprefix("user_data_") for p in window.glob("user_data_*"))
    rows = {run: model_rows(window / f"user_data_{run}" / "models" / f"quality-{run}",
                            datadir, pairs, timeframe, horizon, rules) for run in runs}
    filters = list(entry_filters(rows["full"].head(1), rules))
    candle = pd.Timedelta(seconds=TIMEFRAME_S[timeframe])
    return ({run: decile_table(r) for run, r in rows.items()},
            filter_table(rows["full"], filters), trade_table(window, rows, pairs, candle))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="a folder kept by quality.py --keep-tmp (window sub-folders)")
    p.add_argument("--datadir", type=Path, required=True)
    p.add_argument("--timeframe", default="1h", choices=sorted(TIMEFRAME_S))
    p.add_argument("--horizon", type=int, required=True, help="label_period_candles H")
    p.add_argument("--fee", type=float, default=0.001, help="fee per side")
    args = p.parse_args(argv)
    windows = sorted(w for w in args.source.iterdir() if (w / "config.full.json").is_file())
    if not windows:
        raise BenchError(f"no window folder with config.full.json in {args.source}")
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 30)
    out: dict[str, object] = {}
    trades = []
    for window in windows:
        deciles, filters, table = study_window(window, args.datadir, args.timeframe,
                                               args.horizon, args.fee)
        for run, deciles_of_run in deciles.items():
            print(f"\n== {window.name}: {run}, usable rows by prediction decile (%)")
            print(deciles_of_run.round(3).to_string())
            out[f"{window.name}.{run}.decile_target_pct"] = [
                round(v, 4) for v in deciles_of_run["target_pct"]]
        print(f"\n== {window.name}: entry filters (full), alone and all the others without it")
        print(filters.round(3).to_string())
        out[f"{window.name}.filters"] = json.loads(filters.round(4).to_json(orient="index"))
        trades.append(table)
    table = pd.concat(trades, ignore_index=True)
    print("\n== freqtrade results (entries: realized target at the signal candle, %)")
    print(table.round(3).to_string())
    out["results"] = json.loads(table.round(4).to_json(orient="records"))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    run_cli(main)
