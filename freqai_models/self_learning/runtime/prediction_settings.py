"""Which settings each of FreqAI's stored backtest predictions was made with, so that a backtest
that reuses them under changed settings says so.

FreqAI keeps every backtest window's predictions in `<identifier>/backtesting_predictions/`
(`cb_<coin>_<training end>_prediction.feather`) and, in any later backtest, hyperopt or plot of
the identifier, reuses a window's file instead of training, whatever the config says now. A
user who edits `freqai.self_learning` (or the features, the training window, the timeframe)
and backtests the same timerange again under the same identifier gets the earlier model's
trades without a word. So each window this model trains outside live and dry-run trading is
recorded in `<identifier>/RECORD_FILE` with the settings that shape its predictions, and a
later run that is about to reuse a window recorded with other settings logs one warning
naming each changed key.

The settings do not say what data a window was predicted from, so each window is also
recorded with the run's pair list and a digest of its pair's candles over the window's training
and backtest range (runtime/window_data.py): a run about to reuse a window predicted from other
candles (another datadir or exchange, re-downloaded data) or with another pair list (with
`shared_across_pairs`, a pair's predictions depend on every pair of the run) warns the same
way, naming what differs; plot-dataframe, which shows the stored predictions of the pairs it
is given (`--pairs`), does not compare the pair list. Windows recorded by earlier releases
have no such entry: they are checked for settings only, as before, so an earlier record warns
no more than it did (deleting `backtesting_predictions/` or a new identifier records them in
full).

A stored prediction can also outlive its window's model folder (`sub-train-<COIN>_<end>/`):
FreqAI's `purge_old_models` keeps only a pair's newest folders whenever it trains in a dry or
live run of the identifier, while the predictions stay. FreqAI then reads the purged folder's
metadata on reuse and ends in a FileNotFoundError traceback; `lost_window_message` turns that
into an error naming the folder and what to do.

FreqAI's rule for reusing a stored prediction has one home here, `freqai_reuses` (its
FreqaiDataKitchen.check_if_backtest_prediction_is_valid), and so has the file's name,
`prediction_file`. `prediction_settings`, `changed_keys`, `window_name` and
`lost_window_message` are pure; `SettingsRecord` reads and writes the record.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from self_learning.config import SelfLearningConfig
from self_learning.runtime.run_stores import TRADE_MODES  # FreqAI stores no predictions there
from self_learning.runtime.window_data import BacktestWindow, pairs_change, pairs_id
from self_learning.startup_checks import run_mode

PLOT_MODE = "plot"  # freqtrade RunMode.PLOT: plot-dataframe

logger = logging.getLogger(__name__)

RECORD_FILE = "self_learning_prediction_settings.json"
PREDICTIONS_FOLDER = "backtesting_predictions"  # FreqAI's folder of stored predictions
FREQAI_KEYS = ("train_period_days", "backtest_period_days", "feature_parameters",
               "data_split_parameters")
# Our keys that change no prediction: saving, telemetry, shutdown.
OPERATIONAL_KEYS = frozenset({"save_interval", "keep_versions", "slow_save_warning_s",
                              "shutdown_timeout_s", "scoreboard_summary_hours",
                              "drift_notify_hours"})
MAX_NAMED = 6  # changed keys named in the warning
OURS = "freqai.self_learning."  # our section's keys in the record


def _flat(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(_flat(f"{prefix}.{key}", value[key]))
        return out
    return {prefix: value}


def prediction_settings(config: dict[str, Any], ours: SelfLearningConfig) -> dict[str, Any]:
    """The settings that shape the predictions, as `dotted.key -> value` (JSON values): the
    timeframe, FreqAI's training window, features and split of freqtrade's `config`, and our
    section as parsed (`ours`: defaults filled in, so a key left out and a key set to its
    default are the same setting)."""
    freqai = config.get("freqai") or {}
    settings = {"timeframe": config.get("timeframe")}
    for key in FREQAI_KEYS:
        settings.update(_flat(f"freqai.{key}", freqai.get(key)))
    shaping = {k: v for k, v in asdict(ours).items()
               if k not in OPERATIONAL_KEYS and k != "label_period_candles"}
    settings.update(_flat(OURS.rstrip("."), shaping))
    return json.loads(json.dumps(settings, default=str))  # tuples -> lists, as read back


def settings_id(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def default_settings() -> dict[str, Any]:
    """Our section's keys at their defaults, as prediction_settings records them."""
    return {key: value for key, value in prediction_settings({}, SelfLearningConfig()).items()
            if key.startswith(OURS)}


def changed_keys(before: dict[str, Any], now: dict[str, Any],
                 defaults: dict[str, Any]) -> list[str]:
    """`key before -> now` for every key whose value differs, sorted by key. A key of our
    section that `before` lacks and `now` holds at its default (`defaults`) is no change: the
    release that recorded `before` had no such option, and a new option's default is the
    behaviour before it."""
    return [f"{key} {json.dumps(before.get(key))} -> {json.dumps(now.get(key))}"
            for key in sorted(set(before) | set(now)) if before.get(key) != now.get(key)
            and not (key not in before and key in defaults and now.get(key) == defaults[key])]


