"""Paired IC difference of two runs of benchmarks/quality.py kept with --keep-tmp: the same
rows scored by both (pair, date), the pooled per-pair IC of each and second - first, all
jackknifed over days (quality_scoring.py, the same statistic as quality.py's ablation rows).
For runs that differ in an option quality.py sets for every run (e.g. --backtest-period-days),
which its ablation rows cannot pair.

    .venv/bin/python benchmarks/paired_runs.py weekly=/tmp/quality-bench-abc:no_online \\
        daily=/tmp/quality-bench-def:no_online --set usdt-1h --windows dev

Each side is LABEL=FOLDER:RUN, FOLDER the kept tmp folder quality.py printed, RUN the run's
name in it (full, no_online, ...). `--age-days N`: the difference also by days since the
last retrain of a run retrained every N days (FreqAI's backtest windows start at the
timerange's start, every backtest_period_days), to tell freshness from a constant offset.
`--blend W ...`: also whether the second model earns a place beside the first, the IC of
(1 - W) first + W second (each over its per-pair standard deviation) and its difference to
first, e.g. `full=FOLDER:full lightgbm=FOLDER:lightgbm --blend 0.25 0.5`.
Trades too (quality_trades.paired_daily): each run's profit of the trades closed each day, in
% of its window's starting wallet, summed over the days, and second - first with a
moving-block bootstrap and a jackknife interval over days (`trades.diff`). `--trades-only`:
only that (e.g. two strategy_grid.py runs on the same predictions, which have no models of
their own). Prints a table, then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from backtest_runs import BenchError, load_predictions, run_cli, setup_config
from quality import make_plan
from quality_scoring import KEYS, blended, headline, panel, scored_rows
from quality_sets import Window, add_set_arguments, timerange_bounds
from quality_trades import paired_daily, read_window_trades, run_daily_profit

from self_learning.reports import evaluation as ev


def parse_side(text: str) -> tuple[str, Path, str]:
    """LABEL=FOLDER:RUN -> (label, folder, run)."""
    label, eq, rest = text.partition("=")
    folder, colon, run = rest.rpartition(":")
    if not (eq and colon and label and folder and run):
        raise argparse.ArgumentTypeError(f"expected LABEL=FOLDER:RUN, got {text!r}")
    return label, Path(folder), run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(p, "both runs ran")
    p.add_argument("--age-days", type=int, default=None, metavar="N",
                   help="also by days since a retrain every N days")
    p.add_argument("--blend", type=float, nargs="+", default=[], metavar="W",
                   help="also the IC of (1 - W) first + W second (each over its per-pair "
                        "standard deviation) and its difference to first")
    p.add_argument("--trades-only", action="store_true",
                   help="pair only the trades (runs without predictions of their own)")
    p.add_argument("first", type=parse_side, help="LABEL=FOLDER:RUN")
    p.add_argument("second", type=parse_side, help="LABEL=FOLDER:RUN")
    args = p.parse_args(argv)
    # make_plan's options that pick a set's data and windows, left at their defaults.
    for name in ("datadir", "pairs", "stake", "timeframe", "timerange", "scenario"):
        setattr(args, name, None)
    if args.first[0] == args.second[0]:
        p.error("the two sides need different labels")
    return args


def run_rows(folder: Path, run: str, windows: list[Window], pairs: list[str],
             truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The scored rows of one run over the windows (quality.py's layout:
    FOLDER/<window>/user_data_<run>/models/quality-<run>); `start` = the window's first day."""
    parts = []
    for window in windows:
        models = folder / window.name / f"user_data_{run}" / "models" / f"quality-{run}"
        if not models.is_dir():
            raise BenchError(f"no kept run {run!r} of window {window.name} in {folder}")
        rows = scored_rows(load_predictions(models, pairs), truth)
        parts.append(rows.assign(start=timerange_bounds(window.timerange)[0]))
    return pd.concat(parts, ignore_index=True)


def run_days(folder: Path, run: str, windows: list[Window]) -> pd.Series:
    """The run's daily_profit over the windows (FOLDER/<window>/results_<run>)."""
    kept = []
    for window in windows:
        results = folder / window.name / f"results_{run}"
        if not results.is_dir():
            raise BenchError(f"no kept trades of run {run!r} of window {window.name}: "
                             f"{results} missing")
        kept.append(read_window_trades(results, window.timerange))
    return run_daily_profit(kept)


def second_minus_first_trades(days: dict[str, pd.Series]) -> dict[str, float]:
    """`trades.<label>.profit_pct` (the days summed) of each side and `trades.diff` (+
    intervals, quality_trades.paired_daily): second - first. (quality_trades.paired_trades is
    the other direction over many runs: a base run minus each other.)"""
    (a, da), (b, db) = days.items()
    return {f"trades.{a}.profit_pct": float(da.sum()), f"trades.{b}.profit_pct": float(db.sum()),
            **paired_daily(db, da).as_dict("trades.diff")}


