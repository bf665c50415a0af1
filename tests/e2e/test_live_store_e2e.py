"""End to end, live: the real `freqtrade trade --dry-run` CLI with SelfLearningStrategy +
SelfLearningModel against the replay exchange in realtime mode, stopped and killed like a user's
bot would be, and a backtest with the bot's identifier beside it: the model store and the
lifecycle keep every bit of learning, and a backtest neither loses nor misuses it.

One pair of real candles (../shared/data) replayed on a 1m grid, so one candle closes per minute
(freqtrade's shortest timeframe); FreqAI trains on one day and retrains every ~12 s
(live_retrain_hours 0.003); the model saves every 2 updates. One user_data and identifier
throughout, one bot at a time; the bots' minutes of real-time candles are the slow part, so the
two tests share them (module fixtures, each capturing what it saw right away):

* `stopped_dry_run`, the first bot: fresh models, >= 3 FreqAI trainings and >= 2 per-candle
  learning steps with a training after the first, then SIGTERM while FreqAI is retraining;
* `killed_restart`, the second bot: restarted on that store, one more per-candle step, then
  SIGKILL while a version is being written;
* test_backtest_with_...: backtests with the identifier on a byte copy of the user_data as the first
  bot left it (our store keeps relative paths; the copy spares the bots FreqAI's own
  pair_dictionary.json, which a backtest rewrites); they must leave its store byte-identical
  (issue 9). It runs after `killed_restart` on purpose: its minute of backtests is the
  minute that the restart test then has to wait anyway;
* test_backtest_of_the_live_models_...: `--freqai-backtest-live-models` on that copy (a few
  seconds): FreqAI trades the first bot's saved predictions; no learner, no store touched;
* test_live_bot_...: asserts what both bots showed, then waits until a candle has closed that no
  saved version has seen and restarts a third bot.

Every wait has a hard timeout and a failure prints the tail of the bot's log (all logs stay in
the module's tmp folder, `dry_run0`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SHARED_DATA, run_freqtrade
from freqtrade.data.btanalysis import load_backtest_data
from live_support import (
    NETWORKS,
    REALTIME_PAIR,
    REALTIME_PAIR_DIR,
    TMP_PREFIX,
    LiveBot,
    StoredVersion,
    WeightsFingerprint,
    complete_versions,
    fingerprint,
    freqai_files_whole,
    newest_version,
    realtime_bot_args,
    realtime_bot_config,
    versions_in_flight,
    without_freqtrade_stop_race,
)

from self_learning.runtime.run_stores import REPLAY_NOTICE, live_store
from self_learning.strategy.strategy_columns import SCORE_COLUMNS
from self_learning_offline.replay_exchange.overlay import write_replay_overlay

PAIR, PAIR_DIR, COIN = REALTIME_PAIR, REALTIME_PAIR_DIR, "etc"
TIMEFRAME_S = 60
SELF_LEARNING = {"epochs": 3, "incremental_epochs": 2, "save_interval": 2}
LIVE_RETRAIN_HOURS = 0.003
BACKTEST_PERIOD_DAYS = 0.5  # the backtests' two windows; a dry-run does not read it

START_TIMEOUT_S = 300      # start-up, download, first full training, first predictions
STOP_TIMEOUT_S = 60
RETRAIN_TIMEOUT_S = 120
BACKTEST_TIMEOUT_S = 300
# freqtrade turns SIGTERM into KeyboardInterrupt and 2026.9 exits with 130 after its clean
# shutdown ("SIGINT received, aborting ..."; freqtrade/main.py); older versions exited with 0.
# Once in CI the same clean shutdown (cleanup done, models saved, that line logged) ended as
# death by SIGINT (-2): Python re-raises a KeyboardInterrupt that escapes during interpreter
# shutdown that way. The assertions after each stop check that nothing learned was lost.
CLEAN_EXIT_CODES = (0, 130, -2)
ROUND_DONE = "Total time spent inferencing pairlist"  # FreqAI, once per prediction round
MIN_TRAININGS = 3
MIN_LEARNED_LINES = 2
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
OUR_LINE = re.compile(r" - (SelfLearningModel|self_learning[\w.]*) - ")
GRID_START = "2018-01-10"   # the backtest's 1m copy of the recording starts here
TIMERANGE = "20180112-20180113"  # two half-day windows after 1 training day + startup
RUN_STORE = f"self_learning_runs/backtest-{TIMERANGE}"
TRADE_COLUMNS = ["pair", "open_date", "close_date", "open_rate", "close_rate", "profit_abs"]


# -- log readers ----------------------------------------------------------------------------


def fit_lines(log: str) -> list[tuple[int, int]]:
    """(new samples, counter after) of every FreqAI training of PAIR (full or incremental)."""
    pattern = rf"(?:full|incremental) (?:training|update) of {re.escape(PAIR)}: (\d+) new " \
              r"samples.* training counter (\d+)"
    return [(int(n), int(c)) for n, c in re.findall(pattern, log)]


def fit_texts(log: str) -> list[str]:
    """The text of every FreqAI training line of PAIR, from `full training` on."""
    return re.findall(rf"(?:full training|incremental update) of {re.escape(PAIR)}: .*", log)


def learned_lines(log: str) -> list[tuple[int, int]]:
    """(candles learned, counter after) of every per-candle learning step of PAIR."""
    pattern = rf"learned (\d+) candles for {re.escape(PAIR)}, counter (\d+)"
    return [(int(n), int(c)) for n, c in re.findall(pattern, log)]


def saved_counter(log: str) -> int | None:
    """PAIR's counter in the last shutdown line (`models saved: ... per pair: PAIR N`)."""
    found = re.findall(rf"models saved: .*training counter per pair: .*{re.escape(PAIR)} (\d+)",
                       log)
    return int(found[-1]) if found else None


