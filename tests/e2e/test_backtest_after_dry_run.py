"""End to end: a backtest with the dry-run's identifier neither loses nor misuses what the
dry-run learned (issue 9).

1. `freqtrade trade --dry-run` on the realtime replay exchange (real ETC/BTC candles replayed
   on a 1m grid ending now): first training, per-candle learning, one retrain, SIGTERM. Its
   log has no traceback, no TensorFlow retracing warning, and our lines give candle times as
   UTC ISO dates; FreqAI's historic predictions never show the training counter falling.
2. `freqtrade backtesting` with the same user_data and identifier, on the same recording laid
   on the same 1m grid from 2018-01-10 (what the replay exchange serves, so timeframe and
   feature list equal the dry-run's; `relabelled_datadir`): it learns
   its own candles in a store of its own (self_learning_runs/backtest-<timerange>), with
   exactly the trades and predictions of the same backtest under a fresh identifier, while
   the live store's files stay byte-identical. The live store was trained on the same
   feature list, so the store before this change would have restored it (last learned
   candle in the present) and learned nothing ("0 new samples").
3. The same backtest with `backtest_from_live_model: true` is refused at start with one line
   saying what to do (the live model knows candles from the backtest's start on).

About 3-4 minutes on two shared cores; every wait has a hard timeout.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SHARED_DATA, config_args
from freqtrade.data.btanalysis import load_backtest_data
from live_support import REALTIME_PAIR, REALTIME_PAIR_DIR, LiveBot, newest_version

from self_learning_offline.replay_exchange.overlay import write_replay_overlay

PAIR, PAIR_DIR, COIN = REALTIME_PAIR, REALTIME_PAIR_DIR, "etc"
GRID_START = "2018-01-10"   # the backtest's 1m copy of the recording starts here
TIMERANGE = "20180112-20180113"  # two half-day windows after 1 training day + startup
RUN_STORE = f"self_learning_runs/backtest-{TIMERANGE}"
START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 60
BACKTEST_TIMEOUT_S = 300
CLEAN_EXIT_CODES = (0, 130, -2)  # see test_live_restart.py
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
OUR_LINE = re.compile(r" - (SelfLearningModel|self_learning[\w.]*) - ")
FREQAI = {
    "train_period_days": 1,
    "backtest_period_days": 0.5,
    "live_retrain_hours": 0.01,
    "feature_parameters": {"include_timeframes": ["1m"]},
    "self_learning": {"epochs": 3, "incremental_epochs": 2, "save_interval": 2},
}
TRADE_COLUMNS = ["pair", "open_date", "close_date", "open_rate", "close_rate", "profit_abs"]


def learned_lines(log: str) -> list[str]:
    return re.findall(rf"learned \d+ candles for {re.escape(PAIR)}, counter \d+", log)


def fit_lines(log: str) -> list[str]:
    return re.findall(rf"(?:full training|incremental update) of {re.escape(PAIR)}: .*", log)


def bad_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " - ERROR - " in line
            or line.startswith("Traceback") or "retracing" in line]


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def relabelled_datadir(tmp_path_factory) -> Path:
    """The recorded 5m candles laid on a 1m grid from GRID_START, as the realtime exchange
    lays them on the present: the dry-run's timeframe and features, dates in the past."""
    candles = pd.read_feather(SHARED_DATA / f"{PAIR_DIR}-5m.feather")
    candles["date"] = pd.date_range(GRID_START, periods=len(candles), freq="1min", tz="UTC")
    datadir = tmp_path_factory.mktemp("datadir_1m")
    candles.to_feather(datadir / f"{PAIR_DIR}-1m.feather")
    return datadir


class Configs:
    """config.json + the replay overlay + one override file per run, all in tmp_path."""

    def __init__(self, tmp_path: Path, port: int):
        self.folder = tmp_path
        self.overlay = write_replay_overlay(tmp_path / "config.replay.json", port)

    def write(self, name: str, user_data: Path, identifier: str, **self_learning) -> list[str]:
        freqai = copy.deepcopy(FREQAI)
        freqai["identifier"] = identifier
        freqai["self_learning"].update(self_learning)
        override = {
            "user_data_dir": str(user_data),
            "strategy_path": str(ROOT / "user_data" / "strategies"),
            "freqaimodel_path": str(ROOT / "freqai_models"),
            "db_url": f"sqlite:///{self.folder / f'{name}.sqlite'}",
            "stake_currency": "BTC", "dry_run_wallet": 1.0, "timeframe": "1m",
            "initial_state": "running", "exchange": {"pair_whitelist": [PAIR]},
            "api_server": {"enabled": False}, "freqai": freqai,
        }
        user_data.mkdir(exist_ok=True)
        path = self.folder / f"config.{name}.json"
        path.write_text(json.dumps(override, indent=2))
        return [*config_args(), "-c", str(self.overlay), "-c", str(path),
                "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel"]


