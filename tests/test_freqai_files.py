"""FreqAI's own files, cut by a kill while FreqAI rewrote them in place, no longer stop a start
(self_learning/runtime/freqai_files.py). Every folder here is written by freqtrade's real
FreqaiDataDrawer (its save methods), cut as a SIGKILL cuts it, and read back by a real
FreqaiDataDrawer: each test first shows the drawer FAILS on the cut files, then that it loads
them once `recover` has run."""

from __future__ import annotations

import json
import logging
import pickle
import resource
import shutil
import signal
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import rapidjson
from capabilities import without_permission_override
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.freqai.data_drawer import FreqaiDataDrawer
from lock_holder import lock_held_elsewhere

from self_learning.runtime import freqai_files
from self_learning.runtime.freqai_files import (
    EMPTY_PAIR_ENTRY,
    GLOBAL_METADATA,
    HISTORY,
    HISTORY_BACKUP,
    JOBLIB_MODEL,
    JOBLIB_WINDOW,
    METRIC_TRACKER,
    PAIR_DICTIONARY,
    Found,
    FreqaiFileError,
    State,
    Step,
    aside_name,
    plan,
    recover,
    window_files_of,
)
from self_learning.runtime.run_stores import live_store

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"freqai": {"feature_parameters": {}, "identifier": "bot"}}
PAIRS = ("BTC/USDT", "ETH/USDT")
NOW = datetime(2026, 12, 7, 1, 30, 5, tzinfo=UTC)
STAMP = "20261207T013005Z"


def predictions(rows: int, level: float) -> dict[str, pd.DataFrame]:
    """Historic predictions shaped as FreqAI keeps them: a frame per pair."""
    dates = pd.date_range("2026-11-01", periods=rows, freq="1h", tz="UTC")
    return {pair: pd.DataFrame({"&-s_close": np.linspace(-level, level, rows), "do_predict": 1,
                                "&-s_close_mean": 0.0, "date_pred": dates}) for pair in PAIRS}


def pair_dict(trained: int, folder: Path) -> dict:
    """FreqAI's entries of PAIRS trained at `trained`, each naming its window in `folder`."""
    return {pair: {"model_filename": f"cb_{pair[:3].lower()}_{trained}",
                   "data_path": str(folder / f"sub-train-{pair[:3]}_{trained}"),
                   "trained_timestamp": trained, "extras": {}} for pair in PAIRS}


def window_files(entry: dict) -> dict[Path, bytes]:
    """What FreqAI's save_data writes into a pair's window that its load_data reads back: the
    model (cloudpickle, model_save_type joblib), the metadata JSON and the two pipelines."""
    folder, name = Path(entry["data_path"]), entry["model_filename"]
    metadata = {"training_features_list": ["%-a", "%-b"], "label_list": ["&-s_close"],
                "model_filename": name, "label_period_candles": 4, "nan_value": float("nan")}
    return {folder / f"{name}_model.joblib": cloudpickle.dumps({"model": name}),
            folder / f"{name}_metadata.json": rapidjson.dumps(
                metadata, number_mode=rapidjson.NM_NATIVE | rapidjson.NM_NAN).encode(),
            folder / f"{name}_feature_pipeline.pkl": cloudpickle.dumps(["features"]),
            folder / f"{name}_label_pipeline.pkl": cloudpickle.dumps(["labels"])}


def freqai_saves(folder: Path, history: dict, trained: int) -> dict:
    """FreqAI's own writes after a training: each pair's window files, then
    pair_dictionary.json, then the history pickle and its backup copy. Returns the entries."""
    pairs = pair_dict(trained, folder)
    for entry in pairs.values():
        for path, data in window_files(entry).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    drawer = FreqaiDataDrawer(folder, CONFIG)
    drawer.pair_dict, drawer.historic_predictions = pairs, history
    drawer.save_drawer_to_disk()
    drawer.save_historic_predictions_to_disk()
    return pairs


def cut_second_save(folder: Path, name: str, offset: int) -> bytes:
    """A second training's save, killed while FreqAI wrote `name`: the file holds the first
    `offset` bytes of what FreqAI was writing (the backup is still the first save's).
    Returns the whole bytes of that write."""
    other = folder.parent / f"{folder.name}-whole"
    other.mkdir()
    freqai_saves(other, predictions(600, 2.0), 2)
    whole = (other / name).read_bytes()
    (folder / name).write_bytes(whole[:offset])
    return whole