def loaded_lines(log: str) -> dict[str, tuple[int, int]]:
    """network -> (training counter, version) from `loaded <network> for PAIR ...` lines."""
    pattern = rf"loaded (\w+) for {re.escape(PAIR)} \(training counter (\d+)\) from v(\d{{6}})"
    return {name: (int(c), int(v)) for name, c, v in re.findall(pattern, log)}


def highest_counter(log: str) -> int:
    return max((c for _, c in fit_lines(log) + learned_lines(log)), default=0)


def learning_counters(log: str) -> list[int]:
    """Counters after updates that learned at least one new sample (not the no-op retrains)."""
    return [c for n, c in fit_lines(log) + learned_lines(log) if n > 0]


def error_lines(log: str) -> list[str]:
    """Errors, tracebacks and TensorFlow's retracing warnings (a save must not retrace);
    freqtrade's own stop race is not ours (`without_freqtrade_stop_race`)."""
    return [line for line in without_freqtrade_stop_race(log).splitlines()
            if " - ERROR - " in line or line.startswith("Traceback") or "retracing" in line]


def training_running(log: str) -> bool:
    starts = log.count(f"Starting training {PAIR}")
    ends = log.count(f"Done training {PAIR}") + log.count(f"Training {PAIR} raised exception")
    return starts > ends


def trained_and_learned(log: str) -> bool:
    """MIN_TRAININGS trainings, MIN_LEARNED_LINES per-candle steps, a training after the first
    step (it learns what the steps learned)."""
    learned = re.search(rf"learned \d+ candles for {re.escape(PAIR)}", log)
    return (len(fit_lines(log)) >= MIN_TRAININGS and len(learned_lines(log)) >= MIN_LEARNED_LINES
            and bool(learned) and bool(fit_lines(log[learned.start():])))


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# -- the bots' configs and the first bot ----------------------------------------------------


class Configs:
    """config.json + the replay overlay + one override file per run, all in `folder`."""

    def __init__(self, folder: Path, port: int, user_data: Path, identifier: str):
        self.folder, self.user_data, self.identifier = folder, user_data, identifier
        self.overlay = write_replay_overlay(folder / "config.replay.json", port)

    @property
    def models(self) -> Path:
        return self.user_data / "models" / self.identifier

    @property
    def live(self) -> Path:
        """The live store: outside FreqAI's model folder (run_stores.live_store)."""
        return live_store(self.user_data, self.identifier).root

    @property
    def pair_dir(self) -> Path:
        return self.live / PAIR_DIR

    def write(self, name: str, user_data: Path, identifier: str, db: str,
              live_retrain_hours: float = LIVE_RETRAIN_HOURS, **self_learning) -> list[str]:
        override = realtime_bot_config(
            user_data, self.folder / f"{db}.sqlite", identifier,
            {**SELF_LEARNING, **self_learning}, live_retrain_hours=live_retrain_hours,
            backtest_period_days=BACKTEST_PERIOD_DAYS)
        user_data.mkdir(exist_ok=True)
        path = self.folder / f"config.{name}.json"
        path.write_text(json.dumps(override, indent=2))
        return realtime_bot_args(self.overlay, path)

    def bot(self, name: str, retraining: bool = True) -> LiveBot:
        """A dry-run bot on the live user_data and identifier (one trades database); without
        `retraining` FreqAI does not retrain (live_retrain_hours 1)."""
        args = self.write(name, self.user_data, self.identifier, db="tradesv3.dryrun",
                          live_retrain_hours=LIVE_RETRAIN_HOURS if retraining else 1)
        return LiveBot(name, ["--dry-run", *args], self.folder)


