"""`make dry-run`: trade offline in one command - replay exchange, bot and FreqUI on 127.0.0.1.

Starts the replay exchange in realtime mode (the generated candles mapped onto the present,
one new candle per timeframe of wall clock), then `freqtrade trade --dry-run` with
config.json + config.5m.json (the 5m setup: a realtime replay of config.json's 1h setup would
show one new candle an hour), the replay overlay for `--port` and an API overlay: FreqUI on
127.0.0.1:`--api-port`. Both ports are checked first (a process holding one is named).
`-c FILE` adds settings, applied last.

* Secrets: the password, JWT secret and websocket token are generated for this run and reach
  the bot only through its environment (freqtrade's FREQTRADE__API_SERVER__* variables), never
  a file: they end with the bot, whatever happens to this script. The password is printed
  once the API answers, after the bot's start-up log.
* Data: the bot keeps its candles in `--rundir`/data (emptied at each start), never in the
  exchange's `--datadir`, the demo's.
* State (`self_learning_offline.dry_run_state`): `--rundir` is the bot's user_data_dir, with its
  own trades database and model store, and its clock.json keeps the exchange's clock: a second
  run on the same candles continues the first one's clock (the candles the first run traded and
  learned keep their dates) and keeps trades and models; a new clock (first run, other candles,
  `--fresh`) starts them empty. One line at start says which.
* Lifetime: Ctrl-C, SIGTERM or SIGHUP (a closed terminal) stop the bot with one SIGTERM - it
  saves the models - then the exchange, and exit 0. Both children are in their own sessions
  and are signalled by the kernel if this script dies any other way (SIGKILL included). The bot
  runs freqtrade's CLI through `self_learning_offline.bound_freqtrade`, which turns the first
  stop request into that one SIGTERM, and ends the process when a stop interrupts freqtrade's
  start-up or its shutdown outlasts the parent by 120 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from self_learning_offline.bot_api import PASSWORD_ENV, USERNAME, api_overlay, api_secrets
from self_learning_offline.bound_freqtrade import STOP_SIGNAL
from self_learning_offline.children import (
    StopRequested,
    StopSignals,
    TerminalForeground,
    bound_popen_options,
    say,
)
from self_learning_offline.dry_run_state import (
    DryRunState,
    ReplayClock,
    recording_fingerprint,
)
from self_learning_offline.replay_exchange.overlay import replay_url, write_replay_overlay
from self_learning_offline.replay_exchange.ports import PortInUseError, ensure_free
from self_learning_offline.replay_exchange.process import (
    WHAT as EXCHANGE,
)
from self_learning_offline.replay_exchange.process import (
    ReplayExchangeError,
    start_replay_exchange,
    stop_replay_exchange,
)
from self_learning_offline.replay_exchange.server import now_ms

ROOT = Path(__file__).resolve().parents[1]
# The setup a realtime dry-run runs: 5m candles (config.json is the 1h setup).
SETUP_CONFIGS = (ROOT / "config.json", ROOT / "config.5m.json")
STOP_TIMEOUT_S = 120  # the bot's shutdown save (shutdown_timeout_s 30) plus freqtrade's own
START_TIMEOUT_S = 30
POLL_S = 0.5
# Candles in the past at start: 5 training days plus FreqAI's 250 startup candles of 1h
# (15.4 days of 5m candles), with room for retrains; the demo data holds 65 days.
DEFAULT_HISTORY = 6500
TICKER_INTERVAL = "1m"
# The bot's exit after our stop request: freqtrade's (0, 130), or the signal's default action
# when it arrived before the bot's Python code ran.
STOPPED_CODES = (0, 130, -signal.SIGTERM, -STOP_SIGNAL)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8701, help="replay exchange port")
    parser.add_argument("--api-port", type=int, default=8080, help="FreqUI / REST API port")
    parser.add_argument("--datadir", type=Path, default=ROOT / "user_data" / "data" / "demo",
                        help="candles the exchange replays (read only)")
    parser.add_argument("--rundir", type=Path, default=ROOT / "user_data" / "dry_run",
                        help="the dry-run's own folder: the bot's user_data_dir (candles, "
                             "trades database, models), the exchange's clock and the overlays")
    parser.add_argument("--fresh", action="store_true",
                        help="start a new clock: the trades and models of the last one are "
                             "moved into <rundir>/previous/ (default: continue the last clock "
                             "on the same candles)")
    parser.add_argument("--history", type=int, default=DEFAULT_HISTORY,
                        help="recorded candles already in the past at start")
    parser.add_argument("--logdir", type=Path, default=ROOT / "user_data" / "logs")
    parser.add_argument("--config", "-c", action="append", default=[], type=Path,
                        help="further freqtrade config files, applied last (repeatable)")
    return parser.parse_args(argv)


def bot_data(state: DryRunState) -> Path:
    """The bot's candle folder in the dry-run's folder, emptied: freqtrade downloads the
    candles again from the exchange."""
    data = state.folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for old in data.glob("*.feather"):
        old.unlink()
    return data


def state_overlays(state: DryRunState, port: int) -> list[Path]:
    """The replay overlay (`port`) and the state overlay (user_data_dir, db_url), written
    into the dry-run's folder: the configs of its bot and of its backtest."""
    state_path = state.folder / "state.json"
    state_path.write_text(json.dumps(state.overlay(), indent=4) + "\n")
    return [write_replay_overlay(state.folder / "replay.json", port), state_path]


