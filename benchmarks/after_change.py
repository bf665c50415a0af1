"""Trade figures after the change of every run in a folder kept by a change scenario.

    .venv/bin/python benchmarks/quality.py --scenario reverse [--scenario-timeframe 1h] \\
        --no-seed --no-lightgbm --no-ablation --keep-tmp               # -> /tmp/quality-bench-X
    .venv/bin/python benchmarks/strategy_grid.py --from /tmp/quality-bench-X/reverse \\
        --datadir /tmp/quality-bench-X/reverse_data --timerange <the window> --stamp s \\
        --grid '{"buy": {"use_score_ic": [true], "min_score_ic": [0.0, -0.05]}}'
    .venv/bin/python benchmarks/after_change.py --from /tmp/quality-bench-X --scenario reverse \\
        [--scenario-timeframe 1h]

quality.py prints the trades after the change of its own runs only; this reads the same
figures for every run of the kept window folder (the quality run's `full` and
strategy_grid.py's `grid<STAMP>_<i>`, with the parameters of its parameter file), computed as
quality.py does (quality_plan.after_change): the trades opened at or after the change and the
profit of the trades closed from the change's day on, % of the starting wallet, beside the
whole window's trades and profit. `--scenario null` (no change) prints the whole window only.
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from backtest_runs import STRATEGY, BenchError, run_cli
from quality import scenario_window
from quality_plan import CHANGES, after_change
from quality_trades import read_window_trades


def run_parameters(window_dir: Path, run: str) -> str:
    """The strategy parameters of a strategy_grid.py run (its parameter file), '' otherwise."""
    path = window_dir / f"strategy_{run}" / f"{STRATEGY}.json"
    if not path.is_file():
        return ""
    params = json.loads(path.read_text()).get("params", {})
    return " ".join(f"{k}={v}" for space in params.values() for k, v in space.items())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="a folder kept by quality.py --scenario ... --keep-tmp")
    p.add_argument("--scenario", required=True, choices=["null", *CHANGES])
    p.add_argument("--scenario-timeframe", choices=["1h", "5m"], default="5m")
    args = p.parse_args(argv)
    window, flip_at = scenario_window(args.scenario, args.scenario_timeframe)
    window_dir = args.source / window.name
    runs = sorted(d.name.removeprefix("results_") for d in window_dir.glob("results_*"))
    if not runs:
        raise BenchError(f"no kept results_<run> folder in {window_dir}")
    out: dict[str, dict[str, float | str]] = {}
    for run in runs:
        trades = read_window_trades(window_dir / f"results_{run}", window.timerange)
        row: dict[str, float | str] = {"params": run_parameters(window_dir, run),
                                       "trades": trades.stats["trades"],
                                       "profit_pct": trades.stats["profit_pct"]}
        if flip_at is not None:
            row.update(after_change([trades], pd.Timestamp(flip_at)))
        out[run] = row
    print(f"{args.scenario} {args.scenario_timeframe} {window.timerange}"
          + ("" if flip_at is None else f", change at {flip_at:%Y-%m-%d %H:%M}"))
    print(f"{'run':<14}{'trades':>7}{'profit %':>10}{'after':>7}{'after %':>9}  parameters")
    for run, row in out.items():
        after = (f"{row['trades_after']:>7.0f}{row['profit_after_pct']:>+9.2f}"
                 if "trades_after" in row else f"{'':>16}")
        print(f"{run:<14}{row['trades']:>7.0f}{row['profit_pct']:>+10.2f}{after}  "
              f"{row['params']}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    run_cli(main)
