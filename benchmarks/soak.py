"""Soak: a 20-pair dry-run on the realtime replay exchange for hours; does its memory stay flat?

    .venv/bin/python benchmarks/soak.py [--minutes 120] [--pairs 20] [--rss-every 10]

Seeded synthetic markets (`self_learning_offline.market`, 1m, one per pair) served by
`python -m self_learning_offline.replay_exchange --realtime` on a free port; the real
`freqtrade trade --dry-run` with config.json + config.5m.json + config.replay.json and an
override (1m timeframe and features, one training day, FreqAI retrains every
`--retrain-hours`, the 5m setup's freqai.self_learning settings), everything in a temp
folder. The freqtrade process's RSS (/proc/<pid>/status VmRSS) is printed every `--rss-every`
minutes; the baseline is its RSS once every pair has finished its first FreqAI retrain
(incremental update). After `--minutes` the bot gets SIGTERM (the shutdown save is timed
from its log).

Last line, JSON: baseline and final RSS, growth, `within_50mb` (final RSS within 50 MB of
the baseline), the RSS samples, counts of errors / tracebacks / retracing warnings in the log,
the shutdown line and exit code. `--keep DIR` keeps the logs and models there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backtest_runs import free_port

from self_learning_offline.replay_exchange.overlay import OVERLAY_NAME, write_replay_overlay
from self_learning_offline.replay_exchange.process import (
    start_replay_exchange,
    stop_replay_exchange,
)

ROOT = Path(__file__).resolve().parents[1]
STARTUP_CANDLES = 375  # FreqAI's live start-up candles at 1m for this strategy (its log says)
POLL_S = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pairs_of(count: int) -> list[str]:
    return [f"S{i:02d}/USDT" for i in range(count)]


def generate(datadir: Path, pairs: list[str], days: int) -> None:
    subprocess.run([sys.executable, "-m", "self_learning_offline.market", "--out", str(datadir),
                    "--pairs", *pairs, "--timeframe", "1m", "--days", str(days),
                    "--seed", "42"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def write_configs(folder: Path, port: int, pairs: list[str], retrain_hours: float) -> list[str]:
    overlay = write_replay_overlay(folder / OVERLAY_NAME, port)
    user_data = folder / "user_data"
    user_data.mkdir()
    override = {
        "user_data_dir": str(user_data), "strategy_path": str(ROOT / "user_data/strategies"),
        "freqaimodel_path": str(ROOT / "freqai_models"),
        "db_url": f"sqlite:///{folder / 'soak.sqlite'}", "timeframe": "1m",
        "max_open_trades": len(pairs), "initial_state": "running",
        "exchange": {"pair_whitelist": pairs}, "api_server": {"enabled": False},
        "freqai": {"identifier": "soak", "train_period_days": 1,
                   "live_retrain_hours": retrain_hours,
                   "feature_parameters": {"include_timeframes": ["1m"]}},
    }
    path = folder / "config.soak.json"
    path.write_text(json.dumps(override, indent=2))
    # the 5m setup's model (H = 12, memory 576) on 1m candles, as before config.json became 1h
    return ["-c", str(ROOT / "config.json"), "-c", str(ROOT / "config.5m.json"),
            "-c", str(overlay), "-c", str(path)]


def retrained_all(log: str, pairs: list[str]) -> bool:
    return all(f"incremental update of {pair}:" in log for pair in pairs)


def log_counts(log: str) -> dict[str, int]:
    lines = log.splitlines()
    return {"errors": sum(" - ERROR - " in line for line in lines),
            "tracebacks": sum(line.startswith("Traceback") for line in lines),
            "retracing_warnings": sum("retracing" in line for line in lines),
            "retrains": len(re.findall(r"incremental update of ", log)),
            "learned_lines": len(re.findall(r"learned \d+ candles for ", log))}


def soak(args, folder: Path) -> dict:
    pairs = pairs_of(args.pairs)
    datadir = folder / "data"
    generate(datadir, pairs, days=3)
    port = free_port()
    history = 1440 + STARTUP_CANDLES + int(args.minutes) + 60
    exchange = start_replay_exchange(datadir, port, folder / "replay_exchange.log", timeout=60,
                                     realtime=True, history=history, interval="1m", cwd=ROOT)
    try:
        return_value = run_bot(args, folder, port, pairs)
    finally:
        stop_replay_exchange(exchange, timeout=30)
    return return_value


def run_bot(args, folder: Path, port: int, pairs: list[str]) -> dict:
    """Run the dry-run for `--minutes`, sampling RSS; then SIGTERM and read its log."""
    log_path = folder / "freqtrade.log"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    bot = subprocess.Popen(
        [sys.executable, "-m", "freqtrade", "trade", "--dry-run", "--strategy",
         "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel",
         *write_configs(folder, port, pairs, args.retrain_hours), "--logfile", str(log_path)],
        cwd=folder, env=env, stdout=(folder / "console.txt").open("w"),
        stderr=subprocess.STDOUT, start_new_session=True)
    try:
        samples, baseline, final = watch(bot, log_path, args, pairs)
        os.killpg(bot.pid, signal.SIGTERM)
        code = bot.wait(timeout=300)
    finally:
        if bot.poll() is None:
            os.killpg(bot.pid, signal.SIGKILL)
            bot.wait()
    log = log_path.read_text(errors="replace")
    shutdown = re.findall(r"models saved: (\d+) pair\(s\) written at shutdown in ([0-9.]+) s",
                          log)
    growth = None if baseline is None else final - baseline["rss_mb"]
    return {
        "minutes": args.minutes, "pairs": len(pairs), "retrain_hours": args.retrain_hours,
        "rss_after_first_retrain_round_mb": baseline and baseline["rss_mb"],
        "first_retrain_round_done_min": baseline and baseline["minute"],
        "rss_final_mb": final, "growth_mb": growth,
        "within_50mb": growth is not None and abs(growth) <= 50,
        "exit_code": code, "shutdown_pairs_written": int(shutdown[-1][0]) if shutdown else None,
        "shutdown_save_s": float(shutdown[-1][1]) if shutdown else None,
        **log_counts(log), "rss_samples": samples, "load_average_1m": round(os.getloadavg()[0], 2),
    }


def watch(bot: subprocess.Popen, log_path: Path, args, pairs: list[str]):
    """RSS every `--rss-every` minutes and once the first retrain round is done; returns
    (samples, baseline or None, final RSS)."""
    started = time.monotonic()
    samples, baseline, next_sample = [], None, 0.0
    while (elapsed := time.monotonic() - started) < args.minutes * 60:
        if bot.poll() is not None:
            raise RuntimeError(f"freqtrade exited with {bot.returncode}; see {log_path}")
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        if baseline is None and retrained_all(log, pairs):
            baseline = {"minute": round(elapsed / 60, 1), "rss_mb": round(rss_mb(bot.pid))}
            print(f"first retrain round done at {baseline['minute']} min: RSS "
                  f"{baseline['rss_mb']} MB", flush=True)
        if elapsed >= next_sample:
            sample = {"minute": round(elapsed / 60, 1), "rss_mb": round(rss_mb(bot.pid))}
            samples.append(sample)
            print(f"{sample['minute']:7.1f} min  RSS {sample['rss_mb']} MB", flush=True)
            next_sample += args.rss_every * 60
        time.sleep(POLL_S)
    return samples, baseline, round(rss_mb(bot.pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--rss-every", type=float, default=10, help="minutes between samples")
    parser.add_argument("--retrain-hours", type=float, default=0.25,
                        help="FreqAI's live_retrain_hours (0.25: a retrain round every 15 min)")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and models here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        result = soak(args, folder)
    finally:
        if args.keep is not None:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True, symlinks=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