@dataclass(frozen=True)
class StoppedDryRun:
    """The module's first bot, as captured right after its SIGTERM."""

    configs: Configs
    log: str
    describe: str          # the bot's state and log tail, for failure messages
    exit_code: int
    stop_seconds: float
    stored: StoredVersion  # the newest complete version
    weights: WeightsFingerprint  # of `stored`
    history: pd.DataFrame  # FreqAI's historic predictions of PAIR
    backtest_user_data: Path  # a copy of the user_data made then, for the backtests


@pytest.fixture(scope="module")
def stopped_dry_run(realtime_exchange, tmp_path_factory) -> StoppedDryRun:
    """A fresh bot: trainings and per-candle learning, then SIGTERM while FreqAI retrains (its
    thread finishes the training after `_on_stop`)."""
    folder = tmp_path_factory.mktemp("dry_run")
    configs = Configs(folder, realtime_exchange.port, folder / "user_data",
                      f"live-{uuid.uuid4().hex[:8]}")
    bot = configs.bot("run1")
    try:
        bot.wait_for(f"{MIN_TRAININGS} trainings and {MIN_LEARNED_LINES} per-candle learning "
                     "steps, a training after the first", trained_and_learned, START_TIMEOUT_S)
        # A retrain with nothing new to learn lasts ~30 ms between its log lines: poll at 5 ms
        # (at 50 ms, CI once missed every retrain for 120 s).
        bot.wait_for("a retraining in progress", training_running, RETRAIN_TIMEOUT_S, poll=0.005)
        code, took = bot.terminate(STOP_TIMEOUT_S)
    finally:
        bot.kill()
    stored = newest_version(configs.pair_dir)
    history = configs.models / "historic_predictions.pkl"
    assert history.is_file(), f"FreqAI did not save its historic predictions ({history})"
    copy_of_user_data = shutil.copytree(configs.user_data, folder / "user_data_backtest",
                                        symlinks=True)
    return StoppedDryRun(configs, bot.log(), bot.describe(), code, took, stored,
                         fingerprint(stored), pd.read_pickle(history)[PAIR], copy_of_user_data)


@dataclass(frozen=True)
class KilledRestart:
    """The module's second bot, restarted on the first bot's store, as captured right after
    its SIGKILL mid-save."""

    log: str
    describe: str
    loaded: dict[str, tuple[int, int]]  # network -> (training counter, version) loaded
    restored_counter: int  # in the `Restored PAIR: training counter N ...` line
    exit_code: int
    interrupted: int       # the version whose save the SIGKILL interrupted
    in_flight: list[int]   # versions with a temp folder right after the SIGKILL
    last_good: StoredVersion  # the newest complete version then
    weights: WeightsFingerprint  # of `last_good`
    killed_at: float


@pytest.fixture(scope="module")
def killed_restart(stopped_dry_run) -> KilledRestart:
    """The first bot's store restarted: all networks loaded, per-candle learning in a
    prediction, a version saved after it, then SIGKILL while the next version is written."""
    pair_dir = stopped_dry_run.configs.pair_dir
    bot = stopped_dry_run.configs.bot("run2")
    try:
        loaded = bot.wait_for("all networks loaded", lambda log: (
            loaded_lines(log) if set(loaded_lines(log)) >= set(NETWORKS) else None),
            START_TIMEOUT_S)
        restored = bot.wait_for("the restore line with an ISO candle date", lambda log: re.search(
            rf"Restored {re.escape(PAIR)}: training counter (\d+) \(max over networks\), last "
            rf"learned candle {ISO}", log), 30)
        # It keeps predicting: per-candle learning runs inside FreqAI's predict.
        bot.wait_for("a prediction with per-candle learning",
                     lambda log: [c for k, c in learned_lines(log) if k > 0], RETRAIN_TIMEOUT_S)
        # More learning, saved; then SIGKILL while a version is being written.
        learned_at = max(learning_counters(bot.log()))
        bot.wait_for(f"a saved version with counter >= {learned_at}",
                     lambda _: newest_version(pair_dir).training_counter >= learned_at,
                     RETRAIN_TIMEOUT_S)
        interrupted, code = _kill_mid_save(bot, pair_dir, stopped_dry_run.configs.models,
                                           timeout=RETRAIN_TIMEOUT_S)
        killed_at, in_flight = time.time(), versions_in_flight(pair_dir)
    finally:
        bot.kill()
    last_good = newest_version(pair_dir)
    return KilledRestart(bot.log(), bot.describe(), loaded, int(restored[1]), code, interrupted,
                         in_flight, last_good, fingerprint(last_good), killed_at)


