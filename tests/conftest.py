"""Shared fixtures for the tests that drive the real freqtrade CLI.

* `replay_exchange`: the project's offline Binance
  (`python -m self_learning_offline.replay_exchange`) serving ../shared/data/binance on a free
  port, one subprocess for the session.
* `replay_overlay`: a copy of config.replay.json pointing ccxt at that port.
* `realtime_exchange`: the replay exchange in realtime mode (live_support.RealtimeExchange)
  replaying ETC/BTC's real 5m candles on a 1m grid up to the present, one per test module.
* `market_datadir`: a --datadir for freqtrade: the shared 5m candles (symlinked, read-only) plus
  15m and 1h candles resampled from them, because FreqAI's `include_timeframes` needs them;
  `load_candles(pair, timeframe)` reads one of them.
* `base_config`: the 5m setup, config.json with the config.5m.json overlay merged over it as
  freqtrade merges them (`-c config.json -c config.5m.json`, CONFIG_FILES): the shared data is
  20 days of 5m candles, too short for the shipped 1h setup's 30 training days; the tests of
  the shipped 1h config (test_hourly_config.py, e2e/test_hourly_strategy_e2e.py) read
  config.json alone (`shipped_config`).
* `ft_config`: base_config deep-copied per test and adapted to the shared data (X/BTC markets,
  absolute code paths, a user_data folder under tmp_path, no API server); edit `.data`, then
  `.write()` puts it into tmp_path. `shipped_ft_config`: the same from config.json as shipped.
* `run_freqtrade`: runs `python -m freqtrade <command> ...` with a timeout and returns its exit
  code, console output and log file.
* `short_backtest`, `windows_backtest`: the shortest `freqtrade backtesting` on the shared data
  and a four-window one of two pairs with TensorBoard on (backtest_support: FinishedBacktest),
  run once for the session, side by side (`session_backtests`); tests read them or take a byte
  copy of them.

Stopping pytest (SIGTERM as Ctrl-C) stops what the tests started (session_children).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from freqtrade.misc import deep_merge_dicts
from session_children import TerminateAsInterrupt, stop_children

from self_learning_offline.replay_exchange.overlay import write_replay_overlay
from self_learning_offline.replay_exchange.process import (
    start_replay_exchange,
    stop_replay_exchange,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data" / "binance"
CONFIG_FILE = ROOT / "config.json"  # the shipped default: the 1h setup
FIVE_MINUTE_OVERLAY = ROOT / "config.5m.json"
# What the tests of the 5m path run: `-c config.json -c config.5m.json`.
CONFIG_FILES = (CONFIG_FILE, FIVE_MINUTE_OVERLAY)
# Pairs of the shared data (X/BTC, 5m, 2018-01-10 .. 2018-01-30); see ../shared/data/README.md.
SHARED_PAIRS = ["ETC/BTC", "LTC/BTC", "ADA/BTC", "DASH/BTC", "XLM/BTC", "XMR/BTC"]
RESAMPLED = {"15m": "15min", "1h": "1h"}
BASE_MINUTES = 5
REPLAY_START_TIMEOUT_S = 30.0


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that nothing listens on right now. Each is held
    until all are picked: two `free_port()` calls in a row may return the same port (the
    first is free again when the second binds)."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for several at once:
    `free_ports`)."""
    return free_ports(1)[0]


# -- the session's child processes ----------------------------------------------------------

_TERMINATE = TerminateAsInterrupt()


def pytest_configure(config) -> None:
    _TERMINATE.install()  # SIGTERM: the fixtures' teardown and the tests' finally blocks run


def pytest_unconfigure(config) -> None:
    _TERMINATE.uninstall()
    left = stop_children()  # what an interrupted test left running
    if left:
        print(f"\nstopped child processes left running: {left}", file=sys.stderr)


@pytest.fixture(autouse=True)
def xla_flags_of_the_test_stay_in_it():
    """A SelfLearningModel made in this process points TF_XLA_FLAGS at its XLA cache
    (runtime/xla_cache.configure_xla_cache writes os.environ): restored after each test, so
    that no later test's child processes inherit it (their $SELF_LEARNING_XLA_CACHE decides:
    a crash drill's own folder, `off`)."""
    before = os.environ.get("TF_XLA_FLAGS")
    yield
    if before is None:
        os.environ.pop("TF_XLA_FLAGS", None)
    else:
        os.environ["TF_XLA_FLAGS"] = before


def _require_shared_data() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candles missing: {SHARED_DATA} (see ../shared/data/README.md)")


