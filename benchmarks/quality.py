"""Out-of-sample signal quality of `&-s_close` and freqtrade's trade figures: SelfLearningModel
(its ablations and a second seed) vs LightGBM vs a naive yardstick, on real backtests.

    .venv/bin/python benchmarks/quality.py [--datadir DIR --pairs ETH/BTC ...]
        [--timerange 20180117-20180130] [--self-learning-config '{"epochs": 10}']
        [--no-ablation] [--no-lightgbm] [--no-seed] [--jobs 2] [--keep-tmp]
    .venv/bin/python benchmarks/quality.py --scenario flip [--seed 42]

Every model is one real `freqtrade backtesting` of SelfLearningStrategy over all pairs
(FreqAI's sliding windows: train_period_days 5, backtest_period_days 1, 5m features only),
with a fresh identifier and user_data folder, against a replay exchange started here. Scored
rows: do_predict == 1 and a known target, the realized `&-s_close` computed from the candles
through the model's own formula (self_learning.features.observed_targets). Metrics are those
of self_learning.evaluation: per-window (day) Spearman IC averaged over pairs, its mean over
windows +- standard error, hit-rate; the yardstick -(close / SMA20 - 1) is scored on the rows
the models scored. Trades: freqtrade's own result file of the same run (default strategy
parameters). LightGBM is freqtrade's LightGBMRegressorMultiTarget (the strategy sets three
labels; the single-target regressor fails every window).

Ablation: one SelfLearning backtest per row, its per-window IC differences to `full` (the
defaults; the default model is the linear wide head only, so `full` is `linear_only`).
`--scenario flip`: generated markets (self_learning_offline.market, EdgeFlip) whose edge flips sign
after 3 of 6 backtest days; IC before and after the flip of the full model, the model without
per-candle learning, and a frozen one (one FreqAI window over all 6 days, never updated).
Prints tables, then one JSON line (the last line). Settings are never chosen on the default
pairs' results (README).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import (
    Backtests,
    BenchError,
    RunSpec,
    load_predictions,
    read_trades,
    run_cli,
    train_seconds,
)
from quality_scoring import score_ablation, score_flip, score_models, scored_rows
from quality_tables import print_ablation, print_flip, print_tables

from self_learning import evaluation as ev
from self_learning_offline.market import (
    EdgeFlip,
    generate_candles,
    pair_filename,
    span,
    write_feather,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "binance"
CONFIG = ROOT / "config.json"
PAIRS = ["ADA/BTC", "DASH/BTC", "ETC/BTC", "LTC/BTC", "XLM/BTC", "XMR/BTC"]
SKIPPED = {"UNITTEST/BTC": "1m candles only (the strategy trades 5m)"}
TIMEFRAME, CANDLE = "5m", pd.Timedelta(minutes=5)
TRAIN_DAYS, BACKTEST_DAYS = 5, 1
DEFAULT_TIMERANGE = "20180117-20180130"
SL, LGBM = "SelfLearningModel", "LightGBMRegressorMultiTarget"
ABLATION = {  # row -> freqai.self_learning overrides on top of the defaults
    "full": {}, "no_online": {"prequential_backtest": False},
    "per_pair": {"shared_across_pairs": False}, "no_latent": {"use_latent": False},
    "no_replay": {"replay_batch": 0}, "quality_weighting": {"quality_weighting": True},
    "deep_head": {"deep_head": True}, "no_drift_response": {"drift_response": False},
    "no_challenge": {"drift_challenge": False},
}
FLIP_PAIRS = ["ETH/BTC", "LTC/BTC", "ADA/BTC", "XRP/BTC"]
FLIP_END = datetime(2025, 1, 14, tzinfo=UTC)  # exclusive end of the generated candles
FLIP_DATA_DAYS, FLIP_TEST_DAYS, FLIP_AFTER_DAYS = 13, 6, 3
STARTUP_CANDLES = 250  # SelfLearningStrategy.startup_candle_count


# -- scoring (pure) ---------------------------------------------------------------------------


def load_truth(datadir: Path, pair: str, horizon: int) -> pd.DataFrame:
    """date, target (the realized &-s_close) and naive of one pair's 5m candles."""
    path = datadir / pair_filename(pair, TIMEFRAME)
    if not path.is_file():
        raise BenchError(f"candle file missing: {path} (see ../shared/data/README.md)")
    candles = pd.read_feather(path)
    truth = ev.realized_targets(candles, horizon)[["date", "&-s_close"]]
    truth = truth.rename(columns={"&-s_close": "target"})
    truth["naive"] = ev.naive_signal(candles["close"].to_numpy())
    truth["date"] = pd.to_datetime(truth["date"], utc=True).astype("datetime64[ns, UTC]")
    return truth