def prepare_rundir(state: DryRunState, port: int, api_port: int) -> tuple[Path, list[Path]]:
    """The bot's empty data folder and the overlay files, in the dry-run's folder."""
    data = bot_data(state)
    overlays = state_overlays(state, port)
    api = state.folder / "api.json"
    api.write_text(json.dumps(api_overlay(api_port), indent=4) + "\n")
    return data, [*overlays, api]


def replay_clock(args: argparse.Namespace, state: DryRunState) -> ReplayClock:
    """The clock this run replays on (the last one, or a new one from now), said in one line."""
    wanted = ReplayClock(now_ms(), args.history, TICKER_INTERVAL,
                         recording_fingerprint(args.datadir))
    choice, line = state.start(wanted, fresh=args.fresh)
    say(line)
    return choice.clock


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def freqtrade_command(command: str, configs: list[Path], data: Path) -> list[str]:
    """freqtrade's CLI `command` through bound_freqtrade (it ends with this script), with
    `configs` and the candle folder `data`; with the project's strategy and model for the
    commands that run them."""
    cmd = [sys.executable, "-m", "self_learning_offline.bound_freqtrade", command,
           *[a for c in configs for a in ("-c", str(c))], "--datadir", str(data)]
    if command in ("trade", "backtesting"):
        cmd += ["--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel",
                # the project's strategy, whatever user_data_dir a -c config sets (config.json
                # names no strategy_path: freqtrade would list the strategy twice)
                "--strategy-path", str(ROOT / "user_data" / "strategies")]
    return cmd


def start_bot(args: argparse.Namespace, data: Path, overlays: list[Path],
              env: dict[str, str]) -> subprocess.Popen:
    configs = [*SETUP_CONFIGS, *overlays, *args.config]
    return subprocess.Popen(
        [*freqtrade_command("trade", configs, data), "--dry-run",
         "--logfile", str(args.logdir / "dry_run.log")],
        cwd=ROOT, env={**os.environ, **env}, **bound_popen_options())


def stop_freqtrade(child: subprocess.Popen, what: str = "The bot",
                   note: str = " (it saves the models)", timeout_s: float = STOP_TIMEOUT_S) -> int:
    """The stop request that bound_freqtrade turns into one SIGTERM (freqtrade's graceful stop:
    a bot saves the models), SIGKILL after `timeout_s`; `what` names the child in the lines."""
    if child.poll() is None:
        say(f"Stopping {what.lower()}{note} ...")
        child.send_signal(STOP_SIGNAL)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            say(f"{what} did not stop within {timeout_s:g} s: killing it.")
            child.kill()
            child.wait()
    return child.returncode


def banner(args: argparse.Namespace, password: str) -> str:
    return (f"\nFreqUI:          http://127.0.0.1:{args.api_port}  user {USERNAME}, password "
            f"{password}  (generated for this run, kept in no file)\nReplay exchange: "
            f"{replay_url(args.port)} (log {args.logdir / 'replay_exchange.log'})\nBot log: "
            f"        {args.logdir / 'dry_run.log'}\nCtrl-C stops the bot (it saves the "
            "models), then the exchange.\n")


def run(args: argparse.Namespace, stops: StopSignals) -> int:
    ensure_free(args.api_port, "the bot's API server (FreqUI)")
    ensure_free(args.port, EXCHANGE)  # before the clock's line: a held port is the first word
    state = DryRunState(args.rundir)
    clock = replay_clock(args, state)
    data, overlays = prepare_rundir(state, args.port, args.api_port)
    env = api_secrets()
    exchange = start_replay_exchange(args.datadir, args.port, args.logdir / "replay_exchange.log",
                                     timeout=START_TIMEOUT_S, realtime=True, history=args.history,
                                     interval=TICKER_INTERVAL, started_ms=clock.started_ms,
                                     cwd=ROOT, bound=True)
    bot = None
    try:
        bot = start_bot(args, data, overlays, env)
        say(f"Replay exchange PID {exchange.pid}, bot PID {bot.pid}: starting; FreqUI's "
            "address and password follow once its API answers.")
        announced = False
        while bot.poll() is None:
            if not announced and answers(f"http://127.0.0.1:{args.api_port}/api/v1/ping"):
                say(banner(args, env[PASSWORD_ENV]))
                announced = True
            time.sleep(POLL_S)
        say(f"The bot exited with {bot.returncode}.")
        return bot.returncode
    except StopRequested as stop:
        stops.stopping()
        say(f"{stop.signame} received.")
        code = stop_freqtrade(bot) if bot is not None else 0
        return 0 if code in STOPPED_CODES else code
    finally:
        stops.stopping()
        if bot is not None and bot.poll() is None:
            stop_freqtrade(bot)
        say("Stopping the replay exchange ...")
        stop_replay_exchange(exchange)
        for overlay in overlays:
            overlay.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not any(args.datadir.glob("*.feather")):
        raise SystemExit(f"no candles in {args.datadir}: run `make data` first")
    if not any(args.datadir.glob("*-5m.feather")):
        # the realtime replay would serve the finest recording there, e.g. 1h candles, as 5m
        raise SystemExit(f"no 5m candles in {args.datadir} (the dry-run's 5m setup replays "
                         "them): run `make data` first")
    args.logdir.mkdir(parents=True, exist_ok=True)
    with StopSignals("Waiting for the bot's shutdown save.") as stops, TerminalForeground():
        try:
            code = run(args, stops)
        except (PortInUseError, ReplayExchangeError) as err:
            say(str(err))
            return 1
        except StopRequested:  # before the bot started
            code = 0
    say("Dry-run stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
