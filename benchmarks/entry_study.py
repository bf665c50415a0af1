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
* runs (every model's rows): the entry signals of the strategy's default rules by their
  position in a run of consecutive signal candles of a pair (1st, 2nd, 3rd, 4th+; freqtrade
  holds one trade per pair, so a trade takes the first candle of a run), the first candles
  by the direction of the signal candle itself (fell / rose: a reversion predicted on a
  falling candle; fell after a candle that fell too), and the signals a trade of the run's
  own freqtrade result entered on (taken; also those later in a run) or not: realized target
  and `held_open` (open[t+1+H] / open[t+1] - 1, what a time exit after H candles realizes,
  before fees), with a leave-one-day-out jackknife interval (days of the signal candle,
  pooled over the pairs), and the later (2nd+) minus the first candles, jackknifed over the
  same days.
* sides (every model's rows): the first candles of the runs of long signals and of their
  mirror, the same rules on the negated prediction (a short a spot market cannot take):
  what each side realizes over H candles from the next open, signed, after the round trip,
  with its day-jackknife interval, and both sides pooled (entry_runs.side_table).
* trades: every freqtrade result of the window (the quality run's own and strategy_grid's,
  with the parameters of their parameter file): trades, profit, max drawdown, the entries'
  predicted and realized mean at their signal candle (quality_trades.entry_quality) and the
  share of (pair, 7-day) cells with at least one trade (quality_trades.pair_week_coverage).

Prints the tables, then one JSON line. Choose rules on dev windows only.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import kept_windows, read_stats, run_cli, trade_stats
from entry_runs import held_from_next_open, mark_taken, run_positions, run_table, side_table
from quality_trades import entry_quality, pair_week_coverage, trade_list

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


def signal_mask(rows: pd.DataFrame, rules: EntryRules) -> np.ndarray:
    """Where every entry filter of `rules` holds (a missing value does not)."""
    return np.logical_and.reduce([m.fillna(False).to_numpy(dtype=bool)
                                  for m in entry_filters(rows, rules).values()])


def model_rows(models_dir: Path, datadir: Path, pairs: list[str], timeframe: str,
               horizon: int, rules: EntryRules, signal_rules: EntryRules) -> pd.DataFrame:
    """The usable predicted rows of every pair (load_rows), with `expected_return`, the H-candle
    return `held` (close to close), `held_open` (from the next open), the signal candle's own
    return `candle_return` and the one before it (`previous_return`), one boolean column per
    entry filter of `rules` (named as the filter), `signal` (every entry filter of
    `signal_rules`, the strategy's) and its `run_position` (run_positions, over the pair's
    predicted rows in time order), and the same for the mirrored short side (`short_signal`:
    the rules on the negated prediction; `short_run_position`)."""
    seconds = TIMEFRAME_S[timeframe]
    frames = []
    for pair, rows in load_rows(models_dir, datadir, pairs, timeframe, horizon).items():
        rows = rows.assign(expected_return=expected_return(rows, horizon,
                                                           calibration_candles(seconds)))
        rows["held"] = rows["close"].shift(-horizon) / rows["close"] - 1
        rows["held_open"] = held_from_next_open(rows["open"], horizon)
        rows["candle_return"] = rows["close"] / rows["close"].shift(1) - 1
        rows["previous_return"] = rows["candle_return"].shift(1)
        for name, mask in entry_filters(rows, rules).items():
            rows[name] = mask.fillna(False).to_numpy(dtype=bool)
        rows["signal"] = signal_mask(rows, signal_rules)
        rows["run_position"] = run_positions(rows["signal"].to_numpy())
        rows["short_signal"] = signal_mask(
            rows.assign(**{"&-s_close": -rows["&-s_close"]}), signal_rules)
        rows["short_run_position"] = run_positions(rows["short_signal"].to_numpy())
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


def result_params(window: Path, name: str) -> str:
    """The buy/sell parameters of result `name` (its strategy_grid parameter file), or
    'defaults' for a quality.py run."""
    path = window / f"strategy_{name}" / "SelfLearningStrategy.json"
    if not path.is_file():
        return "defaults"
    params = json.loads(path.read_text())["params"]
    return " ".join(f"{k}={v}" for space in params.values() for k, v in space.items())


def read_results(window: Path) -> dict[str, dict]:
    """Result name (`results_<name>` without its prefix) -> freqtrade's statistics, for every
    result of the window folder, each read once."""
    return {results.name.removeprefix("results_"): read_stats(results)
            for results in sorted(window.glob("results_*"))}


def trade_table(window: Path, results: dict[str, dict], rows_by_run: dict[str, pd.DataFrame],
                pairs: list[str], candle: pd.Timedelta) -> pd.DataFrame:
    """One line per freqtrade result of the window (read_results): run, parameters, trade
    figures, entries' predicted and realized means (%), (pair, week) coverage."""
    lines = []
    for name, stats in results.items():
        config = json.loads((window / f"config.{name}.json").read_text())
        run = config["freqai"]["identifier"].removeprefix("quality-")
        rows = rows_by_run[run]
        scored = rows.rename(columns={"&-s_close": "pred"})
        trades = trade_list(stats)
        start, end = rows["date"].min(), rows["date"].max() + candle
        lines.append({"window": window.name, "run": run,
                      "params": result_params(window, name), **trade_stats(stats),
                      **entry_quality(trades, scored, candle),
                      "pair_weeks": pair_week_coverage(trades, pairs, start, end)})
    return pd.DataFrame(lines)


@dataclass(frozen=True)
class WindowStudy:
    """The tables of one window folder: deciles, run tables and side tables by run (model),
    the filter table of the full run, the freqtrade results."""

    deciles: dict[str, pd.DataFrame]
    runs: dict[str, pd.DataFrame]
    sides: dict[str, pd.DataFrame]
    filters: pd.DataFrame
    trades: pd.DataFrame


def study_window(window: Path, datadir: Path, timeframe: str, horizon: int, fee: float
                 ) -> WindowStudy:
    """The tables of one window folder (WindowStudy). The run tables: the signals of the
    strategy's default rules, taken or not by a trade of the run's own quality result."""
    config = json.loads((window / "config.full.json").read_text())
    pairs = config["exchange"]["pair_whitelist"]
    signal_rules = EntryRules(z_candles=z_candles(TIMEFRAME_S[timeframe]),
                              round_trip_fee=round_trip(fee))
    rules = replace(signal_rules, use_entry_z=True, use_score_ic=True, use_expected_return=True)
    runs = sorted(p.name.removeprefix("user_data_") for p in window.glob("user_data_*"))
    rows = {run: model_rows(window / f"user_data_{run}" / "models" / f"quality-{run}",
                            datadir, pairs, timeframe, horizon, rules, signal_rules)
            for run in runs}
    filters = list(entry_filters(rows["full"].head(1), rules))
    candle = pd.Timedelta(seconds=TIMEFRAME_S[timeframe])
    results = read_results(window)
    for run, frame in rows.items():
        if run in results:
            frame["taken"] = mark_taken(frame, trade_list(results[run]), candle)
    return WindowStudy({run: decile_table(r) for run, r in rows.items()},
                       {run: run_table(r) for run, r in rows.items()},
                       {run: side_table(r, round_trip(fee)) for run, r in rows.items()},
                       filter_table(rows["full"], filters),
                       trade_table(window, results, rows, pairs, candle))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="a folder kept by quality.py --keep-tmp (window sub-folders)")
    p.add_argument("--datadir", type=Path, required=True)
    p.add_argument("--timeframe", default="1h", choices=sorted(TIMEFRAME_S))
    p.add_argument("--horizon", type=int, required=True, help="label_period_candles H")
    p.add_argument("--fee", type=float, default=0.001, help="fee per side")
    args = p.parse_args(argv)
    windows = kept_windows(args.source)
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 30)
    out: dict[str, object] = {}
    trades = []
    for window in windows:
        study = study_window(window, args.datadir, args.timeframe, args.horizon, args.fee)
        for run, deciles_of_run in study.deciles.items():
            print(f"\n== {window.name}: {run}, usable rows by prediction decile (%)")
            print(deciles_of_run.round(3).to_string())
            out[f"{window.name}.{run}.decile_target_pct"] = [
                round(v, 4) for v in deciles_of_run["target_pct"]]
        print(f"\n== {window.name}: entry filters (full), alone and all the others without it")
        print(study.filters.round(3).to_string())
        out[f"{window.name}.filters"] = json.loads(study.filters.round(4).to_json(
            orient="index"))
        for run, runs in study.runs.items():
            print(f"\n== {window.name}: {run}, signals by position in a run of signals (%, "
                  "day-jackknife 95 % interval)")
            print(runs.round(3).to_string())
            out[f"{window.name}.{run}.runs"] = json.loads(runs.round(4).to_json(orient="index"))
        for run, sides in study.sides.items():
            print(f"\n== {window.name}: {run}, first signals of a run by side: held H candles "
                  "from the next open, signed, after the round trip (%, day-jackknife 95 %)")
            print(sides.round(3).to_string())
            out[f"{window.name}.{run}.sides"] = json.loads(sides.round(4).to_json(orient="index"))
        trades.append(study.trades)
    table = pd.concat(trades, ignore_index=True)
    print("\n== freqtrade results (entries: realized target at the signal candle, %)")
    print(table.round(3).to_string())
    out["results"] = json.loads(table.round(4).to_json(orient="records"))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    run_cli(main)
