"""Out-of-sample signal quality of `&-s_close`: SelfLearningModel vs LightGBM vs a naive yardstick.

    cd /work/main && .venv/bin/python benchmarks/quality.py [--pairs ETC/BTC ...]
        [--timerange 20180117-20180130] [--self-learning-config '{"epochs": 10}'] [--keep-tmp]

Runs ONE real `freqtrade backtesting` per model over all pairs (FreqAI's sliding windows:
train_period_days 5, backtest_period_days 1, features of SelfLearningStrategy on 5m only),
each with a fresh identifier and user_data folder under a tmp dir, against a replay exchange
started here on a free port. Then, per pair, pooled over all windows, on rows with
do_predict == 1 and a known target:

* IC: Spearman rank correlation of `&-s_close` with the realized target
  mean(close[t+1..t+H]) / close[t] - 1, computed here from the feather candles (gaps filled
  with the previous close, as freqtrade does);
* hit-rate: share of rows where sign(prediction) == sign(target) (target == 0 rows skipped);
* the yardstick -(close / SMA20(close) - 1) scored on the rows both models scored;
* train time: median of FreqAI's "Done training PAIR (X secs)" lines.

The LightGBM model is freqtrade's LightGBMRegressorMultiTarget: the strategy sets three labels
and the single-target LightGBMRegressor raises "DataFrame for label cannot have multiple
columns" in every window (FreqAI then logs the exception and writes null predictions).
UNITTEST_BTC-1m is skipped (1m only). Prints tables, then one JSON line (the last line).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "binance"
CONFIG = ROOT / "config.json"
OVERLAY = ROOT / "config.replay.json"
STRATEGY_FILE = ROOT / "user_data" / "strategies" / "SelfLearningStrategy.py"
PAIRS = ["ADA/BTC", "DASH/BTC", "ETC/BTC", "LTC/BTC", "XLM/BTC", "XMR/BTC"]
SKIPPED = {"UNITTEST/BTC": "1m candles only (the strategy trades 5m)"}
TIMEFRAME, CANDLE = "5m", pd.Timedelta(minutes=5)
TRAIN_DAYS, BACKTEST_DAYS = 5, 1
DEFAULT_TIMERANGE = "20180117-20180130"
MODELS = {"self_learning": "SelfLearningModel", "lightgbm": "LightGBMRegressorMultiTarget"}
SMA_PERIOD = 20
REPLAY_ADDRESS = "127.0.0.1:8701"
DONE_TRAINING = re.compile(r"Done training (\S+) \(([\d.]+) secs\)")
TRAIN_FAILED = re.compile(r"Training \S+ raised exception .*")
PRED_FILE = re.compile(r"cb_(\w+)_(\d+)_prediction\.feather$")
LOG_TAIL = 60


class BenchError(RuntimeError):
    """A missing input or a failed run; the message says which and what to look at."""


# -- pure metrics -----------------------------------------------------------------------------


def fill_gaps(candles: pd.DataFrame, step: pd.Timedelta = CANDLE) -> pd.DataFrame:
    """Candles on a complete time grid, missing closes carried forward (freqtrade's fill)."""
    missing = [c for c in ("date", "close") if c not in candles.columns]
    if missing:
        raise BenchError(f"candles lack column(s) {missing}; have {list(candles.columns)}")
    frame = candles.set_index("date").sort_index()
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=step)
    return frame.reindex(grid)[["close"]].ffill().rename_axis("date").reset_index()


def realized_target(close: np.ndarray, horizon: int) -> np.ndarray:
    """mean(close[t+1..t+H]) / close[t] - 1; NaN for the last H rows (future unknown)."""
    close = np.asarray(close, dtype=np.float64)
    sums = np.concatenate([[0.0], np.cumsum(close)])
    out = np.full(close.shape, np.nan)
    n = len(close) - horizon
    if n > 0:
        out[:n] = (sums[horizon + 1:horizon + 1 + n] - sums[1:1 + n]) / horizon / close[:n] - 1
    return out


