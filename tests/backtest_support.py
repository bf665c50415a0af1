"""What the e2e tests of `freqtrade backtesting` (and of the commands that reuse a backtest:
hyperopt, plot-dataframe, the bias analysers) share.

* `small_run`: a test's config set to a few pairs under a fresh identifier, a small model.
* `BacktestRun`: the config, the replay overlay, the candles and the time range of one run; the
  options every freqtrade command of the run repeats, and where the run leaves its results.
* `FinishedBacktest` (conftest's session fixtures `short_backtest` and `windows_backtest`): a
  backtest run once per session; the tests that go on from a finished backtest (hyperopt, a
  second backtest of the same identifier, plot-dataframe) each take a byte copy of it
  (`copy_into`), as they would otherwise each run that same backtest first.
* `generated_hourly_candles` and `replay_serving`: 1h candles from the project's market
  generator, and a replay exchange serving a folder of candles for a block.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from conftest import ROOT, FreqtradeRun, FtConfig, free_port, run_freqtrade
from freqtrade.data.btanalysis import load_backtest_data

from self_learning_offline.replay_exchange.overlay import write_replay_overlay
from self_learning_offline.replay_exchange.process import (
    start_replay_exchange,
    stop_replay_exchange,
)

STRATEGY = "SelfLearningStrategy"
MODEL = "SelfLearningModel"
# A small model, for speed: three epochs for a full training, one for an update.
FAST_MODEL = {"epochs": 3, "incremental_epochs": 1}
# The shortest run on the shared 5m data (X/BTC from 2018-01-10): one pair, two training days
# and the startup candles before 2018-01-15 fit, then two backtest days.
SHORT_PAIR = "ETC/BTC"
SHORT_TIMERANGE = "20180115-20180117"
SHORT_TRAIN_DAYS = 2
# The short backtest's one-day windows, each window's model folder kept (as config.5m.json and
# config.json have it; spelled out because the tests of stored windows depend on them).
SHORT_WINDOW_DAYS = 1
BACKTEST_TIMEOUT_S = 300
# The four-window backtest of two pairs with the shipped model settings and TensorBoard on:
# five training days and 250 startup candles before 2018-01-17 fit in the shared data.
WINDOWS_PAIRS = ["ETC/BTC", "LTC/BTC"]
WINDOWS_TIMERANGE = "20180117-20180121"
WINDOWS_TRAIN_DAYS = 5
# The generated 1h candles: 30 days up to this day, seed 42.
GENERATED_END = "20250114"


def small_run(config: dict, pairs: Sequence[str], name: str, *, model: dict | None = None,
              **freqai) -> str:
    """Sets a test's config (ft_config.data) to trade `pairs` under a fresh identifier
    `<name>-<8 hex digits>`, with these `freqai` settings (train_period_days, ...) and the
    `model` settings (freqai.self_learning) over the shipped ones; returns the identifier."""
    identifier = f"{name}-{uuid.uuid4().hex[:8]}"
    config["exchange"]["pair_whitelist"] = list(pairs)
    config["freqai"].update(identifier=identifier, **freqai)
    if model is not None:
        config["freqai"]["self_learning"].update(model)
    return identifier


@dataclass(frozen=True)
class BacktestRun:
    """One test's freqtrade run: its config, the overlay pointing ccxt at a replay exchange,
    the candles (--datadir) and the time range."""

    ft_config: FtConfig
    overlay: Path
    datadir: Path
    timerange: str
    strategy: str = STRATEGY

    @property
    def user_data(self) -> Path:
        return Path(self.ft_config.data["user_data_dir"])

    @property
    def models(self) -> Path:
        """The model folder of the run's identifier."""
        return self.user_data / "models" / self.ft_config.data["freqai"]["identifier"]

    def options(self) -> list[str]:
        """Writes the config; the options every freqtrade command of this run takes."""
        return ["-c", str(self.ft_config.write()), "-c", str(self.overlay),
                "--datadir", str(self.datadir), "--timerange", self.timerange,
                "--strategy", self.strategy, "--freqaimodel", MODEL]

    def backtesting(self, export_trades: bool = True) -> list[str]:
        """`backtesting` with nothing cached, exporting its trades unless told not to."""
        export = ["--export", "trades"] if export_trades else []
        return ["backtesting", *self.options(), *export, "--cache", "none"]

    def trades(self) -> pd.DataFrame:
        """The trades the backtest exported."""
        return load_backtest_data(self.user_data / "backtest_results", strategy=self.strategy)


