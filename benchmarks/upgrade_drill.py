"""Upgrade drill: a dry-run bot of the previous release, stopped, restarted on this code.

    git worktree add /tmp/old <previous release>
    unshare -n sh -c 'ip link set lo up && .venv/bin/python benchmarks/upgrade_drill.py \\
        --old /tmp/old --out /tmp/upgrade-drill'

One seeded 1m market (`self_learning_offline.market`, BTC/USDT) served by the replay exchange
in realtime mode for the whole drill, so the bots see one market going on. Then, one after
another on the same user_data, models, identifier and trade database, the real `freqtrade
trade --dry-run` (config.json + config.5m.json + the replay overlay + a 1m override: one
training day, FreqAI retrains every 3 minutes, short epochs; the API on 127.0.0.1) of:

1. `old`: the `--old` tree, until it has trained twice and then predicted `--old-minutes`
   minutes of live candles (the scoreboard fills after label_period_candles);
2. `new`: this tree, until it has restored the old store and predicted `--new-minutes`;
3. `oldagain` (`--stages`): the old tree again on the new state (a downgrade), a few candles.
   When the old tree predates the store's move to `user_data/self_learning/<identifier>/`
   (`predates_store_move`), the drill first moves the store back to
   `user_data/models/<identifier>/self_learning/`, as docs/operations.md tells a user to.

Each stops with SIGTERM (the shutdown save). Each bot's code comes from its own tree (strategy,
model, PYTHONPATH); the venv is this tree's. Kept in `--out`: the logs (`<stage>.log`), a copy
of historic_predictions.pkl after each stage and the API's pair_candles just before each stop.
The last line, JSON: per stage the exit code, error / traceback lines, the restore, column and
shutdown lines (and the new bot's `Moved the model store ...`), the training counters, whether
`&-challenge` is in the saved predictions, where the store is after the stage (and its newest
version) and the move-back before `oldagain` (`moved_back`, null when none was needed).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from backtest_runs import free_port

from self_learning_offline.bot_api import PASSWORD_ENV, USERNAME, api_overlay, api_secrets
from self_learning_offline.replay_exchange.overlay import OVERLAY_NAME, write_replay_overlay
from self_learning_offline.replay_exchange.process import (
    start_replay_exchange,
    stop_replay_exchange,
)

ROOT = Path(__file__).resolve().parents[1]
PAIR = "BTC/USDT"
IDENTIFIER = "drill"
HISTORY = 1440 + 400 + 60  # one training day, FreqAI's start-up candles, room
STOP_TIMEOUT_S = 180
POLL_S = 2.0
KEY_LINES = re.compile(r"Restored |saved predictions take|models saved:|No common dates|"
                       r"Moved the model store")
STORE = Path("self_learning") / IDENTIFIER  # in user_data: the live store of this release
LEGACY_STORE = Path("models") / IDENTIFIER / "self_learning"  # of releases before the move
RUN_STORES_PY = Path("freqai_models") / "self_learning" / "runtime" / "run_stores.py"
VERSION = re.compile(r"v\d{6}")


def predates_store_move(tree: Path) -> bool:
    """True when `tree`'s release keeps the live store in `models/<identifier>/self_learning/`:
    its run_stores.py has no `live_store`, which names the store's new home since the move."""
    return "def live_store(" not in (tree / RUN_STORES_PY).read_text()


def move_store_back(user_data: Path) -> list[str]:
    """The store back where releases before the move look for it (docs/operations.md, before
    a downgrade): [from, to], relative to `user_data`."""
    (user_data / LEGACY_STORE).parent.mkdir(parents=True, exist_ok=True)
    os.rename(user_data / STORE, user_data / LEGACY_STORE)
    return [str(STORE), str(LEGACY_STORE)]


def before_stage(stage: str, tree: Path, user_data: Path) -> list[str] | None:
    """Before the downgrade (`oldagain`) to a release from before the move, the store goes
    back (move_store_back's [from, to]); otherwise nothing moves (None)."""
    if stage != "oldagain" or not predates_store_move(tree):
        return None
    moved = move_store_back(user_data)
    print(f"moved the store back: {moved}", flush=True)
    return moved


def store_place(user_data: Path) -> dict:
    """Which of the two homes holds a store, and the newest version folder in each."""
    return {str(place): max((v.name for v in (user_data / place).glob("*/*")
                             if VERSION.fullmatch(v.name)), default=None)
            for place in (STORE, LEGACY_STORE) if (user_data / place).is_dir()}