def window_name(pair: str, training_end_ts: int) -> str:
    """FreqAI's name of a backtest window's model and predictions (freqtrade 2026.9's
    FreqaiDataKitchen.set_new_model_names): `BTC/USDT`, 1735689600 -> `cb_btc_1735689600`."""
    return f"cb_{pair.split('/')[0].lower()}_{int(training_end_ts)}"


def prediction_file(predictions: Path, name: str) -> Path:
    """FreqAI's file of window `name`'s stored predictions in its `predictions` folder
    (FreqaiDataKitchen.check_if_backtest_prediction_is_valid)."""
    return predictions / f"{name}_prediction.feather"


def freqai_reuses(path: Path, rows: int) -> bool:
    """Whether FreqAI reuses the stored prediction `path` for a window of `rows` candles
    instead of training it (freqtrade 2026.9's check_if_backtest_prediction_is_valid: the file
    exists, has a `date` column and as many rows as the window has candles). A file it cannot
    read is not reused here (FreqAI stops on it)."""
    try:
        return len(pd.read_feather(path, columns=["date"])) == rows
    except (OSError, ValueError):  # missing, unreadable, not feather (ArrowInvalid), no date
        return False


class Reuse(NamedTuple):
    """A backtest window by FreqAI's name, and whether FreqAI reuses its stored prediction."""

    name: str
    reused: bool


def reused_windows(predictions: Path, pair: str, rows: Mapping[int, int]) -> list[Reuse]:
    """Each window of `pair` (`rows`: per training end, the candles of its backtest range) and
    whether FreqAI reuses its stored prediction, in FreqAI's order; reads each file once."""
    return [Reuse(name, freqai_reuses(prediction_file(predictions, name), count))
            for name, count in ((window_name(pair, end), count) for end, count in rows.items())]


def mixed_windows_message(pair: str, reused: Sequence[tuple[str, bool]],
                          predictions: Path) -> str | None:
    """The error when FreqAI would train some of `pair`'s backtest windows and then reuse the
    stored prediction of a later one (`reused`: each window's name and whether FreqAI reuses
    its stored prediction, in FreqAI's order). freqtrade 2026.9 cannot do both in one run: at
    the first reused window it derives the features again on the frame it already featured
    for the trained ones and stops with 'different features furnished by current strategy'.
    None when the reused windows come first or there are none."""
    first = next((i for i, (_, again) in enumerate(reused) if again), None)
    if not first:  # None (nothing reused) or 0 (the reused windows come first)
        return None
    trained = [name for name, _ in reused[:first]]
    return (f"FreqAI would train {len(trained)} backtest window(s) of {pair} ({trained[0]}"
            f"{' ...' if len(trained) > 1 else ''}) and then reuse the stored prediction of the "
            f"later window {reused[first][0]} ({predictions}), which freqtrade 2026.9 cannot "
            "do in one run (it stops with 'different features furnished by current strategy'), "
            "as when a timerange starts before the windows stored under this identifier. Delete "
            f"{predictions} to train every window, or use a new freqai.identifier.")


def lost_window_message(missing: str | None, identifier_dir: Path) -> str | None:
    """The error for FreqAI's FileNotFoundError on `missing` when it is a backtest window's
    metadata (`<identifier_dir>/sub-train-<COIN>_<end>/<window>_metadata.json`) that FreqAI
    reads on reusing the window's stored prediction; None for any other file."""
    if not missing:
        return None
    path = Path(missing)
    folder = path.parent
    if not (folder.name.startswith("sub-train-") and path.name.endswith("_metadata.json")
            and folder.parent.resolve() == Path(identifier_dir).resolve()):
        return None
    predictions = Path(identifier_dir) / PREDICTIONS_FOLDER
    window = path.name.removesuffix("_metadata.json")
    return (f"FreqAI holds a stored backtest prediction of window {window} "
            f"({prediction_file(predictions, window)}) but not its model folder {folder}: "
            "FreqAI's purge_old_models deletes a pair's older sub-train folders whenever a dry "
            "or live run of the same freqai.identifier trains. Delete "
            f"{predictions} to predict those windows again, or give backtests a "
            "freqai.identifier of their own (a -c file with "
            '{"freqai": {"identifier": "..."}}).')


