"""`make dry-run`: trade offline in one command - replay exchange, bot and FreqUI on 127.0.0.1.

Starts the replay exchange in realtime mode (the generated candles mapped onto the present,
one new candle per timeframe of wall clock), then `freqtrade trade --dry-run` with
config.json, the replay overlay for `--port` and an overlay of its own: the API server on
127.0.0.1:`--api-port` with a password, JWT secret and websocket token generated for this run
(printed once; kept only in a private temporary folder that is deleted at exit). Ctrl-C (or
SIGTERM) stops the bot first - it saves the models - then the exchange.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from self_learning_offline.replay_exchange.overlay import replay_url, write_replay_overlay

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_S = 120  # the bot's shutdown save (shutdown_timeout_s 30) plus freqtrade's own
START_TIMEOUT_S = 30
# Candles in the past at start: 5 training days plus FreqAI's 250 startup candles of 1h
# (15.4 days of 5m candles), with room for retrains; the demo data holds 30 days.
DEFAULT_HISTORY = 6500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8701, help="replay exchange port")
    parser.add_argument("--api-port", type=int, default=8080, help="FreqUI / REST API port")
    parser.add_argument("--datadir", type=Path, default=ROOT / "user_data" / "data" / "binance")
    parser.add_argument("--history", type=int, default=DEFAULT_HISTORY,
                        help="recorded candles already in the past at start")
    parser.add_argument("--logdir", type=Path, default=ROOT / "user_data" / "logs")
    parser.add_argument("--config", "-c", action="append", default=[], type=Path,
                        help="further freqtrade config files, applied last (repeatable)")
    return parser.parse_args(argv)


def api_overlay(api_port: int, password: str) -> dict:
    return {"api_server": {
        "enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": api_port,
        "username": "freqtrader", "password": password,
        "jwt_secret_key": secrets.token_hex(32), "ws_token": secrets.token_urlsafe(25)}}


def wait_for(url: str, proc: subprocess.Popen, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before answering at {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not answer at {url} within {timeout:.0f} s")


def stop(proc: subprocess.Popen, name: str, sig: int, timeout: float) -> int:
    """Signal the process group `proc` leads and wait; SIGKILL after `timeout`."""
    if proc.poll() is None:
        print(f"Stopping {name} ...", flush=True)
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop within {timeout:.0f} s: killing it", flush=True)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def start(cmd: list[str], log: Path | None = None) -> subprocess.Popen:
    # Own process groups: Ctrl-C reaches this script only, which stops them in order.
    out = log.open("w") if log else None
    return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=True)


def _interrupt(signum, frame) -> None:  # SIGTERM stops like Ctrl-C
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not any(args.datadir.glob("*.feather")):
        raise SystemExit(f"no candles in {args.datadir}: run `make data` first")
    signal.signal(signal.SIGTERM, _interrupt)
    logs = args.logdir
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="self-learning-dry-run-") as tmp:
        password = secrets.token_urlsafe(12)
        secret_file = Path(tmp) / "api.json"
        secret_file.write_text(json.dumps(api_overlay(args.api_port, password)))
        secret_file.chmod(0o600)
        replay = write_replay_overlay(Path(tmp) / "replay.json", args.port)
        exchange = start([sys.executable, "-m", "self_learning_offline.replay_exchange",
                          "--realtime", "--datadir", str(args.datadir), "--port", str(args.port),
                          "--history", str(args.history)], logs / "replay_exchange.log")
        bot = None
        try:
            wait_for(f"{replay_url(args.port)}/api/v3/ping", exchange, "replay exchange",
                     START_TIMEOUT_S)
            configs = [ROOT / "config.json", replay, secret_file, *args.config]
            bot = start([sys.executable, "-m", "freqtrade", "trade", "--dry-run",
                         *[a for c in configs for a in ("-c", str(c))],
                         "--strategy", "SelfLearningStrategy",
                         "--freqaimodel", "SelfLearningModel",
                         "--logfile", str(logs / "dry_run.log")])
            print(f"\nReplay exchange: {replay_url(args.port)} (log {logs / 'replay_exchange.log'})"
                  f"\nFreqUI:          http://127.0.0.1:{args.api_port}  user freqtrader, "
                  f"password {password}  (generated for this run)\nBot log:         "
                  f"{logs / 'dry_run.log'}\nCtrl-C stops the bot (it saves the models), then "
                  "the exchange.\n", flush=True)
            return bot.wait()
        except KeyboardInterrupt:
            return stop(bot, "the bot", signal.SIGINT, STOP_TIMEOUT_S) if bot else 130
        finally:
            if bot is not None and bot.poll() is None:
                stop(bot, "the bot", signal.SIGINT, STOP_TIMEOUT_S)
            stop(exchange, "the replay exchange", signal.SIGTERM, 10)
            print("Dry-run stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
