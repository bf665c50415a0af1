"""One stock `freqtrade backtesting` of config.json on a candle folder, and what its log,
predictions and trades show: the machinery benchmarks/timeframes.py and
benchmarks/other_markets.py share (each builds its own candle folder first).

* `backtest_once`: the run (replay exchange, one RunSpec), its exit and timings, never raising
  for a failed run (the failure is reported);
* `report`: the log summary (errors, tracebacks, warnings by message, the per-candle step's
  timings), non-finite served values, do_predict counts, trades, exit reasons, held candles
  and the trades opened without a usable prediction.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
from backtest_runs import (
    Backtests,
    BenchError,
    RunSpec,
    load_predictions,
    read_stats,
    strategy_stats,
    train_seconds,
)
from odd_candles import nonfinite_served, untrained_entries

from self_learning.strategy.strategy_columns import hold_candles

HOLD_HORIZONS = 1.0  # SelfLearningStrategy.hold_horizons' default
LEVEL = re.compile(r" - (?:WARNING|ERROR|CRITICAL) - (.*)")
NUMBERS = re.compile(r"\d+(?:\.\d+)?")
STEP_READY = re.compile(r"Online learning step ready for \S+ .*stepped (\d+) candles in "
                        r"([\d.]+) s")
LEARNED = re.compile(r"learned (\d+) candles for (\S+), counter")


def backtest_once(folder: Path, name: str, pairs: list[str], timerange: str, timeframe: str,
                  freqai: dict, timeout: float, stake: str = "USDT",
                  protections: list[dict] | None = None,
                  strategy_params: dict | None = None, enable_protections: bool = False) -> dict:
    """One backtest named `name` of the candles in `folder / "data"` (with freqtrade
    `protections`, or its own with `enable_protections`, and the strategy's parameters
    `strategy_params` if given): wall and CPU
    seconds, or `failed` with the first line of the failure."""
    runs = Backtests(folder, folder / "data", pairs, timerange, {}, timeout, stake=stake,
                     timeframe=timeframe, protections=protections,
                     enable_protections=enable_protections)
    try:
        result = runs.run_all([RunSpec(name, "SelfLearningModel", freqai,
                                       strategy_params)])[name]
        return {"wall_s": round(result.wall_s), "cpu_s": round(result.cpu_s or 0)}
    except BenchError as err:
        return {"failed": str(err).splitlines()[0]}


def models_dir(folder: Path, name: str) -> Path:
    """FreqAI's model folder of the run `name` made by backtest_once in `folder`."""
    return folder / f"user_data_{name}" / "models" / f"quality-{name}"


def log_summary(log: str) -> dict:
    """Errors and tracebacks counted, warnings and errors by message (numbers as #)."""
    messages = Counter(NUMBERS.sub("#", m.group(1))[:160]
                       for line in log.splitlines() if (m := LEVEL.search(line)))
    ready = [(int(n), float(s)) for n, s in STEP_READY.findall(log)]
    learned = [int(n) for n, _ in LEARNED.findall(log)]
    return {
        "errors": sum(1 for line in log.splitlines() if " - ERROR - " in line),
        "tracebacks": log.count("Traceback"),
        "messages": dict(messages.most_common(12)),
        "step_ready": ready[:3],
        "learned_lines": len(learned), "learned_candles": sum(learned),
        "train_s": {p: [round(s, 1) for s in v] for p, v in train_seconds(log).items()},
    }


def held_candles(trades: pd.DataFrame, candle: pd.Timedelta) -> pd.Series:
    """How many candles of the timeframe each trade was open."""
    held = pd.to_datetime(trades["close_date"], utc=True) - pd.to_datetime(
        trades["open_date"], utc=True)
    return held / candle


def trade_summary(results_dir: Path, candle: pd.Timedelta, horizon: int,
                  preds: pd.DataFrame, pairs: list[str]) -> dict:
    """Trades, profit, exit reasons, trades per pair, candles held by time and ROI exits, the
    ROI table in candles, and the trades opened without a usable prediction."""
    from freqtrade.data.btanalysis import load_backtest_data

    stats = strategy_stats(read_stats(results_dir))
    trades = load_backtest_data(results_dir)
    minutes = candle / pd.Timedelta(minutes=1)
    out = {"trades": int(stats["total_trades"]),
           "profit_pct": round(100 * float(stats["profit_total"]), 3),
           "roi_in_candles": {float(k) / minutes: v
                              for k, v in stats.get("minimal_roi", {}).items()},
           "time_exit_expected": hold_candles(horizon, HOLD_HORIZONS)}
    if not len(trades):
        return out
    held = held_candles(trades, candle)
    reasons = trades["exit_reason"]
    roi = reasons == "roi"
    out["trades_per_pair"] = trades["pair"].value_counts().to_dict()
    out["exit_reasons"] = reasons.value_counts().to_dict()
    out["time_exit_held"] = held[reasons == "time_exit"].value_counts().sort_index().to_dict()
    out["roi_exits_held_profit"] = Counter(zip(held[roi].round(2), trades.loc[
        roi, "profit_ratio"].round(4), strict=True)).most_common(8)
    out["entries_without_prediction"] = sum(
        untrained_entries(trades[trades["pair"] == p], preds[preds["pair"] == p], candle)
        for p in pairs)
    return out


def report(run: dict, folder: Path, name: str, pairs: list[str], candle: pd.Timedelta,
           horizon: int) -> dict:
    """The run's log summary, and its predictions and trades when it made any."""
    log = (folder / f"{name}.log").read_text() if (folder / f"{name}.log").exists() else ""
    out = {**run, **log_summary(log)}
    models = models_dir(folder, name)
    if not (models / "backtesting_predictions").exists():
        return out
    try:
        preds = load_predictions(models, pairs)
    except BenchError as err:
        out["predictions_failed"] = str(err)[:300]
        return out
    out["nonfinite_served"] = nonfinite_served(models, pairs)
    out["do_predict"] = {str(k): int(v) for k, v in preds["do_predict"].value_counts().items()}
    try:
        out.update(trade_summary(folder / f"results_{name}", candle, horizon, preds, pairs))
    except BenchError as err:
        out["trades_failed"] = str(err)[:300]
    return out