class SettingsRecord:
    """The record of one identifier folder, for one run outside live and dry-run trading:
    `check_reused` before FreqAI backtests a pair, `note_window` for each window it trains.
    Sections: `settings` (id -> settings), `windows` (window -> settings id) and, for windows
    recorded since the record keeps data, `data` (window -> candles digest, pair list id) and
    `pairs` (id -> pair list); a record without data is written as earlier releases wrote it."""

    def __init__(self, identifier_dir: Path, config: dict[str, Any],
                 ours: SelfLearningConfig) -> None:
        self.path = Path(identifier_dir) / RECORD_FILE
        self.predictions = Path(identifier_dir) / PREDICTIONS_FOLDER
        self.current = prediction_settings(config, ours)
        self.current_id = settings_id(self.current)
        self.defaults = default_settings()
        # the run's pairs, in the order FreqAI backtests them (the runtime's pool too); not
        # compared in plot-dataframe, which shows the stored predictions of the pairs it is
        # given (`--pairs`: a part of the backtest's list) and trains none it finds
        self.pairs = list((config.get("exchange") or {}).get("pair_whitelist") or [])
        self.compares_pairs = run_mode(config) != PLOT_MODE
        self.seen: dict[str, str | None] = {}  # window -> this run's candles digest
        self.warned = False

    @classmethod
    def for_run(cls, identifier_dir: Path, config: dict[str, Any],
                ours: SelfLearningConfig) -> SettingsRecord | None:
        """None where FreqAI stores no backtest predictions (live and dry-run trading)."""
        if run_mode(config) in TRADE_MODES:
            return None
        return cls(identifier_dir, config, ours)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = {}
        document = document if isinstance(document, dict) else {}
        return {key: document.get(key) if isinstance(document.get(key), dict) else {}
                for key in ("settings", "windows", "data", "pairs")}

    def check_reused(self, pair: str, reused: Sequence[Reuse],
                     windows: Sequence[BacktestWindow] = ()) -> str | None:
        """The warning (logged once per run) when FreqAI is about to reuse a stored prediction
        of `pair` (`reused`, from reused_windows) that was recorded with other settings or,
        given this run's `windows`, from other candles or with another pair list; windows
        FreqAI trains anew or without a record (an earlier release, another model) say
        nothing. Keeps the windows' candles digests for note_window."""
        self.seen.update((window_name(pair, w.training_end), w.candles) for w in windows)
        if self.warned:
            return None
        record = self._read()
        stale = []  # (window, (settings changed, data changed)) of each window FreqAI reuses
        for name, again in reused:
            changes = self._changes(record, pair, name) if again else ([], [])
            if any(changes):
                stale.append((name, changes))
        if not stale:
            return None
        self.warned = True
        settings, data = stale[0][1]
        what = " and ".join(kind for kind, changed in (("settings", settings), ("data", data))
                            if changed)
        changes = settings + data
        named = ", ".join(changes[:MAX_NAMED]) + (
            f" and {len(changes) - MAX_NAMED} more" if len(changes) > MAX_NAMED else "")
        message = (
            f"FreqAI reuses {len(stale)} stored backtest prediction(s) of {pair} (e.g. "
            f"{prediction_file(self.predictions, stale[0][0])}) made with other {what} than "
            f"this run's: {named}. It does not train those windows, so they show the "
            f"predictions and trades of the earlier {what}. To predict them anew, use a new "
            f"freqai.identifier (or delete {self.predictions}).")
        logger.warning(message)
        return message

    def _changes(self, record: dict[str, dict[str, Any]], pair: str,
                 name: str) -> tuple[list[str], list[str]]:
        """What differs between window `name`'s record and this run: settings, data."""
        recorded = record["windows"].get(name)
        before = record["settings"].get(recorded)
        settings = (changed_keys(before, self.current, self.defaults)
                    if recorded != self.current_id and isinstance(before, dict) else [])
        data: list[str] = []
        stored = record["data"].get(name)
        if isinstance(stored, dict) and name in self.seen:  # none in earlier releases' records
            candles = self.seen[name]
            if candles and stored.get("candles") and stored["candles"] != candles:
                data.append(f"the candles of {pair} in the window's training and backtest range")
            pairs = record["pairs"].get(stored.get("pairs"))
            change = (pairs_change(pairs, self.pairs)
                      if isinstance(pairs, list) and self.compares_pairs else None)
            data.extend([change] if change else [])
        return settings, data

    def _data(self, name: str) -> dict[str, str] | None:
        """What is recorded of the data of window `name`: the pair list's id and, when known,
        the candles digest; None for a window check_reused did not see."""
        if name not in self.seen:
            return None
        candles = self.seen[name]
        return {"pairs": pairs_id(self.pairs), **({"candles": candles} if candles else {})}

    def note_window(self, name: str) -> None:
        """Records that window `name` (FreqAI's dk.model_filename) is predicted with this run's
        settings and, when check_reused saw it, from its candles with this run's pair list:
        FreqAI stores its predictions whether the training succeeds or not."""
        record = self._read()
        data = self._data(name)
        if record["windows"].get(name) == self.current_id and record["data"].get(name) == data:
            return
        record["windows"][name] = self.current_id
        record["settings"][self.current_id] = self.current
        if data is None:
            record["data"].pop(name, None)
        else:
            record["data"][name] = data
            record["pairs"][data["pairs"]] = self.pairs
        used = {"settings": set(record["windows"].values()),
                "pairs": {entry.get("pairs") for entry in record["data"].values()
                          if isinstance(entry, dict)}}
        for section, ids in used.items():
            record[section] = {key: value for key, value in record[section].items()
                               if key in ids}
        from self_learning.store.atomic import replace_json_atomic

        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_json_atomic(self.path, {key: value for key, value in record.items()
                                        if value or key in ("settings", "windows")})
