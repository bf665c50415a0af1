"""`make dry-run-backtest`: backtest the predictions the offline dry-run's models made.

freqtrade's follow-up of a dry run is `freqtrade backtesting --freqai-backtest-live-models`
(docs/operations.md, "Backtesting what the bot predicted"): FreqAI trades the bot's saved
`historic_predictions.pkl` instead of training. It needs the bot's candles, which freqtrade
does not keep, and the replay exchange stops with `make dry-run`. So this script:

1. reads the dry-run's clock (`--rundir`/clock.json, written by `make dry-run`);
2. starts the replay exchange on that clock (same recording, history and ticker interval),
   so every candle has the date the bot saw; the port is checked first;
3. runs `freqtrade download-data` of the bot's pairs and timeframes (the strategy's timeframe
   and FreqAI's include_timeframes) from the exchange's first candle on, into `--rundir`/data,
   then `freqtrade backtesting --freqai-backtest-live-models --export trades` with the configs
   the dry-run uses (config.json + config.5m.json, its replay and state overlays, `-c` files);
4. stops the exchange whatever happens and exits with freqtrade's code.

The backtest only reads the dry-run's models and never opens its trades database (FreqAI
rewrites its run_params.json). Results: `--rundir`/backtest_results.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from dry_run import (
    ROOT,
    SETUP_CONFIGS,
    START_TIMEOUT_S,
    bot_data,
    freqtrade_command,
    state_overlays,
    stop_freqtrade,
)
from freqtrade.configuration.load_config import load_from_files
from freqtrade.exchange import timeframe_to_msecs

from self_learning.runtime.run_stores import LIVE_STORES, live_store
from self_learning.store import writer_lock  # no TensorFlow: the store package loads lazily
from self_learning_offline.children import StopRequested, StopSignals, bound_popen_options, say
from self_learning_offline.dry_run_state import (
    DryRunState,
    ReplayClock,
    UnreadableClock,
    recording_fingerprint,
)
from self_learning_offline.replay_exchange.ports import PortInUseError, ensure_free
from self_learning_offline.replay_exchange.process import WHAT as EXCHANGE
from self_learning_offline.replay_exchange.process import (
    ReplayExchangeError,
    start_replay_exchange,
    stop_replay_exchange,
)

PREDICTIONS = "historic_predictions.pkl"  # FreqAI's saved predictions of the live models
METADATA = "global_metadata.json"  # FreqAI's; LIVE_START: the bot's first live candle
LIVE_START = "start_dry_live_date"
RESULTS_DIR = "backtest_results"
STOP_TIMEOUT_S = 30  # a backtest saves nothing on its way out
EXCHANGE_LOG = "replay_exchange.backtest.log"  # the dry-run's own log is kept


class NoDryRunError(RuntimeError):
    """Nothing to backtest: the message names the file and says to run `make dry-run`."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8701, help="replay exchange port")
    parser.add_argument("--datadir", type=Path, default=ROOT / "user_data" / "data" / "demo",
                        help="the candles the dry-run's exchange replayed (read only)")
    parser.add_argument("--rundir", type=Path, default=ROOT / "user_data" / "dry_run",
                        help="the dry-run's folder (its clock, models and trades database)")
    parser.add_argument("--logdir", type=Path, default=ROOT / "user_data" / "logs")
    parser.add_argument("--config", "-c", action="append", default=[], type=Path,
                        help="the further config files the dry-run was started with")
    return parser.parse_args(argv)


def dry_run_clock(state: DryRunState, datadir: Path) -> ReplayClock:
    """The clock of the dry-run in `state`, which must have replayed `datadir`."""
    clock = state.saved_clock()
    if clock is None:
        raise NoDryRunError(f"no {state.clock_path}: run `make dry-run` first")
    if isinstance(clock, UnreadableClock):
        raise NoDryRunError(f"{clock.reason}: run `make dry-run` first")
    if recording_fingerprint(datadir) != clock.fingerprint:
        raise NoDryRunError(f"the candles in {datadir} are not the ones the dry-run of "
                            f"{state.clock_path} replayed: pass its --datadir")
    return clock


def check_stopped(state: DryRunState) -> None:
    """The dry-run's bot has stopped: a running bot holds its live store's lock (and its
    exchange the port, which the user would otherwise be told to free by killing it). Its
    identifiers: FreqAI's model folders, and the lock files beside the live stores; an
    earlier release's bot locks the store's legacy place."""
    locks = state.folder / LIVE_STORES
    identifiers = {p.name for p in state.models.glob("*") if p.is_dir()} | {
        p.name.removesuffix(".lock") for p in locks.glob("*.lock")}
    for identifier in sorted(identifiers):
        live = live_store(state.folder, identifier)
        for store in (live.root, live.legacy):
            held_by = writer_lock.holder(store)
            if held_by:
                raise NoDryRunError(
                    f"the dry-run is still running ({held_by} holds its models in {store}): "
                    "stop it first (Ctrl-C where `make dry-run` runs), then backtest what it "
                    "saved")