# -- 1. a backtest with the dry-run's identifier (issue 9) -----------------------------------


@pytest.fixture(scope="module")
def relabelled_datadir(tmp_path_factory) -> Path:
    """The recorded 5m candles laid on a 1m grid from GRID_START, as the realtime exchange
    lays them on the present: the dry-run's timeframe and features, dates in the past."""
    candles = pd.read_feather(SHARED_DATA / f"{PAIR_DIR}-5m.feather")
    candles["date"] = pd.date_range(GRID_START, periods=len(candles), freq="1min", tz="UTC")
    datadir = tmp_path_factory.mktemp("datadir_1m")
    candles.to_feather(datadir / f"{PAIR_DIR}-1m.feather")
    return datadir


def backtest(freqtrade_cli, configs: Configs, datadir: Path, name: str,
             user_data: Path, identifier: str, **self_learning):
    args = ["backtesting", *configs.write(name, user_data, identifier, db=name, **self_learning),
            "--datadir", str(datadir), "--timerange", TIMERANGE,
            "--export", "trades", "--cache", "none"]
    return freqtrade_cli(args, timeout=BACKTEST_TIMEOUT_S)


def cli_in(folder: Path):
    """run_freqtrade in `folder` (its freqtrade.log there): a run beside the test's own."""
    folder.mkdir()
    return lambda args, timeout: run_freqtrade(args, cwd=folder, timeout=timeout)


def predictions(user_data: Path, identifier: str) -> list[pd.DataFrame]:
    folder = user_data / "models" / identifier / "backtesting_predictions"
    files = sorted(folder.glob(f"cb_{COIN}_*_prediction.feather"))
    assert files, f"no backtest predictions in {folder}"
    return [pd.read_feather(path) for path in files]