@dataclass(frozen=True)
class FinishedBacktest:
    """The short backtest, finished in `folder` (its config.json, user_data and freqtrade.log):
    SHORT_PAIR over SHORT_TIMERANGE, SHORT_TRAIN_DAYS of training, FAST_MODEL, one-day
    windows whose model folders are kept, trades exported; `run` is its freqtrade run."""

    folder: Path
    setup: BacktestRun
    run: FreqtradeRun

    def copy_into(self, folder: Path) -> BacktestRun:
        """A byte copy of the finished run in `folder` (a test's tmp_path, where its
        freqtrade_cli runs): user_data, and freqtrade.log, which the test's next command
        appends to as it would after running the backtest itself. Our store keeps relative
        paths and FreqAI finds a backtest's windows from the config's user_data_dir."""
        shutil.copytree(self.folder / "user_data", folder / "user_data", symlinks=True)
        shutil.copy2(self.folder / "freqtrade.log", folder / "freqtrade.log")
        config = copy.deepcopy(self.setup.ft_config.data)
        config["user_data_dir"] = str(folder / "user_data")
        return BacktestRun(FtConfig(config, folder), self.setup.overlay, self.setup.datadir,
                           self.setup.timerange)


def finished_backtest(setup: BacktestRun) -> FinishedBacktest:
    """Runs `setup`'s backtest (trades exported) in its config's folder."""
    folder = setup.ft_config.folder
    run = run_freqtrade(setup.backtesting(), cwd=folder, timeout=BACKTEST_TIMEOUT_S)
    return FinishedBacktest(folder, setup, run)


def finished_short_backtest(ft_config: FtConfig, overlay: Path, datadir: Path) -> FinishedBacktest:
    """The short backtest, run in ft_config.folder (see FinishedBacktest)."""
    small_run(ft_config.data, [SHORT_PAIR], "short", model=FAST_MODEL,
              train_period_days=SHORT_TRAIN_DAYS, backtest_period_days=SHORT_WINDOW_DAYS,
              save_backtest_models=True)
    return finished_backtest(BacktestRun(ft_config, overlay, datadir, SHORT_TIMERANGE))


def finished_windows_backtest(ft_config: FtConfig, overlay: Path,
                              datadir: Path) -> FinishedBacktest:
    """WINDOWS_PAIRS over WINDOWS_TIMERANGE (four one-day windows per pair: a full training,
    then continual learning) with the shipped model settings and TensorBoard on, run in
    ft_config.folder: test_backtest_e2e reads its trades and predictions,
    test_backtest_charts_e2e its TensorBoard events, plots and charts ETC/BTC."""
    small_run(ft_config.data, WINDOWS_PAIRS, "e2e", train_period_days=WINDOWS_TRAIN_DAYS,
              activate_tensorboard=True)
    return finished_backtest(BacktestRun(ft_config, overlay, datadir, WINDOWS_TIMERANGE))


def generated_hourly_candles(datadir: Path, pairs: Sequence[str]) -> Path:
    """30 days of 1h candles of `pairs` up to GENERATED_END (seed 42), written into `datadir`
    by `python -m self_learning_offline.market`."""
    subprocess.run([sys.executable, "-m", "self_learning_offline.market", "--out", str(datadir),
                    "--pairs", *pairs, "--timeframe", "1h", "--days", "30",
                    "--end", GENERATED_END, "--seed", "42"], check=True, cwd=ROOT)
    return datadir


@contextmanager
def replay_serving(datadir: Path, folder: Path) -> Iterator[Path]:
    """A replay exchange serving `datadir` for the block (its log in `folder`); yields the
    config overlay pointing ccxt at it, written into `folder`."""
    port = free_port()
    proc = start_replay_exchange(datadir, port, folder / "replay_exchange.log", cwd=ROOT)
    try:
        yield write_replay_overlay(folder / "config.replay.json", port)
    finally:
        stop_replay_exchange(proc)