def bot_settings(configs: list[Path]) -> tuple[list[str], Path]:
    """The bot's timeframes (the strategy's first, then FreqAI's include_timeframes) and the
    models folder of its identifier, from its merged configs."""
    config = load_from_files([str(c) for c in configs])
    freqai = config["freqai"]
    timeframes = [config["timeframe"]]
    timeframes += [tf for tf in freqai["feature_parameters"]["include_timeframes"]
                   if tf not in timeframes]
    models = Path(config["user_data_dir"]) / "models" / freqai["identifier"]
    return timeframes, models


def check_predictions(models: Path) -> None:
    """FreqAI's saved predictions of the live models, and the bot's first live candle (set at
    its first prediction), are in `models`; NoDryRunError otherwise."""
    if not (models / PREDICTIONS).is_file():
        raise NoDryRunError(f"no {models / PREDICTIONS} (the predictions of the dry-run's "
                            "models): run `make dry-run` first, until its first predictions")
    try:
        live = LIVE_START in json.loads((models / METADATA).read_text())
    except (OSError, ValueError):
        live = False
    if not live:
        raise NoDryRunError(f"no {LIVE_START} in {models / METADATA}: the dry-run's models "
                            "made no prediction yet; run `make dry-run` until they do")


def first_candle_s(clock: ReplayClock, timeframe: str) -> int:
    """Open time (epoch s) of the first candle the exchange serves on `clock` at `timeframe`."""
    return clock.first_candle_ms(timeframe_to_msecs(timeframe)) // 1000


def commands(configs: list[Path], data: Path, timeframes: list[str],
             start_s: int) -> dict[str, list[str]]:
    """download-data of the bot's period, then the backtest of the live models' predictions
    (no --timerange: FreqAI takes it from the saved predictions), by freqtrade command."""
    return {"download-data": [*freqtrade_command("download-data", configs, data),
                              "--timeframes", *timeframes, "--timerange", f"{start_s}-"],
            "backtesting": [*freqtrade_command("backtesting", configs, data),
                            "--freqai-backtest-live-models", "--export", "trades",
                            "--cache", "none"]}


def run_child(name: str, cmd: list[str]) -> int:
    """Runs freqtrade; a stop request stops it the way the dry-run stops its bot (one stop
    request that bound_freqtrade turns into one SIGTERM), then is re-raised."""
    child = subprocess.Popen(cmd, cwd=ROOT, **bound_popen_options())
    try:
        return child.wait()
    except StopRequested:
        stop_freqtrade(child, f"freqtrade {name}", note="", timeout_s=STOP_TIMEOUT_S)
        raise


def run(args: argparse.Namespace, stops: StopSignals) -> int:
    state = DryRunState(args.rundir)
    clock = dry_run_clock(state, args.datadir)
    check_stopped(state)
    ensure_free(args.port, EXCHANGE)
    overlays = state_overlays(state, args.port)
    configs = [*SETUP_CONFIGS, *overlays, *args.config]  # the dry-run's, without its API's
    try:
        timeframes, models = bot_settings(configs)
        check_predictions(models)
        data = bot_data(state)
        exchange = start_replay_exchange(
            args.datadir, args.port, args.logdir / EXCHANGE_LOG,
            timeout=START_TIMEOUT_S, realtime=True, history=clock.history,
            interval=clock.interval, started_ms=clock.started_ms, cwd=ROOT, bound=True)
        try:
            say(f"Replay exchange PID {exchange.pid} on the dry-run's clock "
                f"({state.clock_path}).")
            for name, cmd in commands(configs, data, timeframes,
                                      first_candle_s(clock, timeframes[0])).items():
                code = run_child(name, cmd)
                if code != 0:
                    say(f"freqtrade {name} exited with {code}.")
                    return code
        except StopRequested as stop:
            say(f"{stop.signame} received.")
            return 130
        finally:
            stops.stopping()
            say("Stopping the replay exchange ...")
            stop_replay_exchange(exchange)
    finally:
        for overlay in overlays:
            overlay.unlink(missing_ok=True)
    say(f"Backtest of the dry-run's predictions done: results in {state.folder / RESULTS_DIR}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.logdir.mkdir(parents=True, exist_ok=True)
    with StopSignals("Stopping freqtrade and the replay exchange.") as stops:
        try:
            return run(args, stops)
        except (NoDryRunError, PortInUseError, ReplayExchangeError) as err:
            say(str(err))
            return 1
        except StopRequested:  # before freqtrade started
            return 130


if __name__ == "__main__":
    sys.exit(main())
