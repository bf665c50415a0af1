"""Which model store a run learns into, by freqtrade run mode. Pure: tested from a table.

* `live` and `dry_run` learn into the live store, `<identifier>/self_learning/` (as always).
* Every other mode (backtest, hyperopt, and `util_no_exchange`, the mode of lookahead- and
  recursive-analysis, which run backtests) learns into a store of its own, per run mode and
  timerange: `<identifier>/self_learning_runs/<mode>-<timerange>/`. It never reads or writes
  the live store, so backtesting a change while the bot is stopped cannot touch what the bot
  learned, and the backtest learns its own candles from scratch.
* With `backtest_from_live_model`, such a run starts from a read-only copy of the live store
  (its `seed`), allowed only when the live models learned nothing after the run's first
  candle (`not_after_ts`); it still writes into its own store (suffix `-from-live`).
* `freqtrade backtesting --freqai-backtest-live-models` uses no store at all
  (`replays_live_predictions`): FreqAI trades the predictions the live models saved
  (historic_predictions.pkl) and calls neither train nor predict, so the model builds no
  runtime: no TensorFlow, no learner, nothing of any store read or written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LIVE_STORE = "self_learning"
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
class StorePlan:
    mode: str                  # freqtrade's run mode ("live", "backtest", ...)
    root: Path                 # the store this run learns into and resumes from
    live_store: bool           # True when root is the live store (never overwrite it blindly)
    seed: Path | None          # a store to start from, read only (backtest_from_live_model)
    not_after_ts: int | None   # the seed must know no candle after this

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


def plan_store(identifier_dir: Path, runmode: str | None, timerange: str | None,
               start_ts: int | None, from_live: bool) -> StorePlan:
    """The store plan of a run: `runmode` is freqtrade's `config["runmode"]` value,
    `timerange` its `config["timerange"]` text and `start_ts` that range's first second."""
    mode = str(runmode or "unknown")
    live = identifier_dir / LIVE_STORE
    if mode in TRADE_MODES:
        return StorePlan(mode, live, True, None, None)
    root = identifier_dir / RUN_STORES / run_folder_name(mode, timerange, from_live)
    if from_live:
        return StorePlan(mode, root, False, live, start_ts)
    return StorePlan(mode, root, False, None, None)