def bot_env(tree: Path, api: dict[str, str]) -> dict[str, str]:
    """The bot's environment: this tree's code, the drill's API secrets (`api`: api_secrets)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    env.update(PYTHONPATH=str(tree / "freqai_models"), TF_CPP_MIN_LOG_LEVEL="2",
               TF_NUM_INTRAOP_THREADS="2", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="2",
               COLUMNS="250", NO_COLOR="1", **api)
    return env


def write_override(out: Path, tree: Path, name: str, api_port: int) -> Path:
    data = {
        "user_data_dir": str(out / "user_data"),
        "strategy_path": str(tree / "user_data" / "strategies"),
        "freqaimodel_path": str(tree / "freqai_models"),
        "db_url": f"sqlite:///{out / 'tradesv3.dryrun.sqlite'}",
        "timeframe": "1m", "initial_state": "running",
        "exchange": {"pair_whitelist": [PAIR]},
        **api_overlay(api_port),
        "freqai": {"identifier": IDENTIFIER, "train_period_days": 1, "live_retrain_hours": 0.05,
                   "feature_parameters": {"include_timeframes": ["1m"]},
                   "self_learning": {"epochs": 3, "incremental_epochs": 2, "save_interval": 2}},
    }
    path = out / f"config.{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def learned(log: str) -> list[int]:
    """Counters after each per-candle learning step of PAIR."""
    return [int(c) for c in re.findall(rf"learned \d+ candles for {re.escape(PAIR)}, counter "
                                       r"(\d+)", log)]


def trainings(log: str) -> list[int]:
    """Counters after each FreqAI training of PAIR (full or incremental)."""
    return [int(c) for c in re.findall(rf"(?:full|incremental) (?:training|update) of "
                                       rf"{re.escape(PAIR)}: .* training counter (\d+)", log)]


class Waiter:
    """Done once the bot has trained `trainings` times, learned per candle, and then run
    `minutes` more (and restored a store first, when `restored`)."""

    def __init__(self, minutes: float, trainings: int, restored: bool):
        self.minutes, self.trainings, self.restored = minutes, trainings, restored
        self.since: float | None = None

    def __call__(self, log: str) -> bool:
        if self.restored and "Restored " not in log:
            return False
        if self.since is None and learned(log) and len(trainings(log)) >= self.trainings:
            self.since = time.monotonic()
        return self.since is not None and time.monotonic() - self.since >= self.minutes * 60


def pair_candles(api_port: int, password: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{api_port}/api/v1/pair_candles?"
                                     f"pair={PAIR}&timeframe=1m&limit=30")
    token = base64.b64encode(f"{USERNAME}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def run_stage(name: str, tree: Path, done: Waiter, timeout_s: float, out: Path,
              overlay: Path, api_port: int, api: dict[str, str]) -> dict:
    log_path = out / f"{name}.log"
    args = [sys.executable, "-m", "freqtrade", "trade", "--dry-run",
            "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel",
            "-c", str(tree / "config.json"), "-c", str(tree / "config.5m.json"),
            "-c", str(overlay), "-c", str(write_override(out, tree, name, api_port)),
            "--logfile", str(log_path)]
    print(f"{time.strftime('%H:%M:%S')} {name}: {tree}", flush=True)
    with (out / f"{name}.console.txt").open("w") as console:
        bot = subprocess.Popen(args, cwd=tree, env=bot_env(tree, api), stdout=console,
                               stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    try:
        while bot.poll() is None and time.monotonic() - started < timeout_s:
            if done(log_path.read_text(errors="replace") if log_path.exists() else ""):
                break
            time.sleep(POLL_S)
        served = None
        if bot.poll() is None:
            try:
                candles = pair_candles(api_port, api[PASSWORD_ENV])
                (out / f"{name}.pair_candles.json").write_text(json.dumps(candles))
                served = "&-challenge" in candles["columns"]
            except OSError as err:
                print(f"{name}: pair_candles failed: {err!r}", flush=True)
            os.killpg(bot.pid, signal.SIGTERM)
            bot.wait(timeout=STOP_TIMEOUT_S)
    finally:
        if bot.poll() is None:
            os.killpg(bot.pid, signal.SIGKILL)
            bot.wait()
    saved = out / "user_data" / "models" / IDENTIFIER / "historic_predictions.pkl"
    if saved.exists():
        shutil.copy2(saved, out / f"{name}.historic_predictions.pkl")
    result = summary(name, bot.returncode, log_path.read_text(errors="replace"), served, saved)
    result["store_after"] = store_place(out / "user_data")
    return result


def summary(name: str, code: int, log: str, served: bool | None, saved: Path) -> dict:
    import pandas as pd

    lines = log.splitlines()
    counters = trainings(log) + learned(log)
    frame = pd.read_pickle(saved)[PAIR] if saved.exists() else None
    return {
        "stage": name, "exit_code": code,
        "errors": [line for line in lines if " - ERROR - " in line],
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
        "key_lines": [line.split(" - ", 3)[-1] for line in lines if KEY_LINES.search(line)],
        "counter_first_last": [min(counters), max(counters)] if counters else None,
        "pair_candles_has_challenge": served,
        "saved_predictions_rows": None if frame is None else len(frame),
        "saved_predictions_have_challenge": None if frame is None
        else "&-challenge" in frame.columns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the previous release's tree")
    parser.add_argument("--out", type=Path, required=True, help="the drill's folder (new)")
    parser.add_argument("--stages", default="old,new,oldagain")
    parser.add_argument("--old-minutes", type=float, default=14)
    parser.add_argument("--new-minutes", type=float, default=8)
    args = parser.parse_args()
    out = args.out.resolve()
    (out / "user_data").mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "self_learning_offline.market", "--out",
                    str(out / "market"), "--pairs", PAIR, "--timeframe", "1m", "--days", "4",
                    "--seed", "42", "--mean-reversion", "60"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port, api_port, api = free_port(), free_port(), api_secrets()
    overlay = write_replay_overlay(out / OVERLAY_NAME, port)
    exchange = start_replay_exchange(out / "market", port, out / "replay_exchange.log",
                                     timeout=60, realtime=True, history=HISTORY,
                                     interval="1m", cwd=ROOT)
    plans = {"old": (args.old.resolve(), Waiter(args.old_minutes, 2, restored=False)),
             "new": (ROOT, Waiter(args.new_minutes, 1, restored=True)),
             "oldagain": (args.old.resolve(), Waiter(3, 1, restored=True))}
    results = []
    try:
        for stage in args.stages.split(","):
            tree, waiter = plans[stage]
            moved_back = before_stage(stage, tree, out / "user_data")
            began = time.monotonic()
            result = run_stage(stage, tree, waiter, 60 * (waiter.minutes + 12), out, overlay,
                               api_port, api)
            result["seconds"] = round(time.monotonic() - began)
            if stage == "oldagain":
                result["moved_back"] = moved_back
            results.append(result)
            print(json.dumps(result, indent=1), flush=True)
    finally:
        stop_replay_exchange(exchange)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