def check_coverage(timerange: str, truth: dict[str, pd.DataFrame]) -> None:
    """Fail unless every pair has candles from start - train days - startup candles on."""
    start, _, stop = timerange.partition("-")
    begin, end = pd.Timestamp(start, tz="UTC"), pd.Timestamp(stop, tz="UTC")
    lead = pd.Timedelta(days=TRAIN_DAYS) + STARTUP_CANDLES * CANDLE
    for pair, frame in truth.items():
        first, last = frame["date"].iloc[0], frame["date"].iloc[-1]
        if first > begin - lead:
            raise BenchError(f"{pair}: candles start {first}, but --timerange {timerange} "
                             f"needs them from {begin - lead} ({TRAIN_DAYS} training days + "
                             f"{STARTUP_CANDLES} startup candles); start it "
                             f"{(first + lead).ceil('D'):%Y%m%d} or later")
        if last < end:
            raise BenchError(f"{pair}: candles end {last}, before {end}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", nargs="+", default=None, help="pairs of the data (X/BTC)")
    p.add_argument("--datadir", type=Path, default=DATA, help="folder of <PAIR>-5m.feather")
    p.add_argument("--timerange", default=DEFAULT_TIMERANGE, help="YYYYMMDD-YYYYMMDD")
    p.add_argument("--self-learning-config", default="{}", metavar="JSON",
                   help="overrides for freqai.self_learning in every SelfLearning run")
    p.add_argument("--scenario", choices=["flip"], default=None,
                   help="flip: generated markets whose edge flips sign mid-way")
    p.add_argument("--seed", type=int, default=42, help="generator seed of --scenario flip")
    p.add_argument("--no-ablation", action="store_true", help="skip the ablation rows")
    p.add_argument("--no-lightgbm", action="store_true", help="skip the LightGBM baseline")
    p.add_argument("--no-seed", action="store_true", help="skip the second-seed run")
    p.add_argument("--jobs", type=int, default=1, help="backtests run at the same time")
    p.add_argument("--timeout", type=float, default=3600.0, help="per freqtrade run, s")
    p.add_argument("--keep-tmp", action="store_true", help="keep logs, models, predictions")
    args = p.parse_args(argv)
    args.pairs = args.pairs or (FLIP_PAIRS if args.scenario else PAIRS)
    for pair in args.pairs:
        if pair in SKIPPED:
            p.error(f"{pair}: {SKIPPED[pair]}")
    try:
        args.sl = json.loads(args.self_learning_config)
    except json.JSONDecodeError as err:
        p.error(f"--self-learning-config is not JSON: {err}")
    if not isinstance(args.sl, dict):
        p.error("--self-learning-config must be a JSON object")
    if not re.fullmatch(r"\d{8}-\d{8}", args.timerange):
        p.error(f"--timerange must be YYYYMMDD-YYYYMMDD, got {args.timerange!r}")
    return args


def run_specs(args: argparse.Namespace) -> list[RunSpec]:
    sl = lambda name, extra=None, **freqai: RunSpec(  # noqa: E731
        name, SL, {**freqai, "self_learning": {**args.sl, **(extra or {})}})
    if args.scenario == "flip":
        return [sl("full"), sl("no_online", ABLATION["no_online"]),
                sl("frozen", {"prequential_backtest": False},
                   backtest_period_days=FLIP_TEST_DAYS),
                sl("no_challenge", ABLATION["no_challenge"])]
    specs = [sl("full")]
    if not args.no_lightgbm:
        specs.append(RunSpec("lightgbm", LGBM, {"model_training_parameters":
                                                {"n_jobs": 1, "verbosity": -1}}))
    if not args.no_seed:
        specs.append(sl("seed", {"seed": int(args.sl.get("seed", 42)) + 1}))
    if not args.no_ablation:
        specs += [sl(name, extra) for name, extra in ABLATION.items() if name != "full"]
    return specs