# -- replay exchange ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayServer:
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def replay_exchange(tmp_path_factory) -> ReplayServer:
    """The replay exchange on ../shared/data/binance, stopped (SIGTERM) after the session."""
    _require_shared_data()
    port = free_port()
    log_path = tmp_path_factory.mktemp("replay") / "replay_exchange.log"
    proc = start_replay_exchange(SHARED_DATA, port, log_path, timeout=REPLAY_START_TIMEOUT_S,
                                 cwd=ROOT)
    try:
        yield ReplayServer(port, log_path)
    finally:
        stop_replay_exchange(proc)


@pytest.fixture(scope="module")
def realtime_exchange(tmp_path_factory):
    """The live e2e tests' realtime exchange (live_support: REALTIME_PAIR and its history);
    skips the test when the shared candles are missing."""
    from live_support import REALTIME_HISTORY_CANDLES, REALTIME_PAIR_DIR, RealtimeExchange

    exchange = RealtimeExchange.on_shared_candles(tmp_path_factory.mktemp("realtime"),
                                                  REALTIME_PAIR_DIR, REALTIME_HISTORY_CANDLES)
    yield exchange
    exchange.stop()


@pytest.fixture
def replay_overlay(replay_exchange: ReplayServer, tmp_path: Path) -> Path:
    """config.replay.json for the running replay exchange's port."""
    return write_replay_overlay(tmp_path / "config.replay.json", replay_exchange.port)


# -- candles --------------------------------------------------------------------------------


def resample_candles(candles: pd.DataFrame, rule: str, per_candle: int) -> pd.DataFrame:
    """OHLCV of a longer timeframe, keeping only complete candles (`per_candle` base candles)."""
    groups = candles.set_index("date").resample(rule, label="left", closed="left")
    out = groups.agg({"open": "first", "high": "max", "low": "min", "close": "last",
                      "volume": "sum"})
    return out[groups["close"].count() == per_candle].reset_index()


@pytest.fixture(scope="session")
def market_datadir(tmp_path_factory) -> Path:
    """--datadir with the shared 5m files (symlinks) and their 15m / 1h resamples."""
    _require_shared_data()
    datadir = tmp_path_factory.mktemp("datadir")
    for source in sorted(SHARED_DATA.glob("*-5m.feather")):
        (datadir / source.name).symlink_to(source)
        candles = pd.read_feather(source)
        for timeframe, rule in RESAMPLED.items():
            per_candle = int(pd.Timedelta(rule) / pd.Timedelta(minutes=BASE_MINUTES))
            resampled = resample_candles(candles, rule, per_candle)
            resampled.to_feather(datadir / source.name.replace("-5m", f"-{timeframe}"))
    return datadir


@pytest.fixture(scope="session")
def load_candles(market_datadir: Path):
    """`load_candles("ETC/BTC", "1h")` -> that pair's candles from market_datadir."""

    def load(pair: str, timeframe: str) -> pd.DataFrame:
        return pd.read_feather(market_datadir / f"{pair.replace('/', '_')}-{timeframe}.feather")

    return load


# -- config ---------------------------------------------------------------------------------


def config_args(files=CONFIG_FILES) -> list[str]:
    """`-c FILE` per config file, for a freqtrade command line."""
    return [arg for path in files for arg in ("-c", str(path))]


@pytest.fixture(scope="session")
def shipped_config() -> dict:
    """config.json as shipped (the 1h setup)."""
    return json.loads(CONFIG_FILE.read_text())


@pytest.fixture(scope="session")
def base_config(shipped_config: dict) -> dict:
    """The 5m setup the tests on the shared 5m data run: config.5m.json over config.json."""
    return deep_merge_dicts(json.loads(FIVE_MINUTE_OVERLAY.read_text()),
                            copy.deepcopy(shipped_config))


@dataclass
class FtConfig:
    """A test's own copy of base_config (the 5m setup): edit `data`, then `write()` it into
    tmp_path."""

    data: dict
    folder: Path

    def write(self, name: str = "config.json") -> Path:
        path = self.folder / name
        path.write_text(json.dumps(self.data, indent=2))
        return path


def _test_config(config: dict, tmp_path: Path) -> FtConfig:
    """A deep copy of `config` adapted to this test: shared-data markets, tmp user_data,
    absolute code paths, no API server."""
    config = copy.deepcopy(config)
    user_data = tmp_path / "user_data"
    user_data.mkdir()
    config.update(
        stake_currency="BTC",
        dry_run_wallet=1.0,
        user_data_dir=str(user_data),
        strategy_path=str(ROOT / "user_data" / "strategies"),
        freqaimodel_path=str(ROOT / "freqai_models"),
    )
    config["exchange"]["pair_whitelist"] = SHARED_PAIRS[:2]
    config["api_server"]["enabled"] = False
    return FtConfig(config, tmp_path)