def dry_run(configs: Configs, user_data: Path, identifier: str) -> str:
    """Start, first training, per-candle learning, one retrain, SIGTERM; returns the log."""
    bot = LiveBot("dry_run", ["--dry-run", *configs.write("dry_run", user_data, identifier)],
                  configs.folder)
    try:
        bot.wait_for("per-candle learning, then a retrain", lambda log: learned_lines(log)
                     and fit_lines(log[log.index(learned_lines(log)[0]):]), START_TIMEOUT_S)
        code, _ = bot.terminate(STOP_TIMEOUT_S)
        assert code in CLEAN_EXIT_CODES, f"exit code {code} after SIGTERM\n{bot.describe()}"
        return bot.log()
    finally:
        bot.kill()


def backtest(freqtrade_cli, configs: Configs, datadir: Path, name: str,
             user_data: Path, identifier: str, **self_learning):
    args = ["backtesting", *configs.write(name, user_data, identifier, **self_learning),
            "--datadir", str(datadir), "--timerange", TIMERANGE,
            "--export", "trades", "--cache", "none"]
    return freqtrade_cli(args, timeout=BACKTEST_TIMEOUT_S)


def predictions(user_data: Path, identifier: str) -> list[pd.DataFrame]:
    folder = user_data / "models" / identifier / "backtesting_predictions"
    files = sorted(folder.glob(f"cb_{COIN}_*_prediction.feather"))
    assert files, f"no backtest predictions in {folder}"
    return [pd.read_feather(path) for path in files]


@pytest.mark.e2e
def test_backtest_with_the_dry_runs_identifier_learns_its_own_data_and_keeps_the_live_store(
        realtime_exchange, relabelled_datadir, freqtrade_cli, tmp_path):
    """Dry-run, stop, backtest with the same identifier: the backtest trades and predicts
    exactly like a fresh identifier, the live store is untouched, and starting the backtest
    from the live model is refused because that model knows candles after the start."""
    configs = Configs(tmp_path, realtime_exchange.port)
    user_data, identifier = tmp_path / "user_data", f"issue9-{uuid.uuid4().hex[:8]}"
    models = user_data / "models" / identifier

    # 1. the dry-run: readable log, nothing wrong in it, a counter that never falls.
    log = dry_run(configs, user_data, identifier)
    assert not bad_lines(log), "\n".join(bad_lines(log))
    ours = [line for line in log.splitlines() if OUR_LINE.search(line)]
    assert all(re.search(rf"last learned candle {ISO}$", line) for line in fit_lines(log))
    assert not [line for line in ours if re.search(r"\b1[5-9]\d{8}\b", line)], \
        "epoch seconds in our log lines"
    assert re.search(rf"models saved: .*training counter per pair: {re.escape(PAIR)} \d+", log)
    history = pd.read_pickle(models / "historic_predictions.pkl")[PAIR]
    counter = history["&-training_counter"].to_numpy()
    assert (np.diff(counter) >= 0).all(), f"training counter falls: {counter}"
    live = models / "self_learning"
    live_files = files_of(live)
    live_version = newest_version(live / PAIR_DIR)

    # 2. backtest with the same identifier, and the same backtest with a fresh identifier.
    same = backtest(freqtrade_cli, configs, relabelled_datadir, "same_id", user_data, identifier)
    assert same.returncode == 0, same.describe()
    assert not bad_lines(same.log), "\n".join(bad_lines(same.log))
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

    fresh_data, fresh_id = tmp_path / "user_data_fresh", f"fresh-{uuid.uuid4().hex[:8]}"
    fresh = backtest(freqtrade_cli, configs, relabelled_datadir, "fresh_id", fresh_data, fresh_id)
    assert fresh.returncode == 0, fresh.describe()
    trades_fresh = load_backtest_data(fresh_data / "backtest_results")
    assert len(trades_fresh) > 0, fresh.describe()
    pd.testing.assert_frame_equal(trades_same[TRADE_COLUMNS], trades_fresh[TRADE_COLUMNS])
    for a, b in zip(predictions(user_data, identifier), predictions(fresh_data, fresh_id),
                    strict=True):
        pd.testing.assert_frame_equal(a, b)
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
