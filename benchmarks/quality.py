"""Out-of-sample signal quality of `&-s_close` and freqtrade's trades: SelfLearningModel (its
ablations and a second seed) vs LightGBM vs a naive yardstick, on real backtests, with
intervals and a no-edge control.

    .venv/bin/python benchmarks/quality.py [--set usdt-5m|usdt-1h|btc-2018]
        [--windows dev|holdout|NAME ...] [--ablation ROW ...|--no-ablation] [--no-lightgbm]
        [--no-seed] [--jobs 2] [--out FILE.json] [--self-learning-config '{"epochs": 10}']
        [--backtest-period-days 1] [--include-timeframes 5m 15m 1h] [--cold]
        [--freqai '{"feature_parameters": {"DI_threshold": 0.9}}'] [--repeat 3]
    .venv/bin/python benchmarks/quality.py --datadir DIR --pairs ETH/BTC ... --stake BTC
        --timeframe 5m --timerange 20180117-20180130
    .venv/bin/python benchmarks/quality.py --scenario null|flip|fade|emerge|reverse|glide|volshock
        [--seed 42] [--scenario-timeframe 5m|1h]

Sets (benchmarks/quality_sets.py): `usdt-5m` (default) and `usdt-1h` walk forward over named
windows of the real 2025 Binance USDT candles of ../shared/data/binance_usdt, `dev` windows
first (where settings are chosen), `holdout` windows last (only reported); `btc-2018` is the
January 2018 BTC-quoted set, a second market never chosen on. Every window is one real
`freqtrade backtesting` per model of SelfLearningStrategy over all pairs (FreqAI's sliding
windows suited to the timeframe: 5m trains 5 days and retrains daily, 1h trains 30 days and
retrains weekly; features of that timeframe only, unless --include-timeframes names more: the 5m
overlay ships 5m, 15m and 1h, and ../shared/data has no 15m candles) from the timeframe's
shipped setup (5m: config.json + config.5m.json, H = 12; 1h: config.json, H = 4), fresh
identifier and user_data folder, against a replay exchange started here. `--scenario null`:
generated random-walk candles (self_learning_offline.market, RandomWalk): no model can have an
edge, so every IC must come out at 0 within its interval. `--scenario flip`: generated markets
whose edge flips sign after 3 of 6 backtest days; IC before and after the flip of the full
model, the model without per-candle learning and a frozen one, and the trades and trade profit
after it. `--scenario fade` (the edge vanishes), `emerge` (no edge, then the flip's mean
reversion appears), `reverse` (the flip mirrored: trend following, then mean reversion) and
`volshock` (the edge stays, volatility triples) change character at the same moment and are
scored the same way; `glide` turns the flip's edge gradually over the days before that moment
(mean reversion when the backtest starts, trend following at the moment), so its "before" is
the glide and its "after" starts at the end of the glide. With `--scenario-timeframe 1h` they
run on 1h candles with the 1h setup (config.json): 28 days, the change after 14, on a market
whose average spans 12 hours (quality_plan.CHANGE_LAYOUTS).

Scored rows: do_predict == 1 and a known target, the realized `&-s_close` computed from the
candles through the model's own formula. The headline (quality_scoring.py): per pair, the IC
over all scored rows of the reported windows, averaged over pairs, jackknifed over days for
a bias correction and a 95 % interval; paired differences (model - yardstick, SelfLearning -
LightGBM, each ablation row - full) the same way on the rows both scored. The yardstick
-(close / SMA20 - 1) is scored on the rows all models scored. Trades (quality_trades.py):
freqtrade's own result file of the same runs (every run, the ablation rows' under
`ablation.<row>.`), the realized mean of the entries, whether it trades every week on most
pairs (`weeks`: calendar weeks with >= 4 days in a window, `weeks_most_pairs`: those in which
more than half of the pairs opened a trade, `pairs_week.<Monday>`: the pairs that did; the
ablation rows the first two) and the equal-weight buy-and-hold of the pairs;
`paired_trades.<run>.diff`: full minus each other run, the profit of the trades closed each day
(% of the starting wallet) summed over the days, with a moving-block bootstrap and a jackknife
interval over days. Prints tables, then one JSON line (the last line).

Timings: `runs.<window>.<run>.wall_s` (and `cpu_s` with `--jobs 1`), `speed.<run>.<wall|cpu>_
ratio` (full over each run, summed over windows). Runs share the XLA cache of
$SELF_LEARNING_XLA_CACHE (warm from the second run of a setup on); `--cold` gives each run an
empty cache folder of its own, so every model pays its own compiles (the first-run cost).
`--repeat N` runs every window's backtests N times, round after round (each round in a folder
of its own): `runs.*` are then the medians over the rounds, `speed.<run>.<measure>_ratio` the
ratio of those medians and `speed.<run>.<measure>_ratio_low` / `_high` the lowest and highest
ratio of a single round; the figures other than timings come from the first round, and the
trades of every later round must equal the first's (BenchError otherwise: the rounds would
time different work).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import (
    Backtests,
    BenchError,
    RunResult,
    RunSpec,
    add_freqai_argument,
    read_trades,
    run_cli,
    setup_config,
)
from quality_plan import (
    CHANGE_LAYOUTS,
    CHANGES,
    Plan,
    Run,
    change_market,
    plan_runs,
    score_group,
)
from quality_sets import SETS, TIMEFRAMES, Timeframe, Window, add_set_arguments

from self_learning_offline.market import (
    RandomWalk,
    generate_candles,
    pair_filename,
    span,
    write_feather,
)

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {"UNITTEST/BTC": "1m candles only (the strategy trades 5m or 1h)"}
SCENARIO_PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
SCENARIO_END = datetime(2025, 1, 14, tzinfo=UTC)  # exclusive end of the generated candles
NULL_TEST_DAYS = 10
# The timings of a RunResult that speed_ratios compares (cpu_s is None unless --jobs 1).
MEASURES: dict[str, Callable[[RunResult], float | None]] = {
    "wall": lambda result: result.wall_s, "cpu": lambda result: result.cpu_s}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(p, "to run")
    p.add_argument("--datadir", type=Path, default=None, help="folder of <PAIR>-<tf>.feather")
    p.add_argument("--pairs", nargs="+", default=None, help="pairs of the data")
    p.add_argument("--stake", default=None, help="stake (quote) currency of the pairs")
    p.add_argument("--timeframe", default=None, choices=sorted(TIMEFRAMES))
    p.add_argument("--timerange", default=None, help="YYYYMMDD-YYYYMMDD: one window of its own")
    p.add_argument("--backtest-period-days", type=int, default=None, metavar="DAYS",
                   help="retrain every DAYS days (default: the timeframe's, 5m 1, 1h 7)")
    p.add_argument("--include-timeframes", nargs="+", default=None, metavar="TF",
                   help="FreqAI's include_timeframes (default: the timeframe alone; the "
                        "datadir needs candles of each)")
    p.add_argument("--self-learning-config", default="{}", metavar="JSON",
                   help="overrides for freqai.self_learning in every SelfLearning run")
    add_freqai_argument(p)
    p.add_argument("--scenario", choices=["null", *CHANGES], default=None,
                   help="null: random walks (no edge); flip: an edge that flips sign mid-way; "
                        "fade: an edge that vanishes mid-way; emerge: an edge that appears "
                        "mid-way; reverse: trend following that turns into mean reversion "
                        "mid-way; glide: mean reversion turning into trend following "
                        "gradually until mid-way (scored after from the glide's end); "
                        "volshock: an edge whose volatility triples mid-way")
    p.add_argument("--seed", type=int, default=42, help="generator seed of --scenario")
    p.add_argument("--scenario-timeframe", default="5m", choices=sorted(CHANGE_LAYOUTS),
                   help="candles of a change scenario (flip, fade, emerge, reverse, glide, "
                        "volshock) and the setup they run (5m: config.json + config.5m.json; "
                        "1h: config.json)")
    p.add_argument("--ablation", nargs="+", default=None, metavar="ROW",
                   help="ablation rows to run (default all)")
    p.add_argument("--no-ablation", action="store_true",
                   help="skip the ablation rows (a change scenario: no_online, frozen, "
                   "no_challenge)")
    p.add_argument("--no-lightgbm", action="store_true", help="skip the LightGBM baseline")
    p.add_argument("--no-seed", action="store_true", help="skip the second-seed run")
    p.add_argument("--jobs", type=int, default=1, help="backtests run at the same time")
    p.add_argument("--timeout", type=float, default=3600.0, help="per freqtrade run, s")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON to this file")
    p.add_argument("--keep-tmp", action="store_true", help="keep logs, models, predictions")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run every backtest N times, round after round: timings are the "
                        "medians over the rounds, with each ratio's lowest and highest round")
    p.add_argument("--cold", action="store_true",
                   help="each backtest compiles its XLA programs into an empty cache folder of "
                        "its own: the first-run cost of every model (default: the shared cache "
                        "of $SELF_LEARNING_XLA_CACHE, warm once a run of the same setup has run)")
    args = p.parse_args(argv)
    for pair in args.pairs or []:
        if pair in SKIPPED:
            p.error(f"{pair}: {SKIPPED[pair]}")
    try:
        args.sl = json.loads(args.self_learning_config)
    except json.JSONDecodeError as err:
        p.error(f"--self-learning-config is not JSON: {err}")
    if not isinstance(args.sl, dict):
        p.error("--self-learning-config must be a JSON object")
    if args.repeat < 1:
        p.error("--repeat must be 1 or more")
    if args.backtest_period_days is not None and args.backtest_period_days < 1:
        p.error("--backtest-period-days must be 1 or more")
    if args.scenario_timeframe != "5m" and args.scenario not in CHANGES:
        p.error(f"--scenario-timeframe {args.scenario_timeframe} needs --scenario "
                f"{'|'.join(CHANGES)}")
    if args.timerange is not None and not _is_timerange(args.timerange):
        p.error(f"--timerange must be YYYYMMDD-YYYYMMDD, got {args.timerange!r}")
    return args


def _is_timerange(text: str) -> bool:
    start, sep, stop = text.partition("-")
    return bool(sep) and all(len(d) == 8 and d.isdigit() for d in (start, stop))


def scenario_window(scenario: str, timeframe: str = "5m"
                    ) -> tuple[Window, datetime | None]:
    """The backtested window of a scenario (null: 5m) and the moment a CHANGES scenario
    changes character (None for null): the window ends a day (the targets' day) before
    SCENARIO_END."""
    if scenario in CHANGES:
        layout = CHANGE_LAYOUTS[timeframe]
        flip_at = SCENARIO_END - timedelta(days=layout.after_days + 1)  # + 1: targets' day
        begin = flip_at - timedelta(days=layout.test_days - layout.after_days)
        test_days = layout.test_days
    else:
        flip_at, test_days = None, NULL_TEST_DAYS
        begin = SCENARIO_END - timedelta(days=test_days + 1)
    timerange = f"{begin:%Y%m%d}-{begin + timedelta(days=test_days):%Y%m%d}"
    return Window(scenario, timerange, "holdout"), flip_at


def scenario_data(tmp: Path, pairs: list[str], scenario: str, seed: int,
                  timeframe: str = "5m") -> tuple[Path, Window, pd.Timestamp | None]:
    """Generated candles of a scenario (null: 5m); returns (datadir, the window, the moment a
    CHANGES scenario changes character or None). They cover the timeframe's training days and
    startup candles before the window and the targets' day after it."""
    datadir = tmp / f"{scenario}_data"
    window, flip_at = scenario_window(scenario, timeframe)
    if flip_at is not None:
        kind = change_market(scenario, flip_at, CHANGE_LAYOUTS[timeframe])
    else:
        kind = RandomWalk()
    begin = pd.Timestamp(window.timerange.split("-")[0], tz=UTC).to_pydatetime()
    lead = TIMEFRAMES[timeframe].lead()
    data_days = (SCENARIO_END - begin).days + int(np.ceil(lead / pd.Timedelta(days=1)))
    start, periods = span(SCENARIO_END, data_days, timeframe)
    for pair in pairs:
        frame = generate_candles(pair, timeframe, start, periods, seed, kind)
        write_feather(frame, datadir / pair_filename(pair, timeframe))
    return datadir, window, pd.Timestamp(flip_at) if flip_at else None


def make_plan(args: argparse.Namespace, tmp: Path) -> Plan:
    """What to run: data, pairs, stake, timeframe and windows, from the set, the explicit
    options or the scenario."""
    data = SETS[args.set]
    if args.scenario:
        pairs = args.pairs or SCENARIO_PAIRS
        tf = args.scenario_timeframe
        datadir, window, flip_at = scenario_data(tmp, pairs, args.scenario, args.seed, tf)
        return Plan(f"scenario-{args.scenario}" + ("" if tf == "5m" else f"-{tf}"), datadir,
                    pairs, args.stake or pairs[0].split("/")[1], TIMEFRAMES[tf], [window],
                    flip_at, CHANGE_LAYOUTS[tf].test_days if args.scenario in CHANGES else None)
    pairs = args.pairs or list(data.pairs)
    windows = ([Window("custom", args.timerange, "holdout")] if args.timerange
               else data.selected(args.windows))
    stake = args.stake or pairs[0].split("/")[1]
    return Plan(args.set if not (args.datadir or args.pairs or args.timerange) else "custom",
                args.datadir or data.datadir, pairs, stake,
                TIMEFRAMES[args.timeframe or data.timeframe], windows, None)


def common_freqai(args: argparse.Namespace, tf: Timeframe, horizon: int) -> dict:
    """The `freqai` overrides of every run of a window: the timeframe's FreqAI windows (the
    retrain period from --backtest-period-days when given), the horizon and include_timeframes
    (the timeframe alone unless --include-timeframes names them)."""
    return {"train_period_days": tf.train_days,
            "backtest_period_days": args.backtest_period_days or tf.backtest_days,
            "feature_parameters": {"include_timeframes": list(args.include_timeframes
                                                              or [tf.name]),
                                   "label_period_candles": horizon}}


def run_window(args: argparse.Namespace, plan: Plan, window: Window, specs: list[RunSpec],
               tmp: Path, horizon: int) -> dict[str, Run]:
    common = common_freqai(args, plan.timeframe, horizon)
    print(f"window {window.name} ({window.role}) {window.timerange}", flush=True)
    backtests = Backtests(tmp / window.name, plan.datadir, plan.pairs, window.timerange,
                          common, args.timeout, args.jobs, plan.stake, plan.timeframe.name,
                          args.cold)
    try:
        results = backtests.run_all(specs)
    except BaseException:
        print(f"tmp folder kept: {tmp}", file=sys.stderr)
        raise
    return {name: Run(window, r) for name, r in results.items()}


def run_times(runs: list[dict[str, Run]]) -> dict[str, float]:
    """`runs.<window>.<run>.wall_s` of every run, then `runs.<window>.<run>.cpu_s` of those that
    measured it, windows in the order they ran."""
    out = {f"runs.{r.window.name}.{name}.wall_s": r.result.wall_s
           for by_name in runs for name, r in by_name.items()}
    out.update({f"runs.{r.window.name}.{name}.cpu_s": r.result.cpu_s
                for by_name in runs for name, r in by_name.items() if r.result.cpu_s is not None})
    return out


def median_runs(rounds: list[list[dict[str, Run]]]) -> list[dict[str, Run]]:
    """The first round's runs, each with its wall_s and cpu_s the median over the rounds
    (cpu_s None unless every round measured it)."""
    def median(values: list[float | None]) -> float | None:
        return None if any(v is None for v in values) else float(np.median(values))

    return [{name: replace(run, result=replace(
        run.result,
        wall_s=median([r[i][name].result.wall_s for r in rounds]),
        cpu_s=median([r[i][name].result.cpu_s for r in rounds])))
        for name, run in by_name.items()} for i, by_name in enumerate(rounds[0])]


def ratio_spread(rounds: list[list[dict[str, Run]]]) -> dict[str, float]:
    """`speed.<run>.<measure>_ratio_low` / `_high`: the lowest and highest of the rounds'
    own speed_ratios."""
    each = [speed_ratios(runs) for runs in rounds]
    return {f"{key}_{end}": pick(r[key] for r in each)
            for key in each[0] if all(key in r for r in each)
            for end, pick in (("low", min), ("high", max))}


def same_trades(rounds: list[list[dict[str, Run]]]) -> None:
    """BenchError unless every later round's backtests traded exactly as the first round's
    (each of the first round's results read once)."""
    for i, first in enumerate(rounds[0]):
        for name, run in first.items():
            expected = read_trades(run.result.results_dir)
            for k, again in enumerate(rounds[1:], start=2):
                if read_trades(again[i][name].result.results_dir) != expected:
                    raise BenchError(
                        f"round {k}'s {run.window.name} {name} traded otherwise than round "
                        f"1's: the rounds did not repeat the same backtest")


def paired_seconds(runs: list[dict[str, Run]], other: str,
                   read: Callable[[RunResult], float | None]) -> list[tuple[float, float]]:
    """(full's, `other`'s) seconds of each window where both ran and measured them."""
    pairs = []
    for by_name in runs:
        if "full" in by_name and other in by_name:
            full, seconds = read(by_name["full"].result), read(by_name[other].result)
            if full is not None and seconds is not None:
                pairs.append((full, seconds))
    return pairs


def speed_ratios(runs: list[dict[str, Run]]) -> dict[str, float]:
    """`speed.<run>.<wall|cpu>_ratio`: full's seconds over each other run's, each summed over
    the windows (one dict of runs by name each) where both measured it."""
    out = {}
    others = sorted({name for by_name in runs for name in by_name} - {"full"})
    for measure, read in MEASURES.items():
        for other in others:
            pairs = paired_seconds(runs, other, read)
            if sum(o for _, o in pairs) > 0:
                out[f"speed.{other}.{measure}_ratio"] = (
                    sum(f for f, _ in pairs) / sum(o for _, o in pairs))
    return out


def figure_command(argv: list[str]) -> str:
    """The command line without the options that change no figure (--out, --keep-tmp, --jobs,
    --timeout): what the README prints beside the figures."""
    kept, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
        elif arg in ("--out", "--jobs", "--timeout"):
            skip = 1
        elif arg != "--keep-tmp" and not arg.startswith(("--out=", "--jobs=", "--timeout=")):
            kept.append(arg)
    return shlex.join(["benchmarks/quality.py", *kept])


def commit() -> str:
    """The checkout's commit, `-dirty` when files differ from it ("unknown" outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="quality-bench-"))
    plan = make_plan(args, tmp)
    horizon = args.label_period_candles or setup_config(plan.timeframe.name)["freqai"][
        "feature_parameters"]["label_period_candles"]
    truth = plan.truth(horizon)
    print(f"set {plan.name}: pairs {', '.join(plan.pairs)} ({plan.stake}, {plan.timeframe.name})"
          f"; windows {', '.join(f'{w.name} {w.timerange}' for w in plan.windows)}; "
          f"data {plan.datadir}", flush=True)
    specs = plan_runs(args, plan)
    rounds = [[run_window(args, plan, w, specs, tmp / f"round{k}" if k > 1 else tmp, horizon)
               for w in plan.windows] for k in range(1, args.repeat + 1)]
    same_trades(rounds)
    runs = median_runs(rounds)
    out = run_times(runs)
    out.update(speed_ratios(runs))
    if args.repeat > 1:
        out.update(ratio_spread(rounds))
    print("full's time over each run's, summed over the windows (" + ("cold: each run "
          "compiled its own XLA programs" if args.cold else "shared XLA cache")
          + (f"; medians of {args.repeat} rounds, [lowest, highest round]" if args.repeat > 1
             else "") + "): " + ", ".join(
        f"{k.split('.')[1]} {k.split('.')[2].removesuffix('_ratio')} {v:.2f}" + (
            f" [{out[k + '_low']:.2f}, {out[k + '_high']:.2f}]" if k + "_low" in out else "")
        for k, v in out.items() if k.startswith("speed.") and k.endswith("_ratio")),
        flush=True)
    for role, prefix in (("dev", "dev."), ("holdout", "")):
        group = [by_name for w, by_name in zip(plan.windows, runs, strict=True)
                 if w.role == role]
        if group:
            print(f"\n===== {role} windows: "
                  f"{', '.join(next(iter(g.values())).window.name for g in group)} =====")
            out.update({prefix + k: v for k, v in
                        score_group(plan, group, truth, horizon).items()})
    out["wall_s"] = time.monotonic() - began
    backtests = args.repeat * sum(len(r) for r in runs)
    print(f"\nwall time {out['wall_s']:.0f} s ({backtests} backtests, --jobs {args.jobs})")
    if args.keep_tmp:
        print(f"tmp folder kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    figures = {k: (None if isinstance(v, float) and not np.isfinite(v) else round(v, 6))
               for k, v in out.items()}
    meta = {"set": plan.name, "label_period_candles": horizon, "pairs": plan.pairs,
            "stake": plan.stake, "commit": commit(),
            "date": f"{datetime.now(UTC):%Y-%m-%d}",
            "timeframe": plan.timeframe.name, "xla_cache": "cold" if args.cold else "shared",
            "repeat": args.repeat,
            "command": figure_command(sys.argv[1:] if argv is None else argv),
            "windows": {w.name: [w.timerange, w.role] for w in plan.windows}}
    line = json.dumps({"meta": meta, **figures})
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    run_cli(main)
