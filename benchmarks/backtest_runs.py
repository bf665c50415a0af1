"""Real `freqtrade backtesting` runs for benchmarks/quality.py: the edges (processes, files).

* `ReplayExchange`: the project's offline Binance on a free port, serving a candle folder;
* `Backtests`: one `freqtrade backtesting` per `RunSpec` (own identifier and user_data folder,
  so no stored prediction is reused), `--jobs` of them at a time, each exporting its trades;
* `load_predictions`: FreqAI's per-window prediction files of a run;
* `trade_stats`: trade count, total profit and max drawdown from freqtrade's own result file
  (freqtrade 2026.9: `backtest-result-<date>.zip` in the export folder, named by
  `.last_result.json`, read with freqtrade's `load_backtest_stats`).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from self_learning.runtime.xla_cache import ENV as XLA_ENV
from self_learning.runtime.xla_cache import FLAG as XLA_FLAG
from self_learning_offline.replay_exchange.overlay import OVERLAY_NAME, write_replay_overlay
from self_learning_offline.replay_exchange.process import (
    ReplayExchangeError,
    start_replay_exchange,
    stop_replay_exchange,
)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.json"
# The shipped config files of each timeframe's setup (README "Configuration"): config.json is
# the 1h setup, the config.5m.json overlay over it the 5m setup (H = 12, memory 576, ...).
SETUP_CONFIGS = {"1h": (CONFIG,), "5m": (CONFIG, ROOT / "config.5m.json")}
STRATEGY = "SelfLearningStrategy"
STRATEGY_DIR = ROOT / "user_data" / "strategies"
DONE_TRAINING = re.compile(r"Done training (\S+) \(([\d.]+) secs\)")
TRAIN_FAILED = re.compile(r"Training \S+ raised exception .*")
# freqtrade 2026.9 logs a ConfigurationError (e.g. include_timeframes below the timeframe) and
# exits with code 0 (its main() sets no return code for it).
CONFIG_ERROR = re.compile(r" - ERROR - (Configuration error: .*)")
PRED_FILE = re.compile(r"cb_(\w+)_(\d+)_prediction\.feather$")
LOG_TAIL = 60
WALLET = {"BTC": 1, "ETH": 10}  # starting balance per stake currency; others 1000


class BenchError(RuntimeError):
    """A missing input or a failed run; the message says which and what to look at."""


@dataclass(frozen=True)
class RunSpec:
    """One backtest: `name` (folder and identifier), the FreqAI model class and overrides of
    the `freqai` config section (`self_learning` keys go into its own section). With
    `predictions_of`, the run uses the user_data folder and identifier of that earlier run,
    so FreqAI reuses its predictions (give it the same `freqai` overrides) and only the
    strategy runs again, with `strategy_params` ({"buy": {...}, "sell": {...}}) if given."""

    name: str
    freqai_model: str
    freqai: dict = field(default_factory=dict)
    strategy_params: dict | None = None
    predictions_of: str | None = None


@dataclass(frozen=True)
class RunResult:
    spec: RunSpec
    models_dir: Path
    log: str
    results_dir: Path
    wall_s: float
    cpu_s: float | None = None  # the freqtrade process's user + system CPU (--jobs 1 only)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(main) -> None:
    """Exit with `main()`'s code; a BenchError is one line on stderr and exit code 1."""
    try:
        sys.exit(main())
    except BenchError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        sys.exit(1)


class ReplayExchange:
    """`with ReplayExchange(datadir, log_path) as port:` serves `datadir` on 127.0.0.1."""

    def __init__(self, datadir: Path, log_path: Path, timeout: float = 30.0):
        self.datadir, self.log_path, self.timeout = datadir, log_path, timeout
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> int:
        port = free_port()
        try:
            self.proc = start_replay_exchange(self.datadir, port, self.log_path,
                                              timeout=self.timeout, cwd=ROOT)
        except ReplayExchangeError as err:
            raise BenchError(str(err)) from err
        return port

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_replay_exchange(self.proc, timeout=15)


def setup_configs(timeframe: str) -> tuple[Path, ...]:
    """The config files a backtest on `timeframe` starts from (config.json alone for a
    timeframe without a setup of its own)."""
    return SETUP_CONFIGS.get(timeframe, (CONFIG,))