@pytest.mark.e2e
def test_backtest_with_the_dry_runs_identifier_learns_its_own_data_and_keeps_the_live_store(
        stopped_dry_run, killed_restart, relabelled_datadir, freqtrade_cli, tmp_path):
    """Dry-run, stop, backtest with the same identifier: the backtest trades and predicts
    exactly like a fresh identifier, the live store is untouched, and starting the backtest
    from the live model is refused because that model knows candles after the start.

    1. The dry-run's log (the first bot, stopped with SIGTERM) has no traceback, no TensorFlow
       retracing warning, and our lines give candle times as UTC ISO dates; FreqAI's historic
       predictions never show the training counter falling. The backtests run on a byte copy
       of its user_data, taken right after the stop (`killed_restart` is only asked for so
       that they run while the restart test would wait for a candle anyway).
    2. `freqtrade backtesting` with the same user_data and identifier, on the same recording
       laid on the same 1m grid from 2018-01-10 (what the replay exchange serves, so timeframe
       and feature list equal the dry-run's; `relabelled_datadir`): it learns its own candles
       in a store of its own (self_learning_runs/backtest-<timerange>), with exactly the trades
       and predictions of the same backtest under a fresh identifier, while the live store's
       files stay byte-identical. The live store was trained on the same feature list, so the
       store before this change would have restored it (last learned candle in the present)
       and learned nothing ("0 new samples").
    3. The same backtest with `backtest_from_live_model: true` is refused at start with one
       line saying what to do (the live model knows candles from the backtest's start on).
    """
    configs, log = stopped_dry_run.configs, stopped_dry_run.log
    user_data, identifier = stopped_dry_run.backtest_user_data, configs.identifier
    models = user_data / "models" / identifier

    # 1. the dry-run: readable log, nothing wrong in it, a counter that never falls.
    assert not error_lines(log), "\n".join(error_lines(log))
    ours = [line for line in log.splitlines() if OUR_LINE.search(line)]
    assert all(re.search(rf"last learned candle {ISO}$", line) for line in fit_texts(log))
    assert not [line for line in ours if re.search(r"\b1[5-9]\d{8}\b", line)], \
        "epoch seconds in our log lines"
    assert re.search(rf"models saved: .*training counter per pair: {re.escape(PAIR)} \d+", log)
    counter = stopped_dry_run.history["&-training_counter"].to_numpy()
    assert (np.diff(counter) >= 0).all(), f"training counter falls: {counter}"
    live = live_store(user_data, identifier).root
    live_files = files_of(live)
    live_version = newest_version(live / PAIR_DIR)

    # 2. backtest with the same identifier, and the same backtest with a fresh identifier. The
    # fresh one shares nothing with the runs on `user_data` (its own user_data, database and
    # working folder): it runs beside them.
    fresh_data, fresh_id = tmp_path / "user_data_fresh", f"fresh-{uuid.uuid4().hex[:8]}"
    beside = ThreadPoolExecutor(max_workers=1)
    fresh_run = beside.submit(backtest, cli_in(tmp_path / "fresh"), configs, relabelled_datadir,
                              "fresh_id", fresh_data, fresh_id)
    same = backtest(freqtrade_cli, configs, relabelled_datadir, "same_id", user_data, identifier)
    assert same.returncode == 0, same.describe()
    assert not error_lines(same.log), "\n".join(error_lines(same.log))
    assert f"SelfLearning store for this backtest run: {models / RUN_STORE}" in same.log
    # Each training learns the backtest's own candles: new ones, or ones its per-candle steps
    # learned since the last training (prequential backtests), never nothing.
    learned = [int(a) + int(b or 0) for a, b in re.findall(
        r"of ETC/BTC: (\d+) new samples(?:, (\d+) learned per candle)?", same.log)]
    assert len(learned) == 2 and min(learned) > 0, same.describe()
    run_version = newest_version(models / RUN_STORE / PAIR_DIR)
    assert run_version.metadata["feature_discovery"]["features"] == \
        live_version.metadata["feature_discovery"]["features"], \
        "the dry-run learned other features: this would not reproduce the issue"
    trades_same = load_backtest_data(user_data / "backtest_results")
    predictions_same = predictions(user_data, identifier)
    assert files_of(live) == live_files, "the backtest changed the live store"

    # 3. starting the backtest from the live model: refused, with what to do.
    refused = backtest(freqtrade_cli, configs, relabelled_datadir, "from_live", user_data,
                       identifier, backtest_from_live_model=True)
    assert refused.returncode == 2, refused.describe()
    message = re.findall(
        rf"freqai\.self_learning\.backtest_from_live_model: the live model in "
        rf"{re.escape(str(live))} knows candles from this run's start "
        rf"\(2018-01-12T00:00:00Z\) on: ETC/BTC learned candles up to {ISO}\. .*set "
        r"backtest_from_live_model to "
        r"false\.", refused.log)
    assert len(message) == 1 and "Traceback" not in refused.log, refused.describe()
    assert files_of(live) == live_files, "the refused backtest changed the live store"

    # (2.) the fresh identifier's backtest, run beside the two above.
    fresh = fresh_run.result()
    beside.shutdown()
    assert fresh.returncode == 0, fresh.describe()
    trades_fresh = load_backtest_data(fresh_data / "backtest_results")
    assert len(trades_fresh) > 0, fresh.describe()
    pd.testing.assert_frame_equal(trades_same[TRADE_COLUMNS], trades_fresh[TRADE_COLUMNS])
    for a, b in zip(predictions_same, predictions(fresh_data, fresh_id), strict=True):
        pd.testing.assert_frame_equal(a, b)


# -- 2. the live models' own predictions, backtested (--freqai-backtest-live-models) -----------

# SelfLearningStrategy, keeping the frame it trades on (indicators, FreqAI's columns, entries).
RECORDING_STRATEGY = """
import sys

sys.path.insert(0, {strategies!r})
from SelfLearningStrategy import SelfLearningStrategy


class RecordingStrategy(SelfLearningStrategy):
    def populate_entry_trend(self, dataframe, metadata):
        dataframe = super().populate_entry_trend(dataframe, metadata)
        dataframe.to_pickle({out!r})
        return dataframe
"""
REPLAYED = "Backtesting using historic predictions (live models)"  # FreqAI's line