@pytest.fixture
def ft_config(base_config: dict, tmp_path: Path) -> FtConfig:
    """base_config (the 5m setup) for this test only: shared-data markets, tmp user_data, no API
    server."""
    return _test_config(base_config, tmp_path)


@pytest.fixture
def shipped_ft_config(shipped_config: dict, tmp_path: Path) -> FtConfig:
    """config.json as shipped (the 1h setup) for this test only, adapted as ft_config."""
    return _test_config(shipped_config, tmp_path)


# -- freqtrade CLI --------------------------------------------------------------------------


@dataclass(frozen=True)
class FreqtradeRun:
    args: list[str]
    returncode: int
    output: str  # stdout + stderr (the rich tables are printed to stdout)
    log: str  # the --logfile
    seconds: float

    def describe(self, tail: int = 80) -> str:
        lines = (self.output + "\n" + self.log).splitlines()[-tail:]
        return f"freqtrade {' '.join(self.args)} -> exit {self.returncode}\n" + "\n".join(lines)


def freqtrade_env() -> dict[str, str]:
    # freqtrade skips its logging set-up (so --logfile stays empty) when it sees PYTEST_VERSION.
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    env.update(
        TF_CPP_MIN_LOG_LEVEL="2",
        # Two shared cores: keep TensorFlow and BLAS from spreading over more threads.
        TF_NUM_INTRAOP_THREADS="2",
        TF_NUM_INTEROP_THREADS="1",
        OMP_NUM_THREADS="2",
        # Wide enough that rich never truncates the result tables we parse.
        COLUMNS="250",
        NO_COLOR="1",
    )
    return env


def run_freqtrade(args: list[str], *, cwd: Path, timeout: float) -> FreqtradeRun:
    """`python -m freqtrade <args> --logfile cwd/freqtrade.log`; kills the run on timeout."""
    logfile = cwd / "freqtrade.log"
    full_args = [*args, "--logfile", str(logfile)]
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "freqtrade", *full_args],
        cwd=cwd, env=freqtrade_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        log = logfile.read_text() if logfile.exists() else ""
        pytest.fail(f"freqtrade {args[0]} timed out after {timeout:.0f} s\n"
                    + "\n".join((output + log).splitlines()[-60:]))
    log = logfile.read_text() if logfile.exists() else ""
    return FreqtradeRun(full_args, proc.returncode, output, log, time.monotonic() - started)


@pytest.fixture
def freqtrade_cli(tmp_path: Path):
    """run_freqtrade bound to this test's tmp_path as the working directory."""

    def run(args: list[str], timeout: float) -> FreqtradeRun:
        return run_freqtrade(args, cwd=tmp_path, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def session_backtests(base_config: dict, replay_exchange: ReplayServer, market_datadir: Path,
                      tmp_path_factory):
    """short_backtest's and windows_backtest's runs (backtest_support), both started when either
    is first asked for: two freqtrade processes side by side. Returns once both have finished,
    so no backtest runs on beside the tests."""
    from backtest_support import finished_short_backtest, finished_windows_backtest

    pool = ThreadPoolExecutor(max_workers=2)
    runs = {}
    for name, finish in (("short", finished_short_backtest),
                         ("windows", finished_windows_backtest)):
        folder = tmp_path_factory.mktemp(f"{name}_backtest")
        overlay = write_replay_overlay(folder / "config.replay.json", replay_exchange.port)
        runs[name] = pool.submit(finish, _test_config(base_config, folder), overlay,
                                 market_datadir)
    try:
        wait(runs.values())
        yield runs
    finally:  # after a stop, the runs' freqtrade processes end with the session (conftest)
        pool.shutdown(wait=False, cancel_futures=True)


@pytest.fixture(scope="session")
def short_backtest(session_backtests: dict):
    """The short backtest (backtest_support.FinishedBacktest), finished once for the session:
    `short_backtest.copy_into(tmp_path)` gives a test its own copy to go on from."""
    return session_backtests["short"].result()


@pytest.fixture(scope="session")
def windows_backtest(session_backtests: dict):
    """The four-window backtest of two pairs (backtest_support.finished_windows_backtest),
    finished once for the session."""
    return session_backtests["windows"].result()
