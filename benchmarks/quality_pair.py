"""Paired difference of two separate benchmarks/quality.py runs (each kept with --keep-tmp):
the same headline statistic as quality.py (per pair, the IC over all scored rows, averaged
over pairs, jackknifed over days), on the rows both runs scored.

    .venv/bin/python benchmarks/quality_pair.py --set usdt-5m --windows jan feb \
        --base /tmp/quality-bench-AAA --candidate /tmp/quality-bench-BBB [--run full]

quality.py pairs the models of one run; settings that apply to every SelfLearning run of it
(--self-learning-config) need two runs. Each kept folder holds `<window>/user_data_<run>/models/
quality-<run>/backtesting_predictions`; both runs are scored against the realized targets
and the yardstick -(close/SMA20-1) from the set's candles (quality_plan.Plan.truth). Prints
one JSON line: `base.ic`, `candidate.ic` (each with _ci_low/_ci_high/_se, on the common rows),
`diff` (candidate - base, paired), `base.vs_naive`, `candidate.vs_naive`, `rows`, `days`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from backtest_runs import load_predictions, run_cli, setup_config
from quality_scoring import panel, scored_rows
from quality_sets import SETS, TIMEFRAMES

from self_learning.reports import evaluation as ev

BASE, CANDIDATE = "base", "candidate"


def paired(base: pd.DataFrame, candidate: pd.DataFrame) -> dict[str, float]:
    """Scored rows of two runs (quality_scoring.scored_rows) -> their ICs, the paired
    difference candidate - base and each one's difference to the yardstick, all on the rows
    both scored, jackknifed over the same days."""
    rows = panel({BASE: base, CANDIDATE: candidate})
    out: dict[str, float] = {"rows": float(len(rows)), "days": float(rows["day"].nunique())}
    for name in (BASE, CANDIDATE):
        out.update(ev.day_jackknife(rows, name).as_dict(f"{name}.ic"))
        out.update(ev.paired_jackknife(rows, name, "naive").as_dict(f"{name}.vs_naive"))
    out.update(ev.day_jackknife(rows, "naive").as_dict("naive.ic"))
    out.update(ev.paired_jackknife(rows, CANDIDATE, BASE).as_dict("diff"))
    return out


def kept_rows(folder: Path, run: str, windows: list[str], pairs: list[str],
              truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Scored rows of run `run` over `windows` of a kept quality.py folder."""
    return pd.concat([scored_rows(load_predictions(
        folder / w / f"user_data_{run}" / "models" / f"quality-{run}", pairs), truth)
        for w in windows], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", default="usdt-5m", choices=sorted(SETS))
    p.add_argument("--windows", nargs="+", required=True, metavar="NAME")
    p.add_argument("--base", type=Path, required=True, help="kept quality.py folder")
    p.add_argument("--candidate", type=Path, required=True, help="kept quality.py folder")
    p.add_argument("--run", default="full", help="run name in both folders (full, no_online)")
    p.add_argument("--base-run", default=None, help="run name in --base (default --run)")
    args = p.parse_args(argv)
    from quality_plan import Plan  # the truth (targets, yardstick) quality.py scores with

    data = SETS[args.set]
    windows = data.selected(args.windows)
    tf = TIMEFRAMES[data.timeframe]
    plan = Plan(data.name, data.datadir, list(data.pairs), data.stake, tf, windows, None)
    horizon = setup_config(tf.name)["freqai"]["feature_parameters"]["label_period_candles"]
    truth = plan.truth(horizon)
    names = [w.name for w in windows]
    base = kept_rows(args.base, args.base_run or args.run, names, plan.pairs, truth)
    candidate = kept_rows(args.candidate, args.run, names, plan.pairs, truth)
    out = paired(base, candidate)
    for key in ("base.ic", "candidate.ic", "naive.ic", "base.vs_naive", "candidate.vs_naive",
                "diff"):
        print(f"{key:<20}{out[key]:+.4f} [{out[key + '_ci_low']:+.4f}, "
              f"{out[key + '_ci_high']:+.4f}]")
    print(f"{int(out['rows'])} rows, {int(out['days'])} days")
    print(json.dumps({k: round(v, 6) for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    run_cli(main)