@pytest.mark.e2e
def test_backtest_of_the_live_models_predictions_uses_them_and_touches_no_store(
        stopped_dry_run, freqtrade_cli, tmp_path):
    """`freqtrade backtesting --freqai-backtest-live-models` on the stopped dry run, as a user
    runs it (candles downloaded from the exchange first, no --timerange: FreqAI takes it from
    the saved predictions), with a config that even asks backtests to start from the live
    model (backtest_from_live_model): the run trades what the live model predicted, builds no
    learner and leaves every file of the model folder as it was.

    1. exit 0, FreqAI replays historic_predictions.pkl, our model says it uses no store, no
       training, no run store; before, the model still built its runtime, which refused this
       run (exit 2): the live model knows candles from the run's start on;
    2. the frame the strategy trades on carries the saved predictions (our extra columns
       too: &-novelty, &-liq_up, ...) on every date the dry run predicted, and it enters only
       on candles the live model predicted with do_predict 1; so does every trade;
    3. the live store, historic_predictions.pkl and every other file of the identifier's folder
       are byte-identical (FreqAI rewrites its run_params.json with this run's config).
    """
    configs, history = stopped_dry_run.configs, stopped_dry_run.history
    user_data, identifier = stopped_dry_run.backtest_user_data, configs.identifier
    models = user_data / "models" / identifier
    live_root = live_store(user_data, identifier).root
    before, live_before = files_of(models), files_of(live_root)
    args = configs.write("live_models", user_data, identifier, db="live_models",
                         backtest_from_live_model=True)
    config = args[:args.index("--strategy")]
    download = freqtrade_cli(["download-data", *config, "--pairs", PAIR, "--timeframes", "1m",
                              "--days", "1"], timeout=120)
    assert download.returncode == 0, download.describe()
    analyzed_path = tmp_path / "analyzed.pkl"
    (tmp_path / "RecordingStrategy.py").write_text(RECORDING_STRATEGY.format(
        strategies=str(ROOT / "user_data" / "strategies"), out=str(analyzed_path)))

    # 1. replayed, not trained, no store.
    run = freqtrade_cli(["backtesting", *config, "--strategy", "RecordingStrategy",
                         "--strategy-path", str(tmp_path), "--freqaimodel", "SelfLearningModel",
                         "--freqai-backtest-live-models", "--export", "trades", "--cache", "none"],
                        timeout=BACKTEST_TIMEOUT_S)
    assert run.returncode == 0, run.describe()
    assert REPLAYED in run.log and REPLAY_NOTICE in run.log, run.describe()
    assert "Starting training" not in run.log and "SelfLearning store for" not in run.log, \
        run.describe()
    assert not error_lines(run.log), "\n".join(error_lines(run.log))

    # 2. the saved predictions are what the strategy trades on.
    served, saved = pd.read_pickle(analyzed_path).set_index("date"), history.set_index("date_pred")
    start = json.loads((models / "global_metadata.json").read_text())["start_dry_live_date"]
    live = saved.index[saved.index >= pd.Timestamp(start, unit="s", tz="UTC")]
    dates = served.index.intersection(saved.index)
    assert len(live) > 0 and live.isin(dates).all(), (live, served.index[[0, -1]])
    # (the strategy blanks the scoreboard's columns where no matured prediction backs them)
    columns = ["do_predict", *[c for c in saved.columns
                               if c.startswith("&-") and c not in SCORE_COLUMNS]]
    assert {"&-novelty", "&-liq_up", "&-liq_down", "&-s_close"} <= set(columns)
    pd.testing.assert_frame_equal(served.loc[dates, columns], saved.loc[dates, columns],
                                  check_dtype=False, check_index_type=False, check_names=False)
    entries = served.index[served["enter_long"] == 1]
    assert entries.isin(saved.index[saved["do_predict"] == 1]).all(), entries
    trades = load_backtest_data(user_data / "backtest_results")
    opened = pd.DatetimeIndex(trades["open_date"] if len(trades) else [], tz="UTC")
    signals = opened - pd.Timedelta(seconds=TIMEFRAME_S)
    assert signals.isin(saved.index[saved["do_predict"] == 1]).all(), trades
    print(f"replayed {len(dates)} saved predictions ({len(live)} live candles): "
          f"{len(entries)} entries, {len(trades)} trades")

    # 3. nothing of the model folder changed.
    after = files_of(models)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    assert changed <= {"run_params.json"}, sorted(changed)
    assert live_before and files_of(live_root) == live_before, "the live store changed"
    pd.testing.assert_frame_equal(pd.read_pickle(models / "historic_predictions.pkl")[PAIR],
                                  history)


# -- 3. restarts after SIGTERM and SIGKILL --------------------------------------------------