def paired(rows: dict[str, pd.DataFrame], age_days: int | None = None,
           blends: tuple[float, ...] = ()) -> dict[str, float]:
    """On the rows both scored: each side's headline IC, its difference to the yardstick
    (`<label>.vs_naive`), the yardstick's IC (`naive.ic`) and `diff` = second - first, with
    their jackknife intervals; `rows` counts the shared rows, `only_<label>` the others.
    `blends` W: also `blend<W>.ic` and `blend<W>.diff` (+ intervals), the IC of
    quality_scoring.blended(first, second, W) and its difference to first, on the same rows.
    `age_days` N: also `age<d>.diff` (+ interval, `.rows`), the difference on the rows d days
    after a retrain every N days from the window's start (`start`)."""
    (a, ra), (b, rb) = rows.items()
    both = panel({a: ra, b: rb})
    mixes = {weight: f"blend{weight:g}" for weight in blends}  # weight -> its column and key
    mixed = both.assign(**{name: blended(both, a, b, w) for w, name in mixes.items()})
    # Every column's IC on all days and with each day left out, once for all the figures.
    left_out = ev.days_left_out(mixed, [a, b, "naive", *mixes.values()])
    out: dict[str, float] = {}
    for label in (a, b):
        out.update(headline(both.rename(columns={label: "pred"}), "pred", label,
                            left_out.ic(label)))
        out.update(left_out.difference(label, "naive").as_dict(f"{label}.vs_naive"))
    out.update(left_out.ic("naive").as_dict("naive.ic"))
    out.update(left_out.difference(b, a).as_dict("diff"))
    out["rows"] = float(len(both))
    for name in mixes.values():
        out.update(left_out.ic(name).as_dict(f"{name}.ic"))
        out.update(left_out.difference(name, a).as_dict(f"{name}.diff"))
    out.update({f"only_{k}": float(len(r) - len(both)) for k, r in rows.items()})
    if age_days:
        start = both[KEYS].merge(ra[[*KEYS, "start"]], on=KEYS, how="left")["start"]
        age = ((both["date"] - start).dt.days % age_days).to_numpy()
        for d in range(age_days):
            sub = both[age == d]
            out.update(ev.paired_jackknife(sub, b, a).as_dict(f"age{d}.diff"))
            out[f"age{d}.rows"] = float(len(sub))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args, Path("/nonexistent"))
    horizon = args.label_period_candles or setup_config(plan.timeframe.name)["freqai"][
        "feature_parameters"]["label_period_candles"]
    truth = plan.truth(horizon)
    windows = [w.name for w in plan.windows]
    sides = (args.first, args.second)
    a, b = (label for label, _, _ in sides)
    out: dict[str, float] = {}
    if not args.trades_only:
        out = paired({label: run_rows(folder, run, plan.windows, plan.pairs, truth)
                      for label, folder, run in sides}, args.age_days, tuple(args.blend))
        print(f"{plan.name} {', '.join(windows)}: {out['rows']:.0f} shared rows")
        for label in (a, b):
            print(f"  {label:>12} IC {out[f'{label}.ic']:+.4f} "
                  f"[{out[f'{label}.ic_ci_low']:+.4f}, {out[f'{label}.ic_ci_high']:+.4f}], "
                  f"minus yardstick {out[f'{label}.vs_naive']:+.4f} "
                  f"[{out[f'{label}.vs_naive_ci_low']:+.4f}, "
                  f"{out[f'{label}.vs_naive_ci_high']:+.4f}]")
        print(f"  {'yardstick':>12} IC {out['naive.ic']:+.4f} "
              f"[{out['naive.ic_ci_low']:+.4f}, {out['naive.ic_ci_high']:+.4f}]")
        print(f"  {b} - {a}: {out['diff']:+.4f} [{out['diff_ci_low']:+.4f}, "
              f"{out['diff_ci_high']:+.4f}]")
        for w in args.blend:
            k = f"blend{w:g}"
            print(f"  blend {1 - w:g} {a} + {w:g} {b}: IC {out[f'{k}.ic']:+.4f} "
                  f"[{out[f'{k}.ic_ci_low']:+.4f}, {out[f'{k}.ic_ci_high']:+.4f}], minus {a} "
                  f"{out[f'{k}.diff']:+.4f} [{out[f'{k}.diff_ci_low']:+.4f}, "
                  f"{out[f'{k}.diff_ci_high']:+.4f}]")
        for d in range(args.age_days or 0):
            print(f"    {d} day(s) after a retrain ({out[f'age{d}.rows']:.0f} rows): "
                  f"{out[f'age{d}.diff']:+.4f} [{out[f'age{d}.diff_ci_low']:+.4f}, "
                  f"{out[f'age{d}.diff_ci_high']:+.4f}]")
    out.update(second_minus_first_trades({label: run_days(folder, run, plan.windows)
                                          for label, folder, run in sides}))
    print(f"{plan.name} {', '.join(windows)} trades: profit of the trades closed each day, % of "
          f"the starting wallet, summed over {out['trades.diff_days']:.0f} days")
    for label in (a, b):
        print(f"  {label:>12} {out[f'trades.{label}.profit_pct']:+.2f} %")
    print(f"  {b} - {a}: {out['trades.diff']:+.2f} points, bootstrap "
          f"[{out['trades.diff_ci_low']:+.2f}, {out['trades.diff_ci_high']:+.2f}] (blocks of "
          f"{out['trades.diff_block_days']:.0f} days), jackknife "
          f"[{out['trades.diff_jk_ci_low']:+.2f}, {out['trades.diff_jk_ci_high']:+.2f}]")
    print(json.dumps({"first": a, "second": b, "windows": windows,
                      **{k: round(v, 6) for k, v in out.items()}}))
    return 0


if __name__ == "__main__":
    run_cli(main)
