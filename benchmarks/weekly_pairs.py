"""Does the strategy trade every week on most pairs? The figures quality.py now reports
(`trades.<model>.weeks`, `weeks_most_pairs`, `pairs_week.<date>`), from a folder quality.py
kept, without running a backtest.

    .venv/bin/python benchmarks/weekly_pairs.py --from /tmp/quality-bench-X

Reads every window sub-folder of the kept run (those with a config.full.json) and in it every
freqtrade result (`results_<run>`): its trades, the timerange freqtrade ran and the pairs of
the run's config. Per run, over its windows (each apart): the pairs that opened a trade in
each counted calendar week and the weeks in which more than half of them did
(quality_trades.weekly_pairs). Prints the table, then one JSON line: `<run>.trades`,
`<run>.weeks`, `<run>.weeks_most_pairs`, `<run>.pairs_week.<YYYY-MM-DD>`, and `windows`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from backtest_runs import BenchError, kept_windows, run_cli
from quality_tables import print_weeks
from quality_trades import WindowTrades, read_window_trades, weekly_pairs


def read_runs(windows: list[Path]) -> tuple[dict[str, list[WindowTrades]], list[str]]:
    """Run name -> its trades in each window (read once), and the pairs of the runs (every
    run of every window must trade the same pairs)."""
    runs: dict[str, list[WindowTrades]] = {}
    pairs: list[str] | None = None
    for window in windows:
        for results in sorted(window.glob("results_*")):
            run = results.name.removeprefix("results_")
            config = json.loads((window / f"config.{run}.json").read_text())
            whitelist = config["exchange"]["pair_whitelist"]
            if pairs is not None and whitelist != pairs:
                raise BenchError(f"{window / f'config.{run}.json'} trades {whitelist}, "
                                 f"not {pairs}")
            pairs = whitelist
            runs.setdefault(run, []).append(read_window_trades(results))
    if pairs is None:
        raise BenchError(f"no results_<run> folder in {[str(w) for w in windows]}")
    return runs, pairs


def weekly_figures(runs: dict[str, list[WindowTrades]], pairs: list[str]
                   ) -> dict[str, object]:
    """`<run>.trades` (freqtrade's count, summed over the windows) and weekly_pairs's figures
    of each run, then `pairs` and `windows` (the timeranges, in time order)."""
    out: dict[str, object] = {}
    for run, windows in runs.items():
        windows = sorted(windows, key=lambda w: w.timerange)
        out[f"{run}.trades"] = sum(w.stats["trades"] for w in windows)
        out.update({f"{run}.{k}": v for k, v in weekly_pairs(windows, pairs).as_dict().items()})
    out["pairs"] = pairs
    out["windows"] = sorted({w.timerange for windows in runs.values() for w in windows})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", type=Path, required=True,
                   help="a folder kept by quality.py --keep-tmp (window sub-folders)")
    args = p.parse_args(argv)
    runs, pairs = read_runs(kept_windows(args.source))
    out = weekly_figures(runs, pairs)
    print("trades: " + ", ".join(f"{run} {out[f'{run}.trades']:.0f}" for run in runs))
    print_weeks(out, {run: run for run in runs}, len(pairs))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    run_cli(main)