@pytest.mark.e2e
def test_live_bot_keeps_its_learning_across_sigterm_and_sigkill(stopped_dry_run,
                                                                killed_restart):
    """SIGTERM saves everything learned (even during a retrain), a restart restores it, and
    after a SIGKILL mid-save the last complete version loads and missed candles are learned.

    1. the first bot (`stopped_dry_run`) started with fresh models;
    2. its SIGTERM while FreqAI was retraining: clean exit within 60 s, everything learned is
       saved (`models saved (training counter N)` = the newest version's counter = the log's
       highest), FreqAI's own `_on_stop` ran (historic_predictions.pkl);
    3. restart: every network is loaded with counter N from that version (no fresh model), and
       the weights TensorFlow reads from the store show the restarted bot continued from them;
    4. after more learning, SIGKILL while a version is being written, proven: the bot is frozen
       (SIGSTOP) when a save's temp folder appears and killed only if the folder is still
       there once every thread has stopped; the crash leaves that folder behind;
    5. restart once a candle has closed unseen: the last complete version loads without an
       error, the first prediction replays the missed candles (`learned N candles`) on top of
       the restored counter, the interrupted save's temp folder is removed by the next save,
       and SIGTERM still exits cleanly. FreqAI's retraining is off in this run (same
       identifier, live_retrain_hours 1) so that the per-candle replay is the only learning
       path.
    """
    first, second = stopped_dry_run, killed_restart
    configs, log = first.configs, first.log
    pair_dir, models = configs.pair_dir, configs.models
    bots: list[LiveBot] = []

    try:
        # 1. first start: fresh models.
        assert "created new model feature_discovery for ETC/BTC" in log, first.describe

        # 2. SIGTERM while FreqAI retrained.
        code = first.exit_code
        assert code in CLEAN_EXIT_CODES, f"exit code {code} after SIGTERM\n{first.describe}"
        n = saved_counter(log)
        assert n is not None, f"no 'models saved: ... {PAIR} N' line\n{first.describe}"
        assert n == highest_counter(log), \
            f"saved counter {n}, but the log reports learning up to {highest_counter(log)}: " \
            f"an update finished after the final save and was lost\n{first.describe}"
        stored = first.stored
        assert stored.training_counter == n, \
            f"newest version v{stored.number:06d} has counter {stored.training_counter}, log {n}"
        predictions = first.history
        usable = (predictions["do_predict"] == 1) & (predictions["&-training_counter"] >= 1)
        assert usable.any(), f"no usable prediction among FreqAI's historic predictions\n" \
                             f"{predictions.tail()}"
        assert not error_lines(log), "\n".join(error_lines(log)) + "\n" + first.describe
        before = first.weights
        assert before.training_counter == n
        print(f"run1: SIGTERM exit in {first.stop_seconds:.1f} s, counter {n}, "
              f"v{stored.number:06d}")

        # 3. restart: restored, not reset.
        loaded = second.loaded
        assert max(c for c, _ in loaded.values()) == n, f"loaded {loaded}, saved counter {n}"
        assert second.restored_counter == n, second.describe
        assert {v for _, v in loaded.values()} == {stored.number}, loaded
        assert "created new model" not in second.log, second.describe

        # 4. after per-candle learning and a save, SIGKILL while a version was being written.
        interrupted, last_good = second.interrupted, second.last_good
        assert second.exit_code == -9, second.exit_code
        assert interrupted in second.in_flight, \
            f"the temp folder of v{interrupted:06d} is gone after the SIGKILL: {second.in_flight}"
        assert not error_lines(second.log), second.describe
        after = second.weights
        assert after.training_counter == last_good.training_counter > n
        assert interrupted > last_good.number, \
            f"interrupted v{interrupted:06d}, newest complete v{last_good.number:06d}"
        assert (after.scaling == before.scaling).all(), \
            "input scaling (fixed at the first training) changed: the restarted bot re-created " \
            "its feature_discovery network instead of continuing the restored one"
        assert (after.output != before.output).any(), "weights did not move after the restart"
        # The store is still as the SIGKILL left it.
        assert interrupted in versions_in_flight(pair_dir), _listing(pair_dir)
        assert newest_version(pair_dir).number == last_good.number, _listing(pair_dir)
        killed_at = second.killed_at
        print(f"run2: SIGKILL while writing v{interrupted:06d}; last complete "
              f"v{last_good.number:06d} counter {last_good.training_counter}")

        # 5. restart once a candle has closed that no saved version has seen.
        last_seen = last_good.metadata["learner_state"]["last_seen_candle_ts"]
        unseen_closed = last_seen + 2 * TIMEFRAME_S + 2  # the next candle closed (+ margin)
        time.sleep(max(0.0, unseen_closed - time.time()))
        bots.append(configs.bot("run3", retraining=False))
        bot = bots[-1]
        first_step = bot.wait_for("the first per-candle learning step",
                                  lambda log: learned_lines(log)[:1], START_TIMEOUT_S)[0]
        log = bot.wait_for("the end of the first prediction round",
                           lambda log: log if ROUND_DONE in log else None, 30)
        assert log.index(f"learned {first_step[0]} candles for {PAIR}") < log.index(ROUND_DONE), \
            f"the missed candles were not learned in the first prediction\n{bot.describe()}"
        loaded = loaded_lines(log)
        assert set(loaded) >= set(NETWORKS), bot.describe()
        assert {v for _, v in loaded.values()} == {last_good.number}, loaded
        assert max(c for c, _ in loaded.values()) == last_good.training_counter, loaded
        assert "created new model" not in log, bot.describe()
        skipped = re.findall(r"Skipping saved version (\S+)", log)
        assert all(Path(s.rstrip(":")).name not in {f"v{v.number:06d}" for v in
                   complete_versions(pair_dir)} for s in skipped), skipped
        learned, counter = first_step
        assert learned >= 1 and counter == last_good.training_counter + learned, \
            f"first step learned {learned}, counter {counter}, restored " \
            f"{last_good.training_counter}\n{bot.describe()}"
        assert not fit_lines(log), "FreqAI retrained although live_retrain_hours is 1"

        stopping = time.time()
        code, took = bot.terminate(STOP_TIMEOUT_S)
        log = bot.log()
        assert code in CLEAN_EXIT_CODES, f"exit code {code} after SIGTERM\n{bot.describe()}"
        final = saved_counter(log)
        assert final is not None and final == highest_counter(log), bot.describe()
        assert newest_version(pair_dir).training_counter == final
        assert not versions_in_flight(pair_dir), _listing(pair_dir)
        assert re.search(rf"Removed \S*{re.escape(TMP_PREFIX)}v{interrupted:06d}-\S* left by an "
                         r"interrupted save", log), bot.describe()
        assert not error_lines(log), "\n".join(error_lines(log)) + "\n" + bot.describe()
        # Without retraining only FreqAI's `_on_stop` writes its predictions in this run.
        saved_at = (models / "historic_predictions.pkl").stat().st_mtime
        assert saved_at >= stopping, "FreqAI's _on_stop did not save its historic predictions"
        print(f"run3: replayed {learned} missed candles, counter {final}, killed "
              f"{time.time() - killed_at:.0f} s ago; SIGTERM exit in {took:.1f} s")
    finally:
        for running in bots:
            running.kill()


