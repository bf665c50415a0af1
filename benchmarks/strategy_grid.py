"""Trade figures of SelfLearningStrategy's parameters on the predictions of a finished run.

    .venv/bin/python benchmarks/quality.py --datadir /work/devdata/bench \\
        --pairs ETH/BTC NXT/BTC TRX/BTC ZEC/BTC --no-ablation --no-seed --keep-tmp
    .venv/bin/python benchmarks/strategy_grid.py --from /tmp/quality-bench-XXXX \\
        --datadir /work/devdata/bench --grid '{"buy": {"entry_z": [0, 1, 1.5]}}' \\
        [--run full] [--timerange 20180117-20180130]
    .venv/bin/python benchmarks/strategy_grid.py --from ... --run lightgbm \\
        --freqaimodel LightGBMRegressorMultiTarget --grid ...

`--grid` maps spaces to parameters to lists of values; every combination is one real
`freqtrade backtesting` that reuses the predictions of the run `--run` of the kept
quality.py folder (same identifier and user_data folder, so FreqAI trains nothing) with the
parameters in a parameter file next to a copy of the strategy; parameters not in the grid
keep their defaults. `--protections '[{"method": "CooldownPeriod", "stop_duration_candles": 2}]'`
runs every combination with those freqtrade protections, `--enable-protections` with the
strategy's own (its default MaxDrawdown; default none, as quality.py). Prints
trades, total profit, max drawdown and mean profit per trade of each combination (freqtrade's
own result file), then one JSON line. Runs are named grid<STAMP>_<i> (`--stamp`, default the
time; results in results_grid<STAMP>_<i>, which paired_runs.py --trades-only pairs across
windows). Choose the strategy's defaults on development pairs or generated data only, never
on the default shared pairs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from backtest_runs import Backtests, BenchError, RunSpec, read_trades, run_cli

DEFAULT_TIMERANGE = "20180117-20180130"


def combinations(grid: dict[str, dict[str, list]]) -> list[dict[str, dict]]:
    """{"buy": {"a": [1, 2]}, "sell": {"b": [3]}} -> [{"buy": {"a": 1}, "sell": {"b": 3}},
    {"buy": {"a": 2}, "sell": {"b": 3}}] (the last parameter varies fastest)."""
    keys = [(space, name) for space, params in grid.items() for name in params]
    out = []
    for values in itertools.product(*(grid[space][name] for space, name in keys)):
        combo: dict[str, dict] = {}
        for (space, name), value in zip(keys, values, strict=True):
            combo.setdefault(space, {})[name] = value
        out.append(combo)
    return out


def grid_specs(grid: list[dict[str, dict]], freqai: dict, run: str, model: str,
               stamp: str) -> list[RunSpec]:
    """One backtest per combination, reusing the predictions of `run` (made by FreqAI model
    `model`: FreqAI finds them only under the model that wrote them)."""
    return [RunSpec(f"grid{stamp}_{i}", model, freqai, combo, run)
            for i, combo in enumerate(grid)]


def label(combo: dict[str, dict]) -> str:
    return " ".join(f"{k}={v}" for params in combo.values() for k, v in params.items())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="a folder kept by quality.py --keep-tmp")
    p.add_argument("--run", default="full", help="the run whose predictions are reused")
    p.add_argument("--freqaimodel", default="SelfLearningModel",
                   help="that run's FreqAI model (LightGBMRegressorMultiTarget for lightgbm)")
    p.add_argument("--datadir", type=Path, required=True)
    p.add_argument("--timerange", default=DEFAULT_TIMERANGE)
    p.add_argument("--grid", required=True, metavar="JSON")
    p.add_argument("--protections", default=None, metavar="JSON",
                   help="a list of freqtrade protection dicts, set on the strategy copy and "
                        "run with --enable-protections (default: none, as quality.py)")
    p.add_argument("--enable-protections", action="store_true",
                   help="freqtrade's --enable-protections with the strategy's own protections "
                        "(its default MaxDrawdown, as a dry or live bot; default: none, as "
                        "quality.py and freqtrade's backtesting)")
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--stamp", default=None,
                   help="runs are grid<STAMP>_<i> (default the time, HHMMSS); the same stamp "
                        "in each window's folder lets paired_runs.py --trades-only pair them")
    args = p.parse_args(argv)
    config_path = args.source / f"config.{args.run}.json"
    if not config_path.is_file():
        raise BenchError(f"{config_path} missing: --from must be a folder kept by quality.py "
                         f"--keep-tmp and --run one of its runs")
    config = json.loads(config_path.read_text())
    freqai = {k: v for k, v in config["freqai"].items() if k != "identifier"}
    grid = combinations(json.loads(args.grid))
    protections = None if args.protections is None else json.loads(args.protections)
    stamp = args.stamp or time.strftime("%H%M%S")
    specs = grid_specs(grid, freqai, args.run, args.freqaimodel, stamp)
    began = time.monotonic()
    runs = Backtests(args.source, args.datadir, config["exchange"]["pair_whitelist"],
                     args.timerange, {}, args.timeout, 1, config["stake_currency"],
                     config["timeframe"], protections=protections,
                     enable_protections=args.enable_protections).run_all(specs)
    rows = {label(s.strategy_params): read_trades(runs[s.name].results_dir) for s in specs}
    width = max(len(k) for k in rows)
    print(f"\n{'parameters':<{width}}{'trades':>8}{'profit %':>10}{'max dd %':>10}"
          f"{'mean %':>9}")
    for key, t in rows.items():
        print(f"{key:<{width}}{t['trades']:>8.0f}{t['profit_pct']:>10.2f}"
              f"{t['max_drawdown_pct']:>10.2f}{t['profit_mean_pct']:>9.3f}")
    print(f"\nwall time {time.monotonic() - began:.0f} s ({len(specs)} backtests)")
    print(json.dumps({k: {m: round(v, 6) for m, v in t.items()} for k, t in rows.items()}))
    return 0


if __name__ == "__main__":
    run_cli(main)