def flip_data(tmp: Path, pairs: list[str], seed: int) -> tuple[Path, str, pd.Timestamp]:
    """Generated 5m candles of the flip scenario; returns (datadir, timerange, flip time)."""
    datadir = tmp / "flip_data"
    flip_at = FLIP_END - timedelta(days=FLIP_AFTER_DAYS + 1)  # + 1: the day the targets need
    start, periods = span(FLIP_END, FLIP_DATA_DAYS, TIMEFRAME)
    for pair in pairs:
        frame = generate_candles(pair, TIMEFRAME, start, periods, seed, EdgeFlip(flip_at))
        write_feather(frame, datadir / pair_filename(pair, TIMEFRAME))
    begin = flip_at - timedelta(days=FLIP_TEST_DAYS - FLIP_AFTER_DAYS)
    timerange = f"{begin:%Y%m%d}-{begin + timedelta(days=FLIP_TEST_DAYS):%Y%m%d}"
    return datadir, timerange, pd.Timestamp(flip_at)


def report_flip(runs: dict, rows: dict, flip_at: pd.Timestamp) -> dict[str, float]:
    out = score_flip(rows, flip_at)
    for name, run in runs.items():
        out.update({f"trades.{name}.{k}": v for k, v in read_trades(run.results_dir).items()})
    print_flip(out, list(rows), flip_at)
    return out


def report(runs: dict, rows: dict, pairs: list[str]) -> dict[str, float]:
    """Scores, trades, seed agreement and ablation of a run on real pairs; prints tables."""
    models = {"self_learning": "full", "lightgbm": "lightgbm"}
    models = {m: name for m, name in models.items() if name in runs}
    out = score_models({m: rows[name] for m, name in models.items()}, pairs)
    for model, name in models.items():
        times = sum(train_seconds(runs[name].log).values(), [])
        out[f"mean.{model}.train_s"] = float(np.median(times)) if times else np.nan
        out.update({f"trades.{model}.{k}": v
                    for k, v in read_trades(runs[name].results_dir).items()})
    if "seed" in rows:
        out["mean.self_learning.seed_agreement"] = ev.rank_agreement(rows["full"], rows["seed"])
    ablation = {n: rows[n] for n in ABLATION if n in rows}
    if len(ablation) > 1:
        out.update(score_ablation(ablation))
        for name in ablation:
            out.update({f"ablation.{name}.{k}": v
                        for k, v in read_trades(runs[name].results_dir).items()})
        print_ablation(out, list(ABLATION))
    print_tables(out, pairs, list(models))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="quality-bench-"))
    datadir, timerange, flip_at = args.datadir, args.timerange, None
    if args.scenario == "flip":
        datadir, timerange, flip_at = flip_data(tmp, args.pairs, args.seed)
    horizon = json.loads(CONFIG.read_text())["freqai"]["feature_parameters"][
        "label_period_candles"]
    truth = {p: load_truth(datadir, p, horizon) for p in args.pairs}
    check_coverage(timerange, truth)
    print(f"pairs {', '.join(args.pairs)}; timerange {timerange}; data {datadir}", flush=True)
    common = {"train_period_days": TRAIN_DAYS, "backtest_period_days": BACKTEST_DAYS,
              "feature_parameters": {"include_timeframes": [TIMEFRAME]}}
    try:
        runs = Backtests(tmp, datadir, args.pairs, timerange, common, args.timeout,
                         args.jobs).run_all(run_specs(args))
    except BaseException:
        print(f"tmp folder kept: {tmp}", file=sys.stderr)
        raise
    rows = {n: scored_rows(load_predictions(r.models_dir, args.pairs), truth)
            for n, r in runs.items()}
    out = {f"runs.{n}.wall_s": r.wall_s for n, r in runs.items()}
    out.update(report_flip(runs, rows, flip_at) if flip_at is not None
               else report(runs, rows, args.pairs))
    out["wall_s"] = time.monotonic() - began
    print(f"\nwall time {out['wall_s']:.0f} s ({len(runs)} backtests, --jobs {args.jobs})")
    if args.keep_tmp:
        print(f"tmp folder kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({k: (None if isinstance(v, float) and not np.isfinite(v) else round(v, 6))
                      for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    run_cli(main)