@pytest.fixture
def models(tmp_path) -> Path:
    """user_data/models/bot after one training's saves."""
    folder = tmp_path / "models" / "bot"
    folder.mkdir(parents=True)
    freqai_saves(folder, predictions(500, 1.0), 1)
    return folder


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_same_history(loaded: dict, expected: dict) -> None:
    assert sorted(loaded) == sorted(expected)
    for pair, frame in expected.items():
        pd.testing.assert_frame_equal(loaded[pair], frame, check_dtype=False)


def offsets(length: int) -> list[int]:
    return [1, 64, length // 3, length // 2, length - 100, length - 1]


def aside_names(name: str, count: int) -> list[str]:
    """The names `count` damaged copies of `name` are set aside under, one after another at
    the same stamp: the first without a number, then -2, -3, ..."""
    return [f"{name}.damaged-{STAMP}"] + [f"{name}.damaged-{STAMP}-{n}"
                                          for n in range(2, count + 1)]


def recovers_cut(models: Path, name: str, cut: bytes, error: type[Exception], step: Step,
                 aside: str, caplog) -> None:
    """`cut` written as FreqAI's file `name`: FreqAI's drawer fails on it with `error`, and
    `recover` (its log captured afresh) takes `step`, the cut bytes set aside as `aside`."""
    (models / name).write_bytes(cut)
    with pytest.raises(error):
        FreqaiDataDrawer(models, CONFIG)
    caplog.clear()
    assert recover(models, now=lambda: NOW) == (step,)
    assert (models / aside).read_bytes() == cut


def test_a_cut_history_is_replaced_by_its_backup(models, caplog):
    """Cut at several offsets (the pickle of FreqAI's DataFrame dict): FreqAI's drawer raises
    UnpicklingError; after `recover` the cut bytes sit beside it under the damaged name, the
    backup's content (the previous save's) is in place, the backup itself is untouched, one
    warning names both files, and the drawer loads the backup's predictions."""
    backup = (models / HISTORY_BACKUP).read_bytes()
    whole = cut_second_save(models, HISTORY, 0)
    cuts = offsets(len(whole))
    names = aside_names(HISTORY, len(cuts))
    for offset, aside in zip(cuts, names, strict=True):
        recovers_cut(models, HISTORY, whole[:offset], pickle.UnpicklingError,
                     Step.RESTORE_HISTORY, aside, caplog)
        assert (models / HISTORY).read_bytes() == backup == \
            (models / HISTORY_BACKUP).read_bytes()
        assert not (models / f"{HISTORY}.restoring").exists()
        warnings = [r for r in caplog.records if r.name == freqai_files.__name__]
        assert [r.levelno for r in warnings] == [logging.WARNING]
        assert str(models / HISTORY) in warnings[0].message
        assert aside in warnings[0].message and HISTORY_BACKUP in warnings[0].message
        assert_same_history(FreqaiDataDrawer(models, CONFIG).historic_predictions,
                            predictions(500, 1.0))
    assert sorted(p.name for p in models.glob(f"{HISTORY}.damaged-*")) == sorted(names)


@pytest.mark.parametrize("backup", ["cut", "absent"])
def test_a_cut_history_without_a_loadable_backup_is_set_aside(models, caplog, backup):
    """Neither loads (a kill during FreqAI's very first save leaves no backup): the damaged
    file is set aside, the backup stays as it is, FreqAI starts its history afresh (an empty
    dict) and the warning says so."""
    whole = cut_second_save(models, HISTORY, 1000)
    if backup == "cut":
        (models / HISTORY_BACKUP).write_bytes(whole[:3000])
    else:
        (models / HISTORY_BACKUP).unlink()
    with pytest.raises(pickle.UnpicklingError):
        FreqaiDataDrawer(models, CONFIG)
    before = listing(models)
    assert recover(models, now=lambda: NOW) == (Step.HISTORY_ASIDE,)
    after = listing(models)
    assert after.pop(f"{HISTORY}.damaged-{STAMP}") == before.pop(HISTORY) == whole[:1000]
    assert after == before  # the backup (or its absence) and every other file as they were
    (warning,) = [r for r in caplog.records if r.name == freqai_files.__name__]
    assert warning.levelno == logging.WARNING
    assert "starts its prediction history from scratch" in warning.message
    assert "SelfLearning store" in warning.message
    assert FreqaiDataDrawer(models, CONFIG).historic_predictions == {}


def test_a_cut_pair_dictionary_is_set_aside(models, caplog):
    """A cut pair_dictionary.json (at several offsets, and empty): FreqAI's drawer raises
    JSONDecodeError; after `recover` it is set aside whole as it was cut, the history is left
    alone, and the drawer starts with no pair known (FreqAI retrains each pair)."""
    whole = cut_second_save(models, PAIR_DICTIONARY, 0)
    history = (models / HISTORY).read_bytes()
    cuts = [0, *offsets(len(whole))]
    names = aside_names(PAIR_DICTIONARY, len(cuts))
    for offset, aside in zip(cuts, names, strict=True):
        recovers_cut(models, PAIR_DICTIONARY, whole[:offset], rapidjson.JSONDecodeError,
                     Step.PAIR_DICTIONARY_ASIDE, aside, caplog)
        assert not (models / PAIR_DICTIONARY).exists()
        (warning,) = [r for r in caplog.records if r.name == freqai_files.__name__]
        assert "retrains every pair" in warning.message and aside in warning.message
        drawer = FreqaiDataDrawer(models, CONFIG)
        assert drawer.pair_dict == {}
        assert_same_history(drawer.historic_predictions, predictions(500, 1.0))
        assert (models / HISTORY).read_bytes() == history


def test_a_cut_global_metadata_or_metric_tracker_is_set_aside(models, caplog):
    """FreqAI's two other JSON files read at start, written by its own save methods and cut:
    IFreqaiModel's constructor fails on the global metadata, the drawer (with
    write_metrics_to_disk) on the metric tracker; after `recover` both are set aside as they
    were cut, one warning each, and FreqAI starts them afresh."""
    config = {"freqai": {**CONFIG["freqai"], "write_metrics_to_disk": True}}
    drawer = FreqaiDataDrawer(models, config)
    drawer.save_global_metadata_to_disk({"start_dry_live_date": 1764000000})
    drawer.metric_tracker = {pair: {"train_time": {"timestamp": [1764000000.5, 1764003600.5],
                                                   "value": [1.25, 1.5]}} for pair in PAIRS}
    drawer.save_metric_tracker_to_disk()
    cut = {}
    for name in (GLOBAL_METADATA, METRIC_TRACKER):
        whole = (models / name).read_bytes()
        cut[name] = whole[: len(whole) // 2]
        (models / name).write_bytes(cut[name])
    with pytest.raises(rapidjson.JSONDecodeError):
        FreqaiDataDrawer(models, config)
    with pytest.raises(rapidjson.JSONDecodeError):
        FreqaiDataDrawer(models, CONFIG).load_global_metadata_from_disk()
    caplog.clear()
    assert recover(models, now=lambda: NOW) == (Step.GLOBAL_METADATA_ASIDE,
                                                 Step.METRIC_TRACKER_ASIDE)
    warnings = [r.message for r in caplog.records if r.name == freqai_files.__name__]
    for name, says in ((GLOBAL_METADATA, "--freqai-backtest-live-models"),
                       (METRIC_TRACKER, "write_metrics_to_disk")):
        assert not (models / name).exists()
        assert (models / f"{name}.damaged-{STAMP}").read_bytes() == cut[name]
        assert [w for w in warnings if name in w and says in w], warnings
    drawer = FreqaiDataDrawer(models, config)
    assert drawer.metric_tracker == {} and drawer.load_global_metadata_from_disk() == {}
    assert_same_history(drawer.historic_predictions, predictions(500, 1.0))


def test_both_files_cut_are_both_recovered(models):
    cut_second_save(models, PAIR_DICTIONARY, 40)
    (models / HISTORY).write_bytes(b"\x80\x05\x95")
    assert recover(models, now=lambda: NOW) == (Step.RESTORE_HISTORY, Step.PAIR_DICTIONARY_ASIDE)
    drawer = FreqaiDataDrawer(models, CONFIG)
    assert drawer.pair_dict == {}
    assert_same_history(drawer.historic_predictions, predictions(500, 1.0))


def test_whole_files_or_none_are_left_alone(models, tmp_path, caplog):
    """Whole files (even with a cut backup: FreqAI reads the backup only when the main file
    fails), an empty folder and a missing one: nothing touched, nothing logged."""
    (models / HISTORY_BACKUP).write_bytes(b"\x80\x05")
    (models / "global_metadata.json").write_text(json.dumps({"start_dry_live_date": 1}))
    def files() -> dict:  # FreqAI's files and the windows' files, with their write times
        return {p.relative_to(models): (p.read_bytes(), p.stat().st_mtime_ns)
                for p in models.rglob("*") if p.is_file()}

    before = files()
    empty = tmp_path / "models" / "fresh"
    empty.mkdir()
    caplog.set_level(logging.DEBUG)
    assert recover(models) == recover(empty) == recover(tmp_path / "missing") == ()
    assert files() == before
    assert list(empty.iterdir()) == [] and not (tmp_path / "missing").exists()
    assert [r for r in caplog.records if r.name == freqai_files.__name__] == []


def test_a_second_recovery_in_the_same_second_keeps_the_first_aside_file(models):
    cut_second_save(models, PAIR_DICTIONARY, 10)
    recover(models, now=lambda: NOW)
    (models / PAIR_DICTIONARY).write_bytes(b'{"BTC')
    recover(models, now=lambda: NOW)
    assert (models / f"{PAIR_DICTIONARY}.damaged-{STAMP}").read_bytes()[:10] != b'{"BTC'
    assert (models / f"{PAIR_DICTIONARY}.damaged-{STAMP}-2").read_bytes() == b'{"BTC'


def test_a_folder_it_cannot_write_gives_an_error_naming_the_file(models):
    """As an ordinary user: a damaged file in a read-only folder cannot be set aside. The error
    names the file and says what to do; nothing is changed."""
    cut_second_save(models, HISTORY, 500)
    before = listing(models)
    models.chmod(0o555)
    try:
        with without_permission_override(), pytest.raises(
                FreqaiFileError, match=rf"FreqAI's {models / HISTORY} is damaged .* cannot be "
                                       rf"set aside \(Permission denied: .*give the bot's user "
                                       rf"write access to {models}"):
            recover(models)
    finally:
        models.chmod(0o755)
    assert listing(models) == before


@contextmanager
def file_size_limit(size: int):
    """Writes beyond `size` bytes fail with OSError (EFBIG), as on a full disk: the process's
    RLIMIT_FSIZE, with SIGXFSZ ignored so the write fails instead of killing the process."""
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, before)
        signal.signal(signal.SIGXFSZ, handler)


def test_a_repair_that_fails_removes_its_copy(models):
    """The backup's copy cannot be written whole (the disk fills up): the error names the
    history, the partial copy is removed, every file is as it was, and the next start, with
    room again, makes the repair."""
    cut_second_save(models, HISTORY, 500)
    before = listing(models)
    with file_size_limit(len(before[HISTORY_BACKUP]) // 2), pytest.raises(
            FreqaiFileError, match=rf"FreqAI's {models / HISTORY} is damaged .* cannot be set "
                                   r"aside \(File too large"):
        recover(models, now=lambda: NOW)
    assert listing(models) == before
    assert recover(models, now=lambda: NOW) == (Step.RESTORE_HISTORY,)


@pytest.mark.parametrize("history", ["whole", "cut"])
def test_the_copy_of_a_repair_cut_by_a_kill_is_removed_at_the_next_start(models, caplog,
                                                                          history):
    """A kill while a repair wrote the backup's copy leaves `historic_predictions.pkl.restoring`
    beside the history it was to replace: the next start removes it (one info line) and
    touches nothing else, then makes the repair again if the history still needs it."""
    caplog.set_level(logging.INFO, logger=freqai_files.__name__)
    backup = (models / HISTORY_BACKUP).read_bytes()
    if history == "cut":
        cut_second_save(models, HISTORY, 500)
    copy = models / f"{HISTORY}.restoring"
    copy.write_bytes(backup[:len(backup) // 3])
    others = {name: data for name, data in listing(models).items() if name != copy.name}
    repairs = (Step.RESTORE_HISTORY,) if history == "cut" else ()
    assert recover(models, now=lambda: NOW) == (Step.UNFINISHED_COPY, *repairs)
    assert not copy.exists()
    if history == "whole":
        assert listing(models) == others
    else:
        assert (models / HISTORY).read_bytes() == backup
    (removed, *_) = [r for r in caplog.records if r.name == freqai_files.__name__]
    assert removed.levelno == logging.INFO and str(copy) in removed.message
    assert_same_history(FreqaiDataDrawer(models, CONFIG).historic_predictions,
                        predictions(500, 1.0))
    assert recover(models, now=lambda: NOW) == ()


def half_built(frame: pd.DataFrame) -> pd.DataFrame:
    """A pair's history as FreqAI's first prediction leaves it when a stop interrupts the
    build (set_initial_historic_predictions): its columns up to do_predict, without the ones
    added after it (the prices, date_pred last)."""
    return frame.drop(columns=["date_pred"])


def test_a_half_built_pair_history_is_dropped_so_freqai_builds_it_again(models, caplog):
    """A stop during a pair's first prediction: FreqAI's shutdown saved the half-built frame,
    a whole pickle that every later start keeps and --freqai-backtest-live-models fails on.
    `recover` sets the file aside and puts the history without that pair in its place; the
    other pairs' frames are as they were, and a second start finds nothing to do."""
    history = predictions(500, 1.0)
    complete = history["BTC/USDT"]
    history["ETH/USDT"] = half_built(history["ETH/USDT"])
    freqai_saves(models, history, 1)
    (models / GLOBAL_METADATA).write_text(json.dumps({"start_dry_live_date": 1796600000}))
    with pytest.raises(AttributeError, match="date_pred"):
        FreqaiDataDrawer(models, CONFIG).get_timerange_from_live_historic_predictions()
    saved, backup = (models / HISTORY).read_bytes(), (models / HISTORY_BACKUP).read_bytes()
    assert recover(models, now=lambda: NOW) == (Step.HALF_BUILT_PAIRS,)
    assert (models / f"{HISTORY}.damaged-{STAMP}").read_bytes() == saved
    assert (models / HISTORY_BACKUP).read_bytes() == backup
    assert not (models / f"{HISTORY}.restoring").exists()
    drawer = FreqaiDataDrawer(models, CONFIG)
    assert_same_history(drawer.historic_predictions, {"BTC/USDT": complete})
    assert drawer.get_timerange_from_live_historic_predictions().stopdt.year == 2026
    (warning,) = [r for r in caplog.records if r.name == freqai_files.__name__]
    assert warning.levelno == logging.WARNING
    assert "holds ETH/USDT without the column date_pred" in warning.message
    assert recover(models, now=lambda: NOW) == ()


def test_files_of_a_running_bot_are_left_alone(models, caplog):
    """Another process holds the identifier's live store lock (a running bot, which may be
    writing FreqAI's files this moment): a file that does not load is left as it is."""
    cut_second_save(models, HISTORY, 500)
    before = listing(models)
    user_data = models.parent.parent
    with lock_held_elsewhere(live_store(user_data, "bot").root) as pid:
        assert freqai_files.recover_at_start({**CONFIG, "user_data_dir": user_data}) == ()
    assert listing(models) == before
    assert f"process PID {pid} runs a bot of this identifier" in caplog.text
    assert freqai_files.recover_at_start({**CONFIG, "user_data_dir": user_data}) == \
        (Step.RESTORE_HISTORY,)  # once that bot has stopped


def test_the_model_starts_on_cut_files(models):
    """SelfLearningModel runs the recovery before FreqAI's constructor, in the folder FreqAI
    reads (user_data_dir/models/<identifier>): it starts where FreqAI alone stops."""
    from SelfLearningModel import SelfLearningModel

    config = json.loads((ROOT / "config.json").read_text())
    config["freqai"]["identifier"] = "bot"
    config.update(user_data_dir=models.parent.parent, runmode=RunMode.BACKTEST,
                  freqai_backtest_live_models=True)  # no runtime: only the start is tested
    config["api_server"]["enabled"] = False
    cut_second_save(models, HISTORY, 700)
    (models / PAIR_DICTIONARY).write_bytes(b'{"BTC/USDT": {"model_fi')
    with pytest.raises(rapidjson.JSONDecodeError):  # FreqAI reads it before the history
        FreqaiDataDrawer(models, config)
    model = SelfLearningModel(config=config)
    assert model.dd.pair_dict == {}
    assert_same_history(model.dd.historic_predictions, predictions(500, 1.0))


def test_the_model_reports_a_file_it_cannot_set_aside(models):
    from SelfLearningModel import SelfLearningModel

    config = json.loads((ROOT / "config.json").read_text())
    config["freqai"]["identifier"] = "bot"
    config.update(user_data_dir=models.parent.parent, runmode=RunMode.BACKTEST,
                  freqai_backtest_live_models=True)
    (models / PAIR_DICTIONARY).write_bytes(b"{")
    models.chmod(0o555)
    try:
        with without_permission_override(), pytest.raises(
                OperationalException, match=rf"^FreqAI's {models / PAIR_DICTIONARY} is damaged"):
            SelfLearningModel(config=config)
    finally:
        models.chmod(0o755)


LIVE = SimpleNamespace(live=True)  # what FreqAI's load_data reads of its data kitchen


def damage(path: Path, how: str) -> None:
    """A window file as a power cut can leave it (cut to 0, 1, half or all but one of its
    bytes), missing, or its whole folder gone."""
    whole = path.read_bytes()
    if how == "missing":
        path.unlink()
    elif how == "folder gone":
        shutil.rmtree(path.parent)
    else:
        path.write_bytes(whole[:{"empty": 0, "one byte": 1, "half": len(whole) // 2,
                                 "last byte cut": len(whole) - 1}[how]])


@pytest.mark.parametrize("suffix", ["_model.joblib", "_metadata.json", "_feature_pipeline.pkl",
                                    "_label_pipeline.pkl"])
@pytest.mark.parametrize("how", ["empty", "one byte", "half", "last byte cut", "missing",
                                 "folder gone"])
def test_a_pair_whose_window_does_not_load_is_trained_again(tmp_path, caplog, suffix, how):
    """BTC's current window (the files FreqAI's load_data reads at the pair's first live
    candle) cut, missing or gone: FreqAI's own load_data fails on it; after `recover` BTC's
    entry is FreqAI's empty one (load_data returns no model, so FreqAI trains the pair), ETH's
    entry and window are as they were, the previous dictionary is kept aside byte for byte,
    the window's files are not touched, one warning names the pair and the file, and the next
    start has nothing to do."""
    folder = tmp_path / "models" / "bot"
    pairs = freqai_saves(folder, predictions(50, 1.0), 1)
    btc = pairs["BTC/USDT"]
    path = Path(btc["data_path"]) / f"{btc['model_filename']}{suffix}"
    damage(path, how)
    dictionary = (folder / PAIR_DICTIONARY).read_bytes()
    window = {p: p.read_bytes() for p in Path(btc["data_path"]).glob("*")}
    with pytest.raises(Exception):  # noqa: B017 - whatever the file raises: FreqAI's own error
        FreqaiDataDrawer(folder, CONFIG).load_data("BTC/USDT", LIVE)
    caplog.clear()
    assert recover(folder, now=lambda: NOW) == (Step.FORGET_DAMAGED_WINDOWS,)
    assert (folder / f"{PAIR_DICTIONARY}.damaged-{STAMP}").read_bytes() == dictionary
    drawer = FreqaiDataDrawer(folder, CONFIG)
    assert drawer.pair_dict == {"BTC/USDT": EMPTY_PAIR_ENTRY, "ETH/USDT": pairs["ETH/USDT"]}
    assert drawer.load_data("BTC/USDT", LIVE) is None
    assert drawer.load_data("ETH/USDT", LIVE) == {"model": "cb_eth_1"}
    assert {p: p.read_bytes() for p in Path(btc["data_path"]).glob("*")} == window
    (warning,) = [r for r in caplog.records if r.name == freqai_files.__name__]
    assert warning.levelno == logging.WARNING
    named = str(path) if how != "folder gone" else str(Path(btc["data_path"]) /
                                                        f"{btc['model_filename']}_metadata.json")
    assert named in warning.message and "retrains BTC/USDT at this start" in warning.message
    assert "SelfLearning store" in warning.message
    assert recover(folder, now=lambda: NOW) == ()


def test_a_window_model_file_is_checked_only_for_joblib_models(tmp_path):
    """With another model_save_type FreqAI reads another model file (h5, zip): a cut
    `_model.joblib` is then nobody's concern; the metadata and pipelines still are."""
    folder = tmp_path / "models" / "bot"
    btc = freqai_saves(folder, predictions(50, 1.0), 1)["BTC/USDT"]
    damage(Path(btc["data_path"]) / f"{btc['model_filename']}{JOBLIB_MODEL}", "half")
    keras = window_files_of({"freqai": {"model_save_type": "keras"}, "runmode": "dry_run"})
    assert recover(folder, window_files=keras) == ()
    assert window_files_of({"freqai": {}, "runmode": "dry_run"}) == JOBLIB_WINDOW
    assert JOBLIB_MODEL in JOBLIB_WINDOW and JOBLIB_MODEL not in keras
    damage(Path(btc["data_path"]) / f"{btc['model_filename']}_metadata.json", "half")
    assert recover(folder, window_files=keras) == (Step.FORGET_DAMAGED_WINDOWS,)


@pytest.mark.parametrize(("runmode", "steps"), [
    (RunMode.DRY_RUN, (Step.FORGET_DAMAGED_WINDOWS,)),
    (RunMode.LIVE, (Step.FORGET_DAMAGED_WINDOWS,)),
    (RunMode.BACKTEST, ()), (RunMode.HYPEROPT, ()), (RunMode.PLOT, ())])
def test_windows_are_checked_at_the_start_of_trading_runs_only(tmp_path, runmode, steps):
    """Only live and dry runs load a pair's window from the dictionary; a backtest (hyperopt,
    plot-dataframe) of the same identifier leaves it as it is."""
    folder = tmp_path / "models" / "bot"
    btc = freqai_saves(folder, predictions(50, 1.0), 1)["BTC/USDT"]
    damage(Path(btc["data_path"]) / f"{btc['model_filename']}_metadata.json", "half")
    dictionary = (folder / PAIR_DICTIONARY).read_bytes()
    config = {**CONFIG, "user_data_dir": str(tmp_path), "runmode": runmode}
    assert freqai_files.recover_at_start(config) == steps
    assert ((folder / PAIR_DICTIONARY).read_bytes() == dictionary) is (steps == ())


def test_plan_forgets_damaged_windows_only_of_a_dictionary_that_loads():
    windows = (("BTC/USDT", "x is missing"),)
    whole = Found(State.WHOLE, State.ABSENT, State.WHOLE, {}, damaged_windows=windows)
    cut = Found(State.WHOLE, State.ABSENT, State.DAMAGED, {}, damaged_windows=windows)
    assert plan(whole) == (Step.FORGET_DAMAGED_WINDOWS,)
    assert plan(cut) == (Step.PAIR_DICTIONARY_ASIDE,)


@pytest.mark.parametrize(("history", "backup", "pairs", "steps"), [
    (State.WHOLE, State.ABSENT, State.WHOLE, ()),
    (State.ABSENT, State.ABSENT, State.ABSENT, ()),
    (State.ABSENT, State.WHOLE, State.ABSENT, ()),  # FreqAI never reads a lone backup
    (State.WHOLE, State.DAMAGED, State.WHOLE, ()),
    (State.DAMAGED, State.WHOLE, State.WHOLE, (Step.RESTORE_HISTORY,)),
    (State.DAMAGED, State.DAMAGED, State.ABSENT, (Step.HISTORY_ASIDE,)),
    (State.DAMAGED, State.ABSENT, State.WHOLE, (Step.HISTORY_ASIDE,)),
    (State.WHOLE, State.ABSENT, State.DAMAGED, (Step.PAIR_DICTIONARY_ASIDE,)),
    (State.DAMAGED, State.WHOLE, State.DAMAGED,
     (Step.RESTORE_HISTORY, Step.PAIR_DICTIONARY_ASIDE)),
])
def test_plan(history, backup, pairs, steps):
    assert plan(Found(history, backup, pairs, {})) == steps


def test_plan_drops_half_built_pairs_only_from_a_history_that_loads():
    whole = Found(State.WHOLE, State.ABSENT, State.WHOLE, {}, half_built=("ETH/USDT",))
    assert plan(whole) == (Step.HALF_BUILT_PAIRS,)
    cut = Found(State.DAMAGED, State.WHOLE, State.WHOLE, {}, half_built=("ETH/USDT",))
    assert plan(cut) == (Step.RESTORE_HISTORY,)


def test_half_built_pairs_are_the_frames_without_date_pred():
    history = predictions(5, 1.0)
    assert freqai_files.half_built_pairs(history) == ()
    history["BTC/USDT"] = half_built(history["BTC/USDT"])
    assert freqai_files.half_built_pairs(history) == ("BTC/USDT",)
    assert freqai_files.half_built_pairs(["not", "a", "history"]) == ()


@pytest.mark.parametrize(("global_metadata", "metric_tracker", "steps"), [
    (State.WHOLE, State.WHOLE, ()),
    (State.DAMAGED, State.ABSENT, (Step.GLOBAL_METADATA_ASIDE,)),
    (State.ABSENT, State.DAMAGED, (Step.METRIC_TRACKER_ASIDE,)),
    (State.DAMAGED, State.DAMAGED, (Step.GLOBAL_METADATA_ASIDE, Step.METRIC_TRACKER_ASIDE)),
])
def test_plan_of_the_other_json_files(global_metadata, metric_tracker, steps):
    found = Found(State.WHOLE, State.ABSENT, State.WHOLE, {}, global_metadata, metric_tracker)
    assert plan(found) == steps


def test_aside_name_never_takes_an_existing_name():
    taken = {f"{HISTORY}.damaged-{STAMP}", f"{HISTORY}.damaged-{STAMP}-2"}
    assert aside_name(HISTORY, STAMP, taken.__contains__) == f"{HISTORY}.damaged-{STAMP}-3"
    assert aside_name(HISTORY, STAMP, lambda _: False) == f"{HISTORY}.damaged-{STAMP}"


def test_this_process_holding_the_lock_is_no_running_bot(models):
    """The live store's lock held by this very process (an earlier model of it) is no other
    bot: the files are recovered."""
    from self_learning.store import writer_lock

    cut_second_save(models, HISTORY, 500)
    user_data = models.parent.parent
    store = live_store(user_data, "bot").root
    writer_lock.hold(store)
    try:
        assert freqai_files.recover_at_start({**CONFIG, "user_data_dir": user_data}) == \
            (Step.RESTORE_HISTORY,)
    finally:
        writer_lock.release(store)


def test_a_config_without_identifier_recovers_freqais_default_folder(tmp_path):
    """FreqAI reads `freqai.identifier` with the default `no_id_provided`; so does the
    recovery."""
    folder = tmp_path / "models" / "no_id_provided"
    folder.mkdir(parents=True)
    (folder / PAIR_DICTIONARY).write_bytes(b"{")
    config = {"freqai": {"feature_parameters": {}}, "user_data_dir": str(tmp_path)}
    assert freqai_files.recover_at_start(config) == (Step.PAIR_DICTIONARY_ASIDE,)


def test_a_file_it_cannot_read_gives_an_error_naming_it(models):
    (models / HISTORY).chmod(0)
    try:
        with without_permission_override(), pytest.raises(
                FreqaiFileError, match=rf"^Cannot read FreqAI's {models / HISTORY} "
                                       rf"\(Permission denied\); give the bot's user read"):
            recover(models)
    finally:
        (models / HISTORY).chmod(0o644)
    assert sorted(p.name for p in models.iterdir() if p.is_file()) == [
        HISTORY_BACKUP, HISTORY, PAIR_DICTIONARY]