def setup_config(timeframe: str) -> dict:
    """setup_configs(timeframe) merged in order, as freqtrade merges its `-c` files."""
    merged: dict = {}
    for path in setup_configs(timeframe):
        merged = deep_merge(merged, json.loads(path.read_text()))
    return merged


def deep_merge(base: dict, extra: dict) -> dict:
    """`base` with `extra` on top, nested dicts merged key by key (as freqtrade merges its
    `-c` files)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def freqai_overrides(text: str) -> dict:
    """The JSON object of a `--freqai` option: overrides deep-merged into the freqai section
    of a SelfLearning run's config (argparse reports the error of anything else)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def add_freqai_argument(parser) -> None:
    """The `--freqai JSON` option of the scripts that run SelfLearning backtests."""
    parser.add_argument("--freqai", type=freqai_overrides, default={}, metavar="JSON",
                        help="overrides deep-merged into the freqai section of every "
                             "SelfLearning run, e.g. '{\"feature_parameters\": "
                             "{\"use_SVM_to_remove_outliers\": true}}'")


def run_env(environ: Mapping[str, str], xla_cache: Path | None) -> dict[str, str]:
    """The environment of one freqtrade run. With `xla_cache` (a cold run) the model compiles
    its XLA programs into that folder instead of the shared cache (runtime/xla_cache.py), so
    it loads nothing another run compiled: a TF_XLA_FLAGS cache folder of the caller's is
    dropped, since it would win over the model's own."""
    env = {**environ, "COLUMNS": "200", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if xla_cache is not None:
        kept = [f for f in env.get("TF_XLA_FLAGS", "").split() if not f.startswith(XLA_FLAG)]
        env["TF_XLA_FLAGS"] = " ".join(kept)
        env[XLA_ENV] = str(xla_cache)
    return env


class Backtests:
    """Runs backtests of SelfLearningStrategy over `pairs` of `datadir` in `tmp`. With `cold`,
    each run compiles its XLA programs into an empty cache folder of its own (run_env), so
    no run loads a program an earlier run compiled; otherwise they share the user's cache.
    With `protections` (freqtrade protection dicts) every run uses a strategy copy with that
    `protections` attribute and `--enable-protections` (freqtrade reads them from the
    strategy only: a `protections` key in the config is an error); with `enable_protections`
    alone, the strategy's own (its default MaxDrawdown), as a dry or live bot applies them."""

    def __init__(self, tmp: Path, datadir: Path, pairs: list[str], timerange: str,
                 common_freqai: dict, timeout: float, jobs: int = 1, stake: str = "BTC",
                 timeframe: str = "5m", cold: bool = False,
                 protections: list[dict] | None = None, enable_protections: bool = False):
        self.tmp, self.datadir, self.pairs, self.timerange = tmp, datadir, pairs, timerange
        self.common_freqai, self.timeout, self.jobs = common_freqai, timeout, max(1, jobs)
        self.stake, self.timeframe, self.cold = stake, timeframe, cold
        self.protections = protections
        self.enable_protections = enable_protections or protections is not None

    def run_all(self, specs: list[RunSpec]) -> dict[str, RunResult]:
        """Every spec's backtest; BenchError before any starts when a spec's results or
        strategy folder is already in `tmp` (a run of that name was made there before, e.g.
        strategy_grid.py again with the same --stamp)."""
        taken = [folder for spec in specs for folder in (
            self.tmp / f"results_{spec.name}", self.tmp / f"strategy_{spec.name}")
            if folder.exists()]
        if taken:
            raise BenchError(f"{taken[0]} exists: a run named like this one was made in "
                             f"{self.tmp} before; give this one another name (strategy_grid.py:"
                             " another --stamp)")
        self.tmp.mkdir(parents=True, exist_ok=True)
        with ReplayExchange(self.datadir, self.tmp / "replay.log") as port:
            write_replay_overlay(self.tmp / OVERLAY_NAME, port)
            with ThreadPoolExecutor(self.jobs) as pool:
                results = list(pool.map(self.run, specs))
        return {r.spec.name: r for r in results}

    def config(self, spec: RunSpec) -> dict:
        """One open trade per pair at most, the wallet split evenly between them."""
        identifier = f"quality-{spec.predictions_of or spec.name}"
        return {
            "stake_currency": self.stake, "stake_amount": "unlimited", "timeframe": self.timeframe,
            "dry_run_wallet": WALLET.get(self.stake, 1000),
            "max_open_trades": len(self.pairs), "exchange": {"pair_whitelist": self.pairs},
            "freqai": deep_merge({**self.common_freqai, "identifier": identifier}, spec.freqai),
        }

    def strategy_dir(self, spec: RunSpec) -> Path:
        """The strategy's folder, or a copy of the strategy with its parameter file (and
        the protections, if any, set on its class)."""
        if spec.strategy_params is None and self.protections is None:
            return STRATEGY_DIR
        folder = self.tmp / f"strategy_{spec.name}"
        folder.mkdir()
        shutil.copy2(STRATEGY_DIR / f"{STRATEGY}.py", folder / f"{STRATEGY}.py")
        if self.protections is not None:
            with (folder / f"{STRATEGY}.py").open("a") as f:
                f.write(f"\n{STRATEGY}.protections = {self.protections!r}\n")
        (folder / f"{STRATEGY}.json").write_text(json.dumps(
            {"strategy_name": STRATEGY, "params": spec.strategy_params or {}}, indent=2))
        return folder

    def run(self, spec: RunSpec) -> RunResult:
        """One `freqtrade backtesting` run with its trades exported."""
        userdir = self.tmp / f"user_data_{spec.predictions_of or spec.name}"
        results = self.tmp / f"results_{spec.name}"
        userdir.mkdir(exist_ok=spec.predictions_of is not None)
        results.mkdir()
        config = self.config(spec)
        path = self.tmp / f"config.{spec.name}.json"
        path.write_text(json.dumps(config, indent=2))
        configs = [*setup_configs(self.timeframe), self.tmp / OVERLAY_NAME, path]
        cmd = [sys.executable, "-m", "freqtrade", "backtesting",
               *[arg for c in configs for arg in ("-c", str(c))],
               "--userdir", str(userdir), "--datadir", str(self.datadir),
               "--timerange", self.timerange, "--strategy", STRATEGY,
               "--strategy-path", str(self.strategy_dir(spec)),
               "--freqaimodel", spec.freqai_model,
               "--freqaimodel-path", str(ROOT / "freqai_models"), "--cache", "none",
               "--export", "trades", "--backtest-directory", str(results),
               *(["--enable-protections"] if self.enable_protections else [])]
        log_path = self.tmp / f"{spec.name}.log"
        xla = self.tmp / f"xla_{spec.name}" if self.cold else None
        if xla is not None and xla.exists():
            raise BenchError(f"{xla} exists: a cold run needs an empty XLA cache folder")
        env = run_env(os.environ, xla)
        print(f"running {spec.name} ({spec.freqai_model}) ...", flush=True)
        began, cpu = time.monotonic(), _children_cpu()
        with log_path.open("w") as log:
            try:
                rc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, timeout=self.timeout).returncode
            except subprocess.TimeoutExpired:
                rc = f"timeout after {self.timeout:.0f} s"
        wall = time.monotonic() - began
        # CPU seconds are less sensitive than wall time to other jobs on a shared machine;
        # the children's counter is per process, so only one backtest at a time can be told.
        cpu_s = _children_cpu() - cpu if self.jobs == 1 else None
        text = log_path.read_text()
        check_log(spec, rc, text, log_path)
        print(f"  {spec.name}: {wall:.0f} s", flush=True)
        return RunResult(spec, userdir / "models" / config["freqai"]["identifier"], text,
                         results, wall, cpu_s)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check_log(spec: RunSpec, rc, text: str, log_path: Path) -> None:
    """Raise BenchError when the run failed (an exit code, or freqtrade's configuration error
    that exits with 0) or any FreqAI training window failed."""
    tail = "\n".join(text.splitlines()[-LOG_TAIL:])
    if rc == 0 and (refused := CONFIG_ERROR.search(text)):
        raise BenchError(f"freqtrade backtesting ({spec.name}, {spec.freqai_model}) refused "
                         f"its config (exit code 0): {refused.group(1)}; log {log_path}")
    if rc != 0:
        raise BenchError(f"freqtrade backtesting ({spec.name}, {spec.freqai_model}) failed "
                         f"({rc}); log {log_path}, last lines:\n{tail}")
    failures = TRAIN_FAILED.findall(text)
    if failures:
        raise BenchError(f"{spec.name}: {len(failures)} training window(s) failed (FreqAI "
                         f"wrote null predictions), first: {failures[0]}\nlog {log_path}")


