"""Which model store a run learns into, by freqtrade run mode. Pure: tested from a table.

* `live` and `dry_run` learn into the live store, `<user_data>/self_learning/<identifier>/`
  (`live_store`): outside FreqAI's model folder `<user_data>/models/<identifier>/`, which
  freqtrade's lookahead- and recursive-analysis delete before each of their backtests.
  Earlier releases kept it in `<user_data>/models/<identifier>/self_learning/` (its `legacy`
  place); a live or dry-run start moves it from there once (store/relocation.py).
* Every other mode (backtest, hyperopt, and `util_no_exchange`, the mode of lookahead- and
  recursive-analysis, which run backtests) learns into a store of its own, per run mode and
  timerange: `<identifier>/self_learning_runs/<mode>-<timerange>/`. It never reads or writes
  the live store, so backtesting a change while the bot is stopped cannot touch what the bot
  learned, and the backtest learns its own candles from scratch.
* With `backtest_from_live_model`, such a run starts from a read-only copy of the live store
  (its `seed`: the live store, or its legacy place until a bot has moved it), allowed only
  when the live models learned nothing after the run's first candle (`not_after_ts`); it
  still writes into its own store (suffix `-from-live`) and never moves the live store.
* `freqtrade backtesting --freqai-backtest-live-models` uses no store at all
  (`replays_live_predictions`): FreqAI trades the predictions the live models saved
  (historic_predictions.pkl) and calls neither train nor predict, so the model builds no
  runtime: no TensorFlow, no learner, nothing of any store read or written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LIVE_STORES = "self_learning"     # <user_data>/self_learning/<identifier>/: the live stores
MODELS = "models"                 # FreqAI's <user_data>/models/<identifier>/ (its full_path)
LEGACY_LIVE_STORE = "self_learning"  # models/<identifier>/self_learning/: earlier releases
RUN_STORES = "self_learning_runs"
TRADE_MODES = ("live", "dry_run")
MODE_NAMES = {"util_no_exchange": "analysis"}  # lookahead-/recursive-analysis
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")
REPLAY_NOTICE = ("--freqai-backtest-live-models: FreqAI backtests the predictions the live "
                 "models saved (historic_predictions.pkl); SelfLearning builds no learner and "
                 "reads or writes no model store in this run")
REPLAY_REFUSES_LEARNING = (
    "--freqai-backtest-live-models: FreqAI asked SelfLearningModel to train or predict, but this "
    "mode backtests the predictions the live models saved (historic_predictions.pkl) and "
    "SelfLearning built no learner for it. Run the backtest without "
    "--freqai-backtest-live-models to train and predict on its candles.")


@dataclass(frozen=True)
class LiveStore:
    """Where the live store of one identifier is (`root`) and where earlier releases kept it
    (`legacy`, inside the folder freqtrade's analysers delete)."""

    root: Path
    legacy: Path

    def seed(self, exists: Callable[[Path], bool]) -> Path:
        """The live store a backtest reads: `root`, or `legacy` while only that exists."""
        return self.legacy if not exists(self.root) and exists(self.legacy) else self.root


def live_store(user_data_dir: Path, identifier: str) -> LiveStore:
    """`user_data` + `my-bot` -> `user_data/self_learning/my-bot` (legacy:
    `user_data/models/my-bot/self_learning`)."""
    user_data_dir = Path(user_data_dir)
    return LiveStore(user_data_dir / LIVE_STORES / identifier,
                     user_data_dir / MODELS / identifier / LEGACY_LIVE_STORE)


@dataclass(frozen=True)
class StorePlan:
    mode: str                  # freqtrade's run mode ("live", "backtest", ...)
    root: Path                 # the store this run learns into and resumes from
    live_store: bool           # True when root is the live store (never overwrite it blindly)
    seed: Path | None          # a store to start from, read only (backtest_from_live_model)
    not_after_ts: int | None   # the seed must know no candle after this
    moves_from: Path | None = None  # a live store's legacy place, moved into root at start

    @property
    def background_saves(self) -> bool:
        """Only a trading bot has a loop to keep free; other runs write saves in place."""
        return self.live_store


def replays_live_predictions(config: Mapping[str, Any]) -> bool:
    """A backtest of the live models' saved predictions (freqtrade's
    `--freqai-backtest-live-models`): it needs no store and no learner."""
    return bool(config.get("freqai_backtest_live_models", False))


def run_folder_name(mode: str, timerange: str | None, from_live: bool) -> str:
    """`backtest` + `20250108-20250114` -> `backtest-20250108-20250114` (filesystem-safe)."""
    name = MODE_NAMES.get(mode, mode) or "unknown"
    span = _UNSAFE.sub("_", timerange or "").strip("_-") or "all"
    return f"{_UNSAFE.sub('_', name)}-{span}" + ("-from-live" if from_live else "")


def plan_store(identifier_dir: Path, live: LiveStore, runmode: str | None,
               timerange: str | None, start_ts: int | None, from_live: bool,
               exists: Callable[[Path], bool] = Path.exists) -> StorePlan:
    """The store plan of a run: `identifier_dir` is FreqAI's model folder of the identifier,
    `runmode` freqtrade's `config["runmode"]` value, `timerange` its `config["timerange"]`
    text and `start_ts` that range's first second; `exists` answers for the seed only."""
    mode = str(runmode or "unknown")
    if mode in TRADE_MODES:
        return StorePlan(mode, live.root, True, None, None, moves_from=live.legacy)
    root = identifier_dir / RUN_STORES / run_folder_name(mode, timerange, from_live)
    if from_live:
        return StorePlan(mode, root, False, live.seed(exists), start_ts)
    return StorePlan(mode, root, False, None, None)