def _listing(pair_dir: Path) -> list[str]:
    return sorted(entry.name for entry in pair_dir.iterdir())


def _all_threads_stopped(pid: int) -> bool:
    """Every thread of `pid` in the stopped state (after SIGSTOP is delivered)."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):  # a thread that just exited
            continue
    return bool(states) and all(s in "Tt" for s in states)


def _kill_mid_save(bot: LiveBot, pair_dir: Path, models: Path,
                   timeout: float) -> tuple[int, int]:
    """SIGKILL the bot while it writes a version, and prove it: when a save's temp folder
    appears, the bot is frozen (SIGSTOP, waiting until every thread has stopped); if the folder
    is still there, nothing can finish the save before the kill. Otherwise the save completed
    in between: the bot resumes (SIGCONT) and the next save is tried. So is it when FreqAI
    was caught writing its own files in `models` (a save follows a training, and so do
    FreqAI's in-place writes): the restart would start from what the model recovers of
    FreqAI's cut file, and this test is about our store (`freqai_files_whole`). Returns (the
    interrupted version, exit code); fails after `timeout` without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.proc.poll() is not None:
            bot.fail(f"exited with {bot.proc.returncode} while waiting for a save in flight")
        if versions_in_flight(pair_dir):
            os.killpg(bot.proc.pid, signal.SIGSTOP)
            stop_by = time.monotonic() + 10
            while not _all_threads_stopped(bot.proc.pid):
                if time.monotonic() > stop_by:
                    bot.fail("did not stop within 10 s of SIGSTOP")
                time.sleep(0.001)
            frozen = versions_in_flight(pair_dir)
            if frozen and freqai_files_whole(models):
                return frozen[-1], bot.kill()
            os.killpg(bot.proc.pid, signal.SIGCONT)
        time.sleep(0.005)
    bot.fail(f"no save in flight within {timeout:.0f} s: {_listing(pair_dir)}")
    raise AssertionError("unreachable")  # bot.fail raises