def train_seconds(log_text: str) -> dict[str, list[float]]:
    """Pair -> the X of each "Done training PAIR (X secs)" log line, in order."""
    out: dict[str, list[float]] = {}
    for pair, secs in DONE_TRAINING.findall(log_text):
        out.setdefault(pair, []).append(float(secs))
    return out


def prediction_files(models_dir: Path,
                     pairs: list[str]) -> Iterator[tuple[Path, str, pd.DataFrame]]:
    """(path, pair, frame) of each of FreqAI's per-window prediction files of `pairs` under
    `models_dir`, in file order, every column as stored."""
    by_coin = {p.split("/")[0].lower(): p for p in pairs}
    for path in sorted((models_dir / "backtesting_predictions").glob("*_prediction.feather")):
        match = PRED_FILE.search(path.name)
        if match and match.group(1) in by_coin:
            yield path, by_coin[match.group(1)], pd.read_feather(path)


def load_predictions(models_dir: Path, pairs: list[str]) -> pd.DataFrame:
    """pair, date, pred, do_predict from FreqAI's per-window prediction files."""
    folder = models_dir / "backtesting_predictions"
    frames = []
    for path, pair, frame in prediction_files(models_dir, pairs):
        missing = {"date", "&-s_close", "do_predict"} - set(frame.columns)
        if missing:
            raise BenchError(f"{path} lacks column(s) {sorted(missing)}")
        frames.append(pd.DataFrame({
            "pair": pair,
            "date": pd.to_datetime(frame["date"], utc=True).astype("datetime64[ns, UTC]"),
            "pred": frame["&-s_close"].astype(float), "do_predict": frame["do_predict"]}))
    found = {f["pair"].iloc[0] for f in frames if len(f)}
    if set(pairs) - found:
        raise BenchError(f"no prediction files in {folder} for {sorted(set(pairs) - found)}")
    return pd.concat(frames, ignore_index=True)


