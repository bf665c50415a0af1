"""FreqAI's own files in its model folder, made loadable again before FreqAI reads them.

FreqAI (freqtrade 2026.9, freqai/data_drawer.py) rewrites `pair_dictionary.json` and
`historic_predictions.pkl` in place after every training (the pickle then copied to
`historic_predictions.backup.pkl`), with no temporary file. A SIGKILL while it writes (the OOM
killer, `docker kill`, the end of docker's stop grace period, a power cut) leaves the file cut,
and the next start fails in FreqaiDataDrawer's constructor: a cut JSON raises, and a cut pickle
falls back to the backup only when it is empty (EOFError); cut anywhere else it raises
UnpicklingError. The bot would not start until the user repaired the file by hand, although
the SelfLearning store holds every model whole.

`recover(folder)` runs at every start (every run mode), before FreqAI's constructor:

* `historic_predictions.pkl` does not load, its backup does: the damaged file is set aside as
  `historic_predictions.pkl.damaged-<UTC stamp>` and the backup's content put in its place
  atomically (a copy under a temporary name, fsynced, then os.replace; the damaged file is
  linked aside first, so `historic_predictions.pkl` exists throughout).
* Neither loads (or there is no backup): the damaged file is set aside (the backup is left as
  it is) and FreqAI starts its prediction history afresh.
* `pair_dictionary.json` does not parse: it is set aside; FreqAI then retrains every pair
  (a live or dry-run bot), and each training restores the pair's models from our store.
* `global_metadata.json` (written at a bot's first live candle) or `metric_tracker.json`
  (rewritten after each training with `write_metrics_to_disk`) does not parse: it is set aside,
  and FreqAI starts it afresh (the start of the period `--freqai-backtest-live-models` replays
  becomes this start; the metrics begin again).
* `historic_predictions.pkl` loads but holds a pair whose frame lacks `date_pred`, the column
  FreqAI adds last when it builds a pair's history at its first prediction
  (set_initial_historic_predictions): a stop (SIGINT, SIGTERM) that interrupts that build
  leaves the half-built frame in memory, FreqAI's shutdown saves it, and every later start
  keeps it (FreqAI builds only pairs it does not have), so `--freqai-backtest-live-models`
  fails on it. The file is set aside and replaced by the same history without those pairs
  (atomically), and FreqAI builds them again at their next prediction.
* A pair of a whole `pair_dictionary.json` whose current window does not load: the files of
  its `model_filename` in its `data_path` (FreqAI's `sub-train-<COIN>_<end>/`: the metadata
  JSON, the two pipelines and, with the default `model_save_type` joblib, the model) that
  FreqAI's load_data reads at the pair's first live candle. FreqAI writes the dictionary
  after the window's files, so a kill cannot leave it naming a cut window, but a power cut
  can (neither is fsynced) and so can a moved or purged folder; FreqAI would then fail on
  that pair at every candle until its next scheduled retrain. Those pairs' entries are reset
  to FreqAI's empty one (the dictionary replaced atomically, the previous one set aside),
  so FreqAI retrains them at start; each training restores the pair's models from our store.
  Checked in live and dry runs only: only they load a window from the dictionary (a backtest
  trains or loads each window by its own path), so a backtest leaves the dictionary alone.
* `historic_predictions.pkl.restoring`, the copy a repair above writes before it replaces the
  history, exists: that repair was cut (a kill, a full disk) before its copy took the
  history's place, so the copy is removed (the file it was to replace is as it was, and the
  repair runs again if it is still needed). A repair that fails with an error removes its copy
  itself.
* Whole files, or none: nothing is touched and nothing is logged.

Nothing is ever deleted. A damaged file found while another process holds the live store's
writer lock (a bot of this identifier is running and may be writing the file right now) is
left as it is, with a warning. The loads are the ones FreqAI makes anyway (cloudpickle of the
pickle and its backup, rapidjson of the JSON); reading is kept apart from the decision
(`plan`, pure) and from the file moves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import BinaryIO

import cloudpickle
import rapidjson

from self_learning.runtime.run_stores import MODELS, TRADE_MODES, live_store
from self_learning.startup_checks import run_mode
from self_learning.store import writer_lock
from self_learning.store.atomic import fsync_path

logger = logging.getLogger(__name__)

HISTORY = "historic_predictions.pkl"
HISTORY_BACKUP = "historic_predictions.backup.pkl"
PAIR_DICTIONARY = "pair_dictionary.json"
GLOBAL_METADATA = "global_metadata.json"
METRIC_TRACKER = "metric_tracker.json"
DAMAGED = ".damaged-"  # historic_predictions.pkl.damaged-20261207T012300Z
# The column FreqAI adds last to a pair's history when it builds it (data_drawer
# set_initial_historic_predictions; append_model_predictions and
# --freqai-backtest-live-models read it): a frame without it is a build that was interrupted.
BUILT_LAST = "date_pred"
RESTORING = ".restoring"  # the backup's copy, before it replaces the damaged file
# A window's files FreqAI's load_data reads (data_drawer: METADATA, FEATURE_PIPELINE,
# LABEL_PIPELINE), after its model_filename, and the model's with model_save_type joblib.
WINDOW_FILES = ("_metadata.json", "_feature_pipeline.pkl", "_label_pipeline.pkl")
JOBLIB_MODEL = "_model.joblib"
JOBLIB_WINDOW = (*WINDOW_FILES, JOBLIB_MODEL)  # what SelfLearningModel's windows hold
# FreqAI's entry of a pair it has no model for (data_drawer.empty_pair_dict): it trains it.
EMPTY_PAIR_ENTRY = {"model_filename": "", "trained_timestamp": 0, "data_path": "", "extras": {}}
NO_IDENTIFIER = "no_id_provided"  # FreqAI's identifier when the config has none


class FreqaiFileError(RuntimeError):
    """A FreqAI file could not be read or set aside; the message names it and what to do."""


class State(Enum):
    ABSENT = "absent"
    WHOLE = "whole"
    DAMAGED = "damaged"


@dataclass(frozen=True)
class Found:
    """What each of FreqAI's files holds; `why`: file name -> the load's error."""

    history: State
    backup: State
    pair_dictionary: State
    why: dict[str, str]
    global_metadata: State = State.ABSENT
    metric_tracker: State = State.ABSENT
    half_built: tuple[str, ...] = ()  # pairs of a whole history whose frame lacks BUILT_LAST
    unfinished_copy: bool = False  # a repair's copy (RESTORING) that did not take its place
    # pairs of a whole pair dictionary whose current window does not load, with the reason
    damaged_windows: tuple[tuple[str, str], ...] = ()


class Step(Enum):
    UNFINISHED_COPY = "remove the copy an unfinished repair left"
    RESTORE_HISTORY = "restore the history from its backup"
    HISTORY_ASIDE = "set the history aside, FreqAI starts it afresh"
    HALF_BUILT_PAIRS = "drop the pairs whose history FreqAI's first prediction left half-built"
    PAIR_DICTIONARY_ASIDE = "set the pair dictionary aside"
    FORGET_DAMAGED_WINDOWS = "retrain the pairs whose current window does not load"
    GLOBAL_METADATA_ASIDE = "set the global metadata aside"
    METRIC_TRACKER_ASIDE = "set the metric tracker aside"


def recover_at_start(config: dict) -> tuple[Step, ...]:
    """`recover` on the folder FreqAI is about to read (IFreqaiModel.set_full_path: the
    config's `user_data_dir` / models / identifier), unless a bot of the identifier runs."""
    user_data, identifier = Path(config["user_data_dir"]), identifier_of(config)
    return recover(user_data / MODELS / identifier,
                   lambda: _other_writer(live_store(user_data, identifier).root),
                   window_files=window_files_of(config))


def window_files_of(config: dict) -> tuple[str, ...]:
    """The suffixes of a window's files that FreqAI's load_data reads in this run: in live and
    dry runs WINDOW_FILES, and JOBLIB_MODEL with FreqAI's default `model_save_type` (joblib,
    what SelfLearningModel saves; another type's model file is not checked); none in the other
    run modes, which do not load a window from the pair dictionary."""
    if run_mode(config) not in TRADE_MODES:
        return ()
    save_type = (config.get("freqai") or {}).get("model_save_type", "joblib")
    return JOBLIB_WINDOW if save_type == "joblib" else WINDOW_FILES


def identifier_of(config: dict) -> str:
    """The identifier as IFreqaiModel reads it (its own error when `freqai` is missing)."""
    return f"{(config.get('freqai') or {}).get('identifier', NO_IDENTIFIER)}"


def plan(found: Found) -> tuple[Step, ...]:
    """The steps that make `found` loadable; none when every file is whole or absent."""
    steps = [Step.UNFINISHED_COPY] if found.unfinished_copy else []
    if found.history is State.DAMAGED:
        whole_backup = found.backup is State.WHOLE
        steps.append(Step.RESTORE_HISTORY if whole_backup else Step.HISTORY_ASIDE)
    elif found.half_built:
        steps.append(Step.HALF_BUILT_PAIRS)
    if found.pair_dictionary is State.DAMAGED:
        steps.append(Step.PAIR_DICTIONARY_ASIDE)
    elif found.damaged_windows:
        steps.append(Step.FORGET_DAMAGED_WINDOWS)
    if found.global_metadata is State.DAMAGED:
        steps.append(Step.GLOBAL_METADATA_ASIDE)
    if found.metric_tracker is State.DAMAGED:
        steps.append(Step.METRIC_TRACKER_ASIDE)
    return tuple(steps)


def aside_name(name: str, stamp: str, taken: Callable[[str], bool]) -> str:
    """`historic_predictions.pkl` -> `historic_predictions.pkl.damaged-<stamp>`, numbered
    (`-2`, `-3`, ...) when a file of that name exists already: nothing is overwritten."""
    candidate, number = f"{name}{DAMAGED}{stamp}", 1
    while taken(candidate):
        number += 1
        candidate = f"{name}{DAMAGED}{stamp}-{number}"
    return candidate


def inspect(folder: Path, window_files: tuple[str, ...] = JOBLIB_WINDOW) -> Found:
    """Loads each file as FreqAI does and, of the window of each pair the pair dictionary
    names, the files with the suffixes `window_files` (none: windows not checked);
    FreqaiFileError when one exists but cannot be read."""
    history = _read(folder / HISTORY, cloudpickle.loads)
    backup = _read(folder / HISTORY_BACKUP, cloudpickle.loads) \
        if history.state is State.DAMAGED else _Read(State.ABSENT)  # only when it is needed
    pair_dictionary = _read(folder / PAIR_DICTIONARY, _parse_json)
    global_metadata = _read(folder / GLOBAL_METADATA, _parse_json)
    metric_tracker = _read(folder / METRIC_TRACKER, _parse_json)
    named = {HISTORY: history, HISTORY_BACKUP: backup, PAIR_DICTIONARY: pair_dictionary,
             GLOBAL_METADATA: global_metadata, METRIC_TRACKER: metric_tracker}
    why = {name: read.error for name, read in named.items() if read.error is not None}
    return Found(history.state, backup.state, pair_dictionary.state, why,
                 global_metadata.state, metric_tracker.state, half_built_pairs(history.value),
                 _copy_of(folder / HISTORY).exists(),
                 damaged_windows(pair_dictionary.value, window_files))


def damaged_windows(pair_dictionary: object, window_files: tuple[str, ...]
                    ) -> tuple[tuple[str, str], ...]:
    """(pair, why) for each pair of a loaded pair dictionary that names a window whose
    `window_files` do not load as FreqAI's load_data reads them (missing, or cut); none for
    anything that is not FreqAI's dict of entries, or without window files to check."""
    if not isinstance(pair_dictionary, dict) or not window_files:
        return ()
    out = []
    for pair, entry in pair_dictionary.items():
        if isinstance(entry, dict) and entry.get("model_filename"):
            why = _window_error(Path(str(entry.get("data_path") or "")),
                                str(entry["model_filename"]), window_files)
            if why is not None:
                out.append((str(pair), why))
    return tuple(out)


def _window_error(folder: Path, name: str, window_files: tuple[str, ...]) -> str | None:
    """Why the window `name` in `folder` does not load (the first file that does not: the
    JSON metadata parsed, the pickles unpickled, as load_data does), or None."""
    if not folder.name:
        return "no data_path"
    for suffix in window_files:
        file = f"{name}{suffix}"
        read = _read(folder / file, _parse_metadata if suffix.endswith(".json")
                     else cloudpickle.loads)
        if read.state is State.ABSENT:
            return f"{folder / file} is missing"
        if read.state is State.DAMAGED:
            return f"{folder / file}: {read.error}"
    return None


def half_built_pairs(history: object) -> tuple[str, ...]:
    """The pairs of a loaded history whose frame lacks BUILT_LAST (a build FreqAI did not
    finish); none for anything that is not FreqAI's dict of frames."""
    if not isinstance(history, dict):
        return ()
    return tuple(pair for pair, frame in history.items()
                 if hasattr(frame, "columns") and BUILT_LAST not in frame.columns)


def recover(folder: Path, writer: Callable[[], str | None] = lambda: None,
            now: Callable[[], datetime] = lambda: datetime.now(UTC),
            window_files: tuple[str, ...] = JOBLIB_WINDOW) -> tuple[Step, ...]:
    """Makes FreqAI's files in `folder` loadable (module docstring); `writer()`: another
    process that holds the live store's lock ("PID 1234"), whose bot may be writing them
    now, or None; `window_files`: as `inspect` (recover_at_start: window_files_of the run).
    Returns the steps taken."""
    if not folder.is_dir():
        return ()
    found = inspect(folder, window_files)
    steps = plan(found)
    if steps and (holder := writer()) is not None:
        logger.warning(f"FreqAI's files in {folder} do not load ({_reasons(found)}), but "
                       f"process {holder} runs a bot of this identifier and may be writing "
                       "them: left as they are. Stop that bot before starting this run.")
        return ()
    stamp = now().strftime("%Y%m%dT%H%M%SZ")
    for step in steps:
        _STEPS[step](folder, stamp, found)
    return steps


def _other_writer(store: Path) -> str | None:
    holder = writer_lock.holder(store)
    return None if holder == f"PID {os.getpid()}" else holder  # this process: no bot yet


@dataclass(frozen=True)
class _Read:
    """One file read as FreqAI reads it: its state, what loaded (WHOLE), the error (DAMAGED)."""

    state: State
    value: object = None
    error: str | None = None


def _read(path: Path, load: Callable[[bytes], object]) -> _Read:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _Read(State.ABSENT)
    except OSError as err:
        raise FreqaiFileError(f"Cannot read FreqAI's {path} ({err.strerror}); give the bot's "
                              f"user read and write access to {path.parent}.") from None
    try:
        return _Read(State.WHOLE, load(data))
    except Exception as err:  # whatever a cut file raises: UnpicklingError, EOFError, ...
        return _Read(State.DAMAGED, error=f"{type(err).__name__}: {str(err)[:120]}")


def _parse_json(data: bytes) -> object:
    return rapidjson.loads(data.decode(), number_mode=rapidjson.NM_NATIVE)  # as FreqAI reads it


def _parse_metadata(data: bytes) -> object:
    # as load_data reads a window's metadata (data_drawer.METADATA_NUMBER_MODE)
    return rapidjson.loads(data.decode(), number_mode=rapidjson.NM_NATIVE | rapidjson.NM_NAN)


def _restore_history(folder: Path, stamp: str, found: Found) -> None:
    history, backup = folder / HISTORY, folder / HISTORY_BACKUP
    aside = _put_in_place(history, stamp, lambda out: out.write(backup.read_bytes()))
    logger.warning(f"FreqAI's {history} does not load ({found.why[HISTORY]}; a kill while "
                   f"FreqAI rewrote it cuts it): set it aside as {aside.name} and put its "
                   f"backup {backup.name} in its place. FreqAI's prediction history (FreqUI, "
                   "--freqai-backtest-live-models) lacks what it saved after that backup; the "
                   "models themselves come from the SelfLearning store.")


def _history_aside(folder: Path, stamp: str, found: Found) -> None:
    history, backup = folder / HISTORY, folder / HISTORY_BACKUP
    aside = _move_aside(history, stamp)
    state = f"does not load either ({found.why[HISTORY_BACKUP]})" \
        if found.backup is State.DAMAGED else "does not exist"
    logger.warning(f"FreqAI's {history} does not load ({found.why[HISTORY]}) and its backup "
                   f"{backup.name} {state}: set it aside as {aside.name} (the backup is left "
                   "as it is). FreqAI starts its prediction history from scratch: FreqUI's "
                   "chart and what --freqai-backtest-live-models replays begin again at this "
                   "start. The models themselves come from the SelfLearning store.")


def _drop_half_built(folder: Path, stamp: str, found: Found) -> None:
    history = folder / HISTORY

    def without_half_built(out: BinaryIO) -> None:
        kept = cloudpickle.loads(history.read_bytes())
        for pair in found.half_built:
            kept.pop(pair, None)
        # as FreqAI writes it (save_historic_predictions_to_disk)
        cloudpickle.dump(kept, out, protocol=cloudpickle.DEFAULT_PROTOCOL)

    aside = _put_in_place(history, stamp, without_half_built)
    logger.warning(f"FreqAI's {history} holds {', '.join(found.half_built)} without the "
                   f"column {BUILT_LAST} (a stop while FreqAI built that history at the first "
                   "prediction, saved half-built at its shutdown; --freqai-backtest-live-models "
                   f"fails on it): set it aside as {aside.name} and put the same history "
                   "without those pairs in its place. FreqAI builds them again at their next "
                   "prediction; the models come from the SelfLearning store.")


# What FreqAI does without each JSON file, said in the warning that sets it aside.
JSON_AFRESH = {
    PAIR_DICTIONARY: "FreqAI no longer knows which model each pair has: a live or dry-run bot "
                     "retrains every pair, one after another in its training thread, and gives "
                     "a pair do_predict 0 (no entries) until its training; each training "
                     "restores the pair's models from the SelfLearning store and continues them.",
    GLOBAL_METADATA: "FreqAI writes it again at this bot's first live candle, so the period "
                     "--freqai-backtest-live-models replays starts there.",
    METRIC_TRACKER: "FreqAI's metrics (write_metrics_to_disk) begin again at this start.",
}


def _json_aside(name: str) -> Callable[[Path, str, Found], None]:
    """The step that sets FreqAI's JSON file `name` aside, saying what FreqAI does without it."""
    def step(folder: Path, stamp: str, found: Found) -> None:
        path = folder / name
        aside = _move_aside(path, stamp)
        logger.warning(f"FreqAI's {path} does not parse ({found.why[name]}; a kill while FreqAI "
                       f"wrote it cuts it): set it aside as {aside.name}. {JSON_AFRESH[name]}")
    return step


def _forget_damaged_windows(folder: Path, stamp: str, found: Found) -> None:
    path = folder / PAIR_DICTIONARY
    pairs = [pair for pair, _ in found.damaged_windows]

    def without_damaged(out: BinaryIO) -> None:
        entries = _parse_json(path.read_bytes())
        for pair in pairs:
            entries[pair] = dict(EMPTY_PAIR_ENTRY)
        # as FreqAI writes it (save_drawer_to_disk)
        out.write(rapidjson.dumps(entries, number_mode=rapidjson.NM_NATIVE).encode())

    aside = _put_in_place(path, stamp, without_damaged)
    reasons = "; ".join(f"{pair}: {why}" for pair, why in found.damaged_windows)
    logger.warning(f"FreqAI's {path} names model windows that do not load ({reasons}; a power "
                   "cut while FreqAI saved them, or a moved or deleted folder): FreqAI would "
                   "fail on those pairs at every candle until their next retrain. Their entries "
                   f"are reset, the previous dictionary kept as {aside.name}: FreqAI retrains "
                   f"{', '.join(pairs)} at this start and gives do_predict 0 (no entries) until "
                   "then; each training restores the pair's models from the SelfLearning store.")


def _remove_unfinished_copy(folder: Path, stamp: str, found: Found) -> None:
    copy = _copy_of(folder / HISTORY)
    try:
        copy.unlink(missing_ok=True)
    except OSError as err:
        raise FreqaiFileError(f"Cannot remove {copy} ({err.strerror}), the copy an unfinished "
                              f"repair of {HISTORY} left; give the bot's user write access to "
                              f"{folder}, or remove that file yourself.") from None
    logger.info(f"Removed {copy}: a repair of {HISTORY} at an earlier start was cut before "
                "its copy took the file's place; the file is as that repair found it.")


def _copy_of(path: Path) -> Path:
    """Where `_put_in_place` writes the new content of `path` before it replaces it."""
    return path.with_name(f"{path.name}{RESTORING}")


def _put_in_place(path: Path, stamp: str, write: Callable[[BinaryIO], None]) -> Path:
    """`path` replaced atomically by what `write` writes, the file it held kept under its
    damaged name (returned): written under a temporary name and fsynced, the old file linked
    aside (so `path` exists throughout), then os.replace. FreqaiFileError when it cannot, the
    temporary copy removed."""
    copy = _copy_of(path)
    try:
        with copy.open("wb") as out:
            write(out)
        fsync_path(copy)
        aside = _set_aside(path, stamp, keep=True)
        os.replace(copy, path)
        fsync_path(path.parent)
    except OSError as err:
        with suppress(OSError):  # else the next start removes it (UNFINISHED_COPY)
            copy.unlink(missing_ok=True)
        raise _cannot(path, err) from None
    return aside


def _move_aside(path: Path, stamp: str) -> Path:
    try:
        aside = _set_aside(path, stamp, keep=False)
        fsync_path(path.parent)
    except OSError as err:
        raise _cannot(path, err) from None
    return aside


def _set_aside(path: Path, stamp: str, keep: bool) -> Path:
    """`path` under its damaged name; `keep`: still under `path` too (a hard link, so that
    os.replace can swap `path` atomically; a rename where the filesystem has no links)."""
    aside = path.with_name(aside_name(path.name, stamp, lambda n: (path.parent / n).exists()))
    if keep:
        try:
            os.link(path, aside)
            return aside
        except OSError:  # no hard links here (FAT, some network mounts): rename
            pass
    os.rename(path, aside)
    return aside


def _cannot(path: Path, err: OSError) -> FreqaiFileError:
    return FreqaiFileError(
        f"FreqAI's {path} is damaged (cut by a kill while FreqAI wrote it) and cannot be set "
        f"aside ({err.strerror}: {err.filename}); give the bot's user write access to "
        f"{path.parent}, or move {path.name} out of that folder yourself, then start again.")


def _reasons(found: Found) -> str:
    half_built = [f"{HISTORY}: {', '.join(found.half_built)} without {BUILT_LAST}"] \
        if found.half_built else []
    unfinished = [f"{HISTORY}{RESTORING}: left by an unfinished repair"] \
        if found.unfinished_copy else []
    windows = [f"{pair}'s window: {why}" for pair, why in found.damaged_windows]
    return "; ".join([*(f"{name}: {error}" for name, error in found.why.items()), *half_built,
                      *unfinished, *windows])


_STEPS: dict[Step, Callable[[Path, str, Found], None]] = {
    Step.UNFINISHED_COPY: _remove_unfinished_copy,
    Step.RESTORE_HISTORY: _restore_history,
    Step.HISTORY_ASIDE: _history_aside,
    Step.HALF_BUILT_PAIRS: _drop_half_built,
    Step.PAIR_DICTIONARY_ASIDE: _json_aside(PAIR_DICTIONARY),
    Step.FORGET_DAMAGED_WINDOWS: _forget_damaged_windows,
    Step.GLOBAL_METADATA_ASIDE: _json_aside(GLOBAL_METADATA),
    Step.METRIC_TRACKER_ASIDE: _json_aside(METRIC_TRACKER),
}
