"""Helpers for the live (dry-run) end-to-end tests.

* `RealtimeExchange`: the replay exchange in `--realtime` mode (recorded candles mapped onto the
  present, one new candle per `--ticker-interval` of wall clock) as a subprocess.
* `realtime_bot_config`: the settings, over config.json + config.5m.json and the replay overlay,
  that make a dry-run bot trade REALTIME_PAIR on that exchange (one home for the e2e tests).
* `LiveBot`: one `freqtrade trade` subprocess whose --logfile the test polls, with hard timeouts
  on every wait, SIGTERM / SIGKILL, and the log tail in every failure message.
* Store readers: the version folders of a pair and their metadata, the newest version a restart
  must load, and a fingerprint of a version's weights read with plain `tf.saved_model.load`.
* API probes: `listening` (a port accepts connections) and `login` (the HTTP status of a
  token login on the bot's REST API).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SHARED_DATA, config_args, free_port, freqtrade_env

from self_learning.runtime import freqai_files
from self_learning_offline.replay_exchange.process import (
    start_replay_exchange,
    stop_replay_exchange,
)

# The pair the live e2e tests trade on the realtime exchange (fixture `realtime_exchange`,
# conftest.py), its store folder, and the 1m candles of history it serves: 1 training day +
# FreqAI's startup candles (375 here) + the minutes a test runs.
REALTIME_PAIR, REALTIME_PAIR_DIR = "ETC/BTC", "ETC_BTC"
REALTIME_HISTORY_CANDLES = 2600
NETWORKS = ("encoder", "decoder", "feature_discovery", "liquidity", "learner_state")
VERSION_DIR = re.compile(r"v\d{6}")
TMP_PREFIX = ".tmp-self_learning-"  # self_learning.store.layout.TMP_PREFIX: a save in flight
POLL_S = 0.2


def log_tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def complete_lines(text: str) -> str:
    """`text` up to its last newline: a log read while the process appends to it may end in
    part of a line (a record's write crosses a page boundary), e.g. `counter 2` of
    `counter 25`."""
    return text[: text.rfind("\n") + 1]


# -- freqtrade's own stop race ----------------------------------------------------------------

LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - ")
CLEANUP_ERROR = " - freqtrade.freqtradebot - ERROR - Error during cleanup"
FRAME = re.compile(r'^\s*File "([^"]*)"')
FREQTRADE_OR_SQLALCHEMY = re.compile(r"/site-packages/(freqtrade|sqlalchemy)/|^<sqlalchemy ")


def _is_stop_race(block: list[str]) -> bool:
    """freqtrade's SIGTERM handler in the traceback, a PendingRollbackError at its end, and
    every frame in freqtrade or SQLAlchemy (none of ours, none of the user's)."""
    frames = [m.group(1) for m in map(FRAME.match, block) if m]
    return (any("in term_handler" in line for line in block)
            and block[-1].startswith("sqlalchemy.exc.PendingRollbackError")
            and all(FREQTRADE_OR_SQLALCHEMY.search(path) for path in frames))


def without_freqtrade_stop_race(log: str) -> str:
    """The log without freqtrade's own "Error during cleanup" when a SIGTERM landed inside a
    database statement. freqtrade's SIGTERM handler (commands/trade_commands.py) raises
    KeyboardInterrupt wherever the main thread is; inside a SQLAlchemy statement it leaves the
    session's transaction invalid, and FreqtradeBot.cleanup's last `Trade.commit()` then logs
    that error with a PendingRollbackError traceback. It happens in freqtrade and SQLAlchemy
    alone, on any strategy, at random (once in CI in dozens of runs); every other error line
    and traceback stays in the log."""
    lines, kept, i = log.splitlines(keepends=True), [], 0
    while i < len(lines):
        end = i + 1
        if CLEANUP_ERROR in lines[i]:
            while end < len(lines) and not LOG_RECORD.match(lines[end]):
                end += 1
            block = [line.rstrip("\n") for line in lines[i + 1:end]]
            while block and not block[-1].strip():
                block.pop()
            if _is_stop_race(block):
                i = end
                continue
        kept.extend(lines[i:end])
        i = end
    return "".join(kept)


# -- the bot's REST API -----------------------------------------------------------------------


def listening(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def login(api_port: int, password: str) -> int:
    """The HTTP status of a token login as `freqtrader` with `password` on the bot's API."""
    request = urllib.request.Request(f"http://127.0.0.1:{api_port}/api/v1/token/login",
                                     method="POST")
    token = base64.b64encode(f"freqtrader:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


# -- replay exchange ------------------------------------------------------------------------


@dataclass
class RealtimeExchange:
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def on_shared_candles(cls, folder: Path, pair_dir: str, history: int) -> RealtimeExchange:
        """A 1m realtime exchange in `folder` replaying the real 5m candles of one shared pair
        (../shared/data); the test is skipped when they are missing."""
        shared = SHARED_DATA / f"{pair_dir}-5m.feather"
        if not shared.is_file():
            pytest.skip(f"real candles missing in {SHARED_DATA} (see ../shared/data/README.md)")
        datadir = folder / "data"
        datadir.mkdir()
        (datadir / shared.name).symlink_to(shared)
        return cls.start(datadir, folder / "replay_exchange.log", history=history, interval="1m")

    @classmethod
    def start(cls, datadir: Path, log_path: Path, history: int, interval: str,
              timeout: float = 30.0) -> RealtimeExchange:
        port = free_port()
        proc = start_replay_exchange(datadir, port, log_path, timeout=timeout, realtime=True,
                                     history=history, interval=interval, cwd=ROOT)
        return cls(proc, port, log_path)

    def stop(self) -> None:
        stop_replay_exchange(self.proc)


# -- freqtrade trade ------------------------------------------------------------------------


def realtime_bot_config(user_data: Path, db: Path, identifier: str, self_learning: dict, *,
                        live_retrain_hours: float, keep_api: bool = False, **freqai) -> dict:
    """The override of config.json + config.5m.json (+ the replay overlay) for a bot on the
    realtime exchange: REALTIME_PAIR on a 1m timeframe with a BTC stake, this project's strategy
    and model, `user_data` and the trades database `db` (an sqlite file) of the test, and a
    FreqAI section training on one day of 1m candles (what REALTIME_HISTORY_CANDLES holds).
    `freqai` adds further keys to that section. The API server is off unless `keep_api`
    (scripts/dry_run.py's overlay, applied before, enables it)."""
    config = {
        "user_data_dir": str(user_data),
        "strategy_path": str(ROOT / "user_data" / "strategies"),
        "freqaimodel_path": str(ROOT / "freqai_models"),
        "db_url": f"sqlite:///{db}",
        "stake_currency": "BTC", "dry_run_wallet": 1.0, "timeframe": "1m",
        "initial_state": "running", "exchange": {"pair_whitelist": [REALTIME_PAIR]},
        "freqai": {"identifier": identifier, "train_period_days": 1,
                   "live_retrain_hours": live_retrain_hours,
                   "feature_parameters": {"include_timeframes": ["1m"]},
                   "self_learning": self_learning, **freqai},
    }
    if not keep_api:
        config["api_server"] = {"enabled": False}
    return config


def realtime_bot_args(overlay: Path, override: Path) -> list[str]:
    """config.json + config.5m.json, the replay `overlay` and an `override` written from
    `realtime_bot_config`, with this project's strategy and model: a freqtrade command line's
    arguments after the command."""
    return [*config_args(), "-c", str(overlay), "-c", str(override),
            "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel"]


class LiveBot:
    """`python -m freqtrade trade <args> --logfile <log>` in `cwd`, polled through its log."""

    def __init__(self, name: str, args: list[str], cwd: Path):
        self.name = name
        self.log_path = cwd / f"{name}.log"
        self.console_path = cwd / f"{name}.console.txt"
        self.args = ["trade", *args, "--logfile", str(self.log_path)]
        env = freqtrade_env()
        env["COLUMNS"] = "1000"
        with self.console_path.open("w") as console:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "freqtrade", *self.args], cwd=cwd, env=env,
                stdout=console, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.started = time.time()

    def log(self) -> str:
        """The log's complete lines (`complete_lines`): what every wait and assertion reads."""
        if not self.log_path.exists():
            return ""
        return complete_lines(self.log_path.read_text(errors="replace"))

    def describe(self, lines: int = 60) -> str:
        console = self.console_path.read_text(errors="replace")
        state = "running" if self.proc.poll() is None else f"exit {self.proc.returncode}"
        return (f"--- {self.name} ({state}), log {self.log_path} ---\n"
                f"{log_tail(self.log() or console, lines)}")

    def fail(self, message: str) -> None:
        pytest.fail(f"{self.name}: {message}\n{self.describe()}", pytrace=False)

    def wait_for(self, what: str, condition: Callable[[str], object], timeout: float,
                 poll: float = POLL_S):
        """Poll the log until `condition(log)` is truthy and return that value; fail with the
        log tail when the bot exits first or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = condition(self.log())
            if found:
                return found
            if self.proc.poll() is not None:
                self.fail(f"exited with {self.proc.returncode} while waiting for {what}")
            if time.monotonic() > deadline:
                self.fail(f"no {what} within {timeout:.0f} s")
            time.sleep(poll)

    def terminate(self, timeout: float) -> tuple[int, float]:
        """SIGTERM (what `docker stop` and systemd send); (exit code, seconds to exit)."""
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.fail(f"did not exit within {timeout:.0f} s of SIGTERM (killed)")
        return code, time.monotonic() - sent

    def kill(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)


# -- FreqAI's own files ---------------------------------------------------------------------


def freqai_files_whole(models: Path) -> bool:
    """FreqAI's files in its model folder `models` that a restarted bot reads first are there
    and whole: pair_dictionary.json parses and historic_predictions.pkl unpickles, as the
    model's own start-up check reads them (self_learning/runtime/freqai_files.inspect). FreqAI
    rewrites both in place (not atomically) after every training; a SIGKILL while it writes
    one leaves it cut, and the restart then starts from what that check recovers (FreqAI's
    backup, or no history): a kill test about our store waits for whole files so that its
    restart reads FreqAI's files as they were. Only meaningful while the bot is stopped or
    gone."""
    found = freqai_files.inspect(models)
    whole = freqai_files.State.WHOLE
    return found.history is whole and found.pair_dictionary is whole


# -- model store ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredVersion:
    number: int
    path: Path
    metadata: dict[str, dict]

    @property
    def training_counter(self) -> int:
        return max(int(doc["training_counter"]) for doc in self.metadata.values())


def complete_versions(pair_dir: Path) -> list[StoredVersion]:
    """Published versions holding the metadata of every network, oldest first. In a running
    bot's store, retention may rename the oldest version away while it is read (its
    `-delete-` temp folder): that version is no longer published and is left out."""
    found = []
    for folder in sorted(pair_dir.glob("v*")):
        docs = {name: folder / f"{name}.json" for name in NETWORKS}
        if VERSION_DIR.fullmatch(folder.name) and all(p.is_file() for p in docs.values()):
            try:
                metadata = {name: json.loads(path.read_text()) for name, path in docs.items()}
            except FileNotFoundError:  # removed by retention since is_file()
                continue
            found.append(StoredVersion(int(folder.name[1:]), folder, metadata))
    return found


def newest_version(pair_dir: Path) -> StoredVersion:
    versions = complete_versions(pair_dir)
    assert versions, f"no complete model version in {pair_dir}: {sorted(pair_dir.iterdir())}"
    return versions[-1]


IN_FLIGHT = re.compile(re.escape(TMP_PREFIX) + r"v(\d{6})-")  # a version's temp folder


def versions_in_flight(pair_dir: Path) -> list[int]:
    """Versions whose save started and was not published: their temp folders (a retention
    delete's temp folder is not one)."""
    found = (IN_FLIGHT.match(entry.name) for entry in pair_dir.iterdir() if entry.is_dir())
    return sorted(int(m.group(1)) for m in found if m)


@dataclass(frozen=True)
class WeightsFingerprint:
    """What plain TensorFlow reads back from one version, without our code."""

    version: int
    training_counter: int   # learner_state's variable
    scaling: np.ndarray     # feature_discovery's input/output scaling, fixed at its first fit
    output: np.ndarray      # feature_discovery.serve on a fixed probe input


def fingerprint(version: StoredVersion) -> WeightsFingerprint:
    import tensorflow as tf

    meta = version.metadata["feature_discovery"]
    rng = np.random.default_rng(0)
    features = rng.normal(size=(16, len(meta["features"]))).astype(np.float32)
    latent = rng.normal(size=(16, meta["hyperparameters"]["latent_dim"])).astype(np.float32)
    discovery = tf.saved_model.load(str(version.path / "feature_discovery"))
    state = tf.saved_model.load(str(version.path / "learner_state"))
    scaling = np.concatenate([discovery.input_mean.numpy(), discovery.input_std.numpy(),
                              discovery.output_scale.numpy()])
    return WeightsFingerprint(version.number, int(state.training_counter.numpy()), scaling,
                              discovery.serve(features, latent).numpy())