def strategy_stats(stats: dict, strategy: str = STRATEGY) -> dict:
    """The part of freqtrade's backtest statistics about `strategy` (its figures, its trades)."""
    try:
        return stats["strategy"][strategy]
    except KeyError:
        raise BenchError(f"backtest result holds no strategy {strategy!r}; has "
                         f"{sorted(stats.get('strategy', {}))}") from None


def trade_stats(stats: dict, strategy: str = STRATEGY) -> dict[str, float]:
    """trades, profit_pct (total profit, % of the starting balance), max_drawdown_pct
    (freqtrade's account drawdown, %) and profit_mean_pct (mean profit per trade, %) from
    freqtrade's backtest statistics."""
    s = strategy_stats(stats, strategy)
    return {"trades": float(s["total_trades"]), "profit_pct": 100.0 * float(s["profit_total"]),
            "max_drawdown_pct": 100.0 * float(s.get("max_drawdown_account", 0.0)),
            "profit_mean_pct": 100.0 * float(s.get("profit_mean", 0.0))}


def kept_windows(source: Path) -> list[Path]:
    """The window sub-folders of a folder kept by quality.py --keep-tmp (each with its
    config.full.json), sorted by name; BenchError when there is none."""
    windows = sorted(w for w in Path(source).iterdir() if (w / "config.full.json").is_file())
    if not windows:
        raise BenchError(f"no window folder with config.full.json in {source}")
    return windows


def read_stats(results_dir: Path) -> dict:
    """freqtrade's statistics of the newest backtest result in `results_dir` (its own file)."""
    from freqtrade.data.btanalysis import load_backtest_stats

    try:
        return load_backtest_stats(results_dir)
    except ValueError as err:
        raise BenchError(f"no freqtrade backtest result in {results_dir}: {err}") from None


def read_trades(results_dir: Path) -> dict[str, float]:
    """trade_stats of the newest backtest result in `results_dir` (freqtrade's own file)."""
    return trade_stats(read_stats(results_dir))