def naive_signal(close: np.ndarray, period: int = SMA_PERIOD) -> np.ndarray:
    """-(close / SMA(close, period) - 1): bet on mean reversion. NaN until the SMA exists."""
    sma = pd.Series(np.asarray(close, dtype=np.float64)).rolling(period).mean().to_numpy()
    return -(close / sma - 1)


def spearman_ic(pred: np.ndarray, target: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if < 3 rows or one is constant."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if len(pred) < 3:
        return float("nan")
    a, b = pd.Series(pred).rank().to_numpy(), pd.Series(target).rank().to_numpy()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def hit_rate(pred: np.ndarray, target: np.ndarray) -> float:
    """Share of rows with target != 0 where sign(pred) == sign(target); pred 0 is a miss."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    keep = target != 0
    if not keep.any():
        return float("nan")
    return float(np.mean(np.sign(pred[keep]) == np.sign(target[keep])))


def train_seconds(log_text: str) -> dict[str, list[float]]:
    """Pair -> the X of each "Done training PAIR (X secs)" log line, in order."""
    out: dict[str, list[float]] = {}
    for pair, secs in DONE_TRAINING.findall(log_text):
        out.setdefault(pair, []).append(float(secs))
    return out


def score(rows: pd.DataFrame, column: str) -> dict[str, float]:
    return {"ic": spearman_ic(rows[column], rows["target"]),
            "hit_rate": hit_rate(rows[column], rows["target"]), "rows": float(len(rows))}


# -- data and runs (edges) --------------------------------------------------------------------


def load_truth(pair: str, horizon: int) -> pd.DataFrame:
    """date, close, target, naive for one pair from its 5m feather file."""
    path = DATA / f"{pair.replace('/', '_')}-{TIMEFRAME}.feather"
    if not path.is_file():
        raise BenchError(f"candle file missing: {path} (see ../shared/data/README.md)")
    frame = fill_gaps(pd.read_feather(path))
    frame["target"] = realized_target(frame["close"].to_numpy(), horizon)
    frame["naive"] = naive_signal(frame["close"].to_numpy())
    return frame


def strategy_startup_candles() -> int:
    """startup_candle_count of SelfLearningStrategy (imported, so it cannot drift)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("SelfLearningStrategy", STRATEGY_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return int(module.SelfLearningStrategy.startup_candle_count)


def check_coverage(timerange: str, truth: dict[str, pd.DataFrame], startup: int,
                   periods: list[int]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Fail unless every pair has candles from start - train days - startup candles on."""
    start, _, stop = timerange.partition("-")
    begin, end = pd.Timestamp(start, tz="UTC"), pd.Timestamp(stop, tz="UTC")
    lead = pd.Timedelta(days=TRAIN_DAYS) + max(startup, *periods) * CANDLE
    for pair, frame in truth.items():
        first = frame["date"].iloc[0]
        if first > begin - lead:
            earliest = (first + lead).ceil("D").strftime("%Y%m%d")
            raise BenchError(
                f"{pair}: candles start {first}, but --timerange {timerange} needs them from "
                f"{begin - lead} ({TRAIN_DAYS} training days + {startup} startup candles); "
                f"use a start of {earliest} or later")
        if frame["date"].iloc[-1] < end:
            raise BenchError(f"{pair}: candles end {frame['date'].iloc[-1]}, before {end}")
    return begin, end


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_replay(port: int, log_path: Path, timeout: float = 30.0) -> subprocess.Popen:
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "self_learning.replay_exchange", "--datadir", str(DATA),
             "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"replay exchange exited with {proc.returncode}:\n"
                             f"{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/ping", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_process(proc)
    raise BenchError(f"replay exchange silent for {timeout:.0f} s:\n{log_path.read_text()}")


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_configs(tmp: Path, port: int, pairs: list[str], sl_overrides: dict) -> Path:
    overlay = tmp / "config.replay.json"
    overlay.write_text(OVERLAY.read_text().replace(REPLAY_ADDRESS, f"127.0.0.1:{port}"))
    override = {
        "stake_currency": "BTC", "stake_amount": 0.01, "dry_run_wallet": 1,
        "exchange": {"pair_whitelist": pairs},
        "freqai": {"train_period_days": TRAIN_DAYS, "backtest_period_days": BACKTEST_DAYS,
                   "feature_parameters": {"include_timeframes": [TIMEFRAME]},
                   "model_training_parameters": {"n_jobs": 1, "verbosity": -1},
                   "self_learning": sl_overrides},
    }
    (tmp / "config.bench.json").write_text(json.dumps(override, indent=2))
    return overlay


def run_backtest(tmp: Path, model: str, freqai_model: str, timerange: str,
                 timeout: float) -> tuple[Path, str]:
    """One `freqtrade backtesting` run; returns (models folder, log text)."""
    userdir, identifier = tmp / f"user_data_{model}", f"quality-{model}-{os.getpid()}"
    userdir.mkdir()
    ident = tmp / f"identifier_{model}.json"
    ident.write_text(json.dumps({"freqai": {"identifier": identifier}}))
    cmd = [sys.executable, "-m", "freqtrade", "backtesting", "-c", str(CONFIG),
           "-c", str(tmp / "config.replay.json"), "-c", str(tmp / "config.bench.json"),
           "-c", str(ident), "--userdir", str(userdir), "--datadir", str(DATA),
           "--timerange", timerange, "--strategy", "SelfLearningStrategy",
           "--strategy-path", str(STRATEGY_FILE.parent), "--freqaimodel", freqai_model,
           "--freqaimodel-path", str(ROOT / "freqai_models"), "--cache", "none"]
    log_path = tmp / f"{model}.log"
    env = {**os.environ, "COLUMNS": "200", "TF_CPP_MIN_LOG_LEVEL": "2"}
    with log_path.open("w") as log:
        try:
            rc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = f"timeout after {timeout:.0f} s"
    text = log_path.read_text()
    tail = "\n".join(text.splitlines()[-LOG_TAIL:])
    if rc != 0:
        raise BenchError(f"freqtrade backtesting ({freqai_model}) failed ({rc}); "
                         f"log {log_path}, last lines:\n{tail}")
    failures = TRAIN_FAILED.findall(text)
    if failures:
        raise BenchError(f"{freqai_model}: {len(failures)} training window(s) failed (FreqAI "
                         f"wrote null predictions), first: {failures[0]}\nlog {log_path}")
    return userdir / "models" / identifier, text


def load_predictions(models_dir: Path, pairs: list[str]) -> pd.DataFrame:
    """pair, window, date, pred, do_predict from FreqAI's per-window prediction files."""
    folder = models_dir / "backtesting_predictions"
    by_coin = {p.split("/")[0].lower(): p for p in pairs}
    frames = []
    for path in sorted(folder.glob("*_prediction.feather")):
        match = PRED_FILE.search(path.name)
        if not match or match.group(1) not in by_coin:
            continue
        frame = pd.read_feather(path)
        missing = {"date", "&-s_close", "do_predict"} - set(frame.columns)
        if missing:
            raise BenchError(f"{path} lacks column(s) {sorted(missing)}")
        frames.append(pd.DataFrame({
            "pair": by_coin[match.group(1)], "date": frame["date"],
            "window": pd.Timestamp(int(match.group(2)), unit="s", tz="UTC"),
            "pred": frame["&-s_close"].astype(float), "do_predict": frame["do_predict"]}))
    found = {f["pair"].iloc[0] for f in frames}
    if set(pairs) - found:
        raise BenchError(f"no prediction files in {folder} for {sorted(set(pairs) - found)}")
    return pd.concat(frames, ignore_index=True)


# -- evaluation -------------------------------------------------------------------------------


def scored_rows(preds: pd.DataFrame, truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Predictions joined with target and yardstick; `usable` = known target and prediction."""
    frames = []
    for pair, group in preds.groupby("pair"):
        t = truth[pair].assign(date=truth[pair]["date"].astype("datetime64[ns, UTC]"))
        g = group.assign(date=group["date"].astype("datetime64[ns, UTC]"))
        frames.append(g.merge(t[["date", "close", "target", "naive"]], on="date", how="left"))
    rows = pd.concat(frames, ignore_index=True)
    rows["usable"] = np.isfinite(rows["target"]) & np.isfinite(rows["pred"])
    rows["scored"] = rows["usable"] & (rows["do_predict"] == 1)
    return rows


def diagnostics(rows: pd.DataFrame) -> dict[str, float]:
    """Coverage, IC without the do_predict filter, prediction scale and sign balance."""
    usable, scored = rows[rows["usable"]], rows[rows["scored"]]
    target_std = scored["target"].std()
    return {
        "coverage": len(scored) / max(len(usable), 1),
        "ic_all_rows": spearman_ic(usable["pred"], usable["target"]),
        "std_ratio": scored["pred"].std() / target_std if target_std else float("nan"),
        "pos_share": float((scored["pred"] > 0).mean()) if len(scored) else float("nan"),
        "ic_vs_naive": spearman_ic(scored["pred"], scored["naive"]),
    }


def evaluate(rows: dict[str, pd.DataFrame], pairs: list[str],
             seconds: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    """Flat `scope.model.metric` results; scope = pair, `mean` (over pairs) or window date."""
    out: dict[str, float] = {}
    keys = [set(zip(r.loc[r["scored"], "pair"], r.loc[r["scored"], "date"], strict=True))
            for r in rows.values()]
    common = set.intersection(*keys)
    first = next(iter(rows.values()))
    naive_rows = first[[k in common for k in zip(first["pair"], first["date"], strict=True)]]
    for pair in pairs:
        for model, r in rows.items():
            sel = r[r["pair"] == pair]
            metrics = {**score(sel[sel["scored"]], "pred"), **diagnostics(sel)}
            times = seconds[model].get(pair, [])
            metrics["train_s"] = float(np.median(times)) if times else float("nan")
            metrics["train_s_first"] = times[0] if times else float("nan")
            out.update({f"{pair}.{model}.{k}": v for k, v in metrics.items()})
        naive = score(naive_rows[naive_rows["pair"] == pair], "naive")
        out.update({f"{pair}.naive.{k}": v for k, v in naive.items()})
    for name in [*rows, "naive"]:
        metrics = {k.split(".", 2)[2] for k in out if k.split(".")[-2] == name}
        for metric in sorted(metrics):
            out[f"mean.{name}.{metric}"] = float(np.nanmean(
                [out[f"{p}.{name}.{metric}"] for p in pairs]))
    for model in rows:  # the median window, not the mean of the pairs' medians
        out[f"mean.{model}.train_s"] = float(np.median(sum(seconds[model].values(), [])))
    for window, sel in naive_rows.groupby("window"):
        day = window.strftime("%Y-%m-%d")
        out[f"window.{day}.naive.ic"] = spearman_ic(sel["naive"], sel["target"])
        for model, r in rows.items():
            w = r[(r["window"] == window) & r["scored"]]
            out[f"window.{day}.{model}.ic"] = spearman_ic(w["pred"], w["target"])
    return out


def print_tables(out: dict[str, float], pairs: list[str], models: list[str]) -> None:
    names = [*models, "naive"]
    head = "".join(f"{n + ' IC':>18}{'hit':>7}" for n in names)
    print(f"\n{'pair':<10}{head}  " + "".join(f"{m + ' train_s':>23}" for m in models))
    for scope in [*pairs, "mean"]:
        cells = "".join(f"{out[f'{scope}.{n}.ic']:>18.4f}{out[f'{scope}.{n}.hit_rate']:>7.3f}"
                        for n in names)
        print(f"{scope:<10}{cells}  "
              + "".join(f"{out[f'{scope}.{m}.train_s']:>23.2f}" for m in models))
    print(f"\nper window (IC pooled over pairs)\n{'window':<12}"
          + "".join(f"{n:>15}" for n in names))
    for day in sorted({k.split(".")[1] for k in out if k.startswith("window.")}):
        print(f"{day:<12}" + "".join(f"{out[f'window.{day}.{n}.ic']:>15.4f}" for n in names))
    stats = ["coverage", "ic_all_rows", "std_ratio", "pos_share", "ic_vs_naive"]
    print("\ndiagnostics (mean over pairs; std_ratio = std(pred) / std(target))")
    print(f"{'model':<16}" + "".join(f"{s:>13}" for s in stats))
    for m in models:
        print(f"{m:<16}" + "".join(f"{out[f'mean.{m}.{s}']:>13.4f}" for s in stats))


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=PAIRS, help="X/BTC pairs of the data")
    parser.add_argument("--datadir", default=str(DATA),
                        help="folder of <PAIR>-5m.feather candles (default ../shared/data)")
    parser.add_argument("--timerange", default=DEFAULT_TIMERANGE,
                        help="backtest range YYYYMMDD-YYYYMMDD (training days come before it)")
    parser.add_argument("--self-learning-config", default="{}", metavar="JSON",
                        help="overrides for freqai.self_learning, e.g. '{\"epochs\": 10}'")
    parser.add_argument("--lightgbm-model", default=MODELS["lightgbm"],
                        help="FreqAI model name of the LightGBM baseline")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per freqtrade run, s")
    parser.add_argument("--keep-tmp", action="store_true", help="keep logs, models, predictions")
    args = parser.parse_args(argv)
    for pair in args.pairs:
        if pair in SKIPPED:
            parser.error(f"{pair}: {SKIPPED[pair]}")
    try:
        args.sl_overrides = json.loads(args.self_learning_config)
    except json.JSONDecodeError as err:
        parser.error(f"--self-learning-config is not JSON: {err}")
    if not isinstance(args.sl_overrides, dict):
        parser.error("--self-learning-config must be a JSON object")
    if not re.fullmatch(r"\d{8}-\d{8}", args.timerange):
        parser.error(f"--timerange must be YYYYMMDD-YYYYMMDD, got {args.timerange!r}")
    return args


def run_models(args: argparse.Namespace, tmp: Path) -> dict[str, tuple[Path, str]]:
    port = free_port()
    write_configs(tmp, port, args.pairs, args.sl_overrides)
    replay = start_replay(port, tmp / "replay.log")
    models = {**MODELS, "lightgbm": args.lightgbm_model}
    results = {}
    try:
        for name, freqai_model in models.items():
            began = time.monotonic()
            print(f"running {freqai_model} ...", flush=True)
            results[name] = run_backtest(tmp, name, freqai_model, args.timerange, args.timeout)
            print(f"  {freqai_model}: {time.monotonic() - began:.0f} s", flush=True)
    finally:
        stop_process(replay)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global DATA
    DATA = Path(args.datadir)
    began = time.monotonic()
    fp = json.loads(CONFIG.read_text())["freqai"]["feature_parameters"]
    truth = {p: load_truth(p, fp["label_period_candles"]) for p in args.pairs}
    check_coverage(args.timerange, truth, strategy_startup_candles(),
                   fp["indicator_periods_candles"])
    print(f"pairs {', '.join(args.pairs)}; skipped "
          + "; ".join(f"{p}: {why}" for p, why in SKIPPED.items()), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="quality-bench-"))
    try:
        runs = run_models(args, tmp)
    except BaseException:
        print(f"tmp folder kept: {tmp}", file=sys.stderr)
        raise
    rows = {m: scored_rows(load_predictions(d, args.pairs), truth) for m, (d, _) in runs.items()}
    seconds = {m: train_seconds(text) for m, (_, text) in runs.items()}
    out = evaluate(rows, args.pairs, seconds)
    out["wall_s"] = time.monotonic() - began
    print_tables(out, args.pairs, list(runs))
    if args.keep_tmp:
        print(f"\ntmp folder kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({k: (None if isinstance(v, float) and not np.isfinite(v) else round(v, 6))
                      for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        sys.exit(1)
