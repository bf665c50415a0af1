"""FreqAI reuses an identifier's stored backtest predictions whatever the config says now: a
backtest of changed settings under the same identifier and timerange shows the earlier model's
trades (the demo market, memory_candles 8760 -> 576: the same 12 trades, nothing trained). The
record of which settings made each stored window (runtime/prediction_settings.py) makes such a
run warn once, naming each changed key, and stays quiet when nothing that shapes predictions
changed or when FreqAI will not reuse anything."""

from __future__ import annotations

import copy
import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.configuration import TimeRange
from freqtrade.enums import RunMode
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen

from self_learning.config import parse_config
from self_learning.runtime.prediction_settings import (
    PREDICTIONS_FOLDER,
    RECORD_FILE,
    Reuse,
    SettingsRecord,
    prediction_file,
    reused_windows,
    settings_id,
    window_name,
)
from self_learning.runtime.window_data import backtest_windows

ROOT = Path(__file__).resolve().parents[1]
PAIR = "BTC/USDT"
END = 1735689600  # a window's training end (FreqAI's timestamp id)
RECORDED = ROOT / "tests" / "fixtures" / "prediction_settings" / "record.json"


@pytest.fixture
def config() -> dict:
    config = json.loads((ROOT / "config.json").read_text())
    config["runmode"] = RunMode.BACKTEST
    return config


def changed(config: dict, **self_learning) -> dict:
    config = copy.deepcopy(config)
    config["freqai"]["self_learning"].update(self_learning)
    return config


def record_for(folder: Path, config: dict) -> SettingsRecord:
    """The record of a run of `config`, with our section parsed as the model parses it."""
    return SettingsRecord(folder, config, parse_config(config["freqai"]))


def check_windows(record: SettingsRecord, pair: str, training_ends: list[int],
                  rows: dict[int, int] | None = None) -> str | None:
    """record.check_reused for windows known by their training ends only: with `rows` (per
    training end, the candles of its backtest window) FreqAI's rule says which are reused,
    without them every window with a stored file counts; no candles, so settings only."""
    if rows is None:
        reused = [Reuse(name, prediction_file(record.predictions, name).is_file())
                  for name in (window_name(pair, end) for end in training_ends)]
    else:
        reused = reused_windows(record.predictions, pair,
                                {end: rows[end] for end in training_ends if end in rows})
    return record.check_reused(pair, reused)


def stored(folder: Path, config: dict, pair: str = PAIR, end: int = END) -> None:
    """A backtest of `config` trained and stored the window of `pair` ending at `end`."""
    record_for(folder, config).note_window(window_name(pair, end))
    predictions = folder / PREDICTIONS_FOLDER
    predictions.mkdir(parents=True, exist_ok=True)
    (predictions / f"{window_name(pair, end)}_prediction.feather").write_bytes(b"")


def test_reusing_a_window_of_other_settings_warns_once_naming_the_keys(tmp_path, config,
                                                                       caplog):
    stored(tmp_path, config)
    record = record_for(tmp_path, changed(config, memory_candles=576, label_scale=True))
    with caplog.at_level(logging.WARNING):
        message = check_windows(record, PAIR, [END])
        again = check_windows(record, PAIR, [END])
    assert message is not None and again is None
    assert message.startswith(f"FreqAI reuses 1 stored backtest prediction(s) of {PAIR}")
    assert "freqai.self_learning.label_scale false -> true" in message
    assert "freqai.self_learning.memory_candles 8760 -> 576" in message
    assert "use a new freqai.identifier" in message
    assert [r.getMessage() for r in caplog.records] == [message]


@pytest.mark.parametrize("case", ["same", "operational", "default_spelled_out", "other_window",
                                  "no_record", "retrained", "predictions_deleted"])
def test_no_warning_when_nothing_reused_was_made_otherwise(tmp_path, config, case):
    """Same settings; a key that shapes no prediction (save_interval); a default written out;
    a timerange whose windows are not stored (FreqAI trains them); predictions without a
    record (an earlier release, another model); a window this model retrained since; the
    predictions folder deleted, as the warning advises."""
    now = {"same": config, "operational": changed(config, save_interval=7),
           "default_spelled_out": changed(config, drift_delta=0.05),
           "other_window": changed(config, memory_candles=576),
           "no_record": changed(config, memory_candles=576),
           "retrained": changed(config, memory_candles=576),
           "predictions_deleted": changed(config, memory_candles=576)}[case]
    stored(tmp_path, config)
    if case == "no_record":
        (tmp_path / RECORD_FILE).unlink()
    if case == "retrained":
        stored(tmp_path, now)
    if case == "predictions_deleted":
        shutil.rmtree(tmp_path / PREDICTIONS_FOLDER)
    ends = [END + 7 * 86400] if case == "other_window" else [END]
    assert check_windows(record_for(tmp_path, now), PAIR, ends) is None


def without_key(folder: Path, key: str) -> None:
    """The record as a release without option `key` wrote it: its settings lack the key."""
    path = folder / RECORD_FILE
    document = json.loads(path.read_text())
    renamed = {}
    for old_id, settings in document["settings"].items():
        del settings[key]
        renamed[old_id] = settings_id(settings)
    document["settings"] = {renamed[i]: v for i, v in document["settings"].items()}
    document["windows"] = {name: renamed[i] for name, i in document["windows"].items()}
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(("value", "warns"), [(0.05, False), (0.5, True)])
def test_an_option_newer_than_the_record_warns_only_when_set_away_from_its_default(
        tmp_path, config, value, warns):
    """A window recorded by a release that had no `drift_delta` yet: at its default (0.05)
    the option is the earlier behaviour, so reusing the window is no change; set to 0.5 it
    is, and the warning names it."""
    key = "freqai.self_learning.drift_delta"
    stored(tmp_path, config)
    without_key(tmp_path, key)
    message = check_windows(record_for(tmp_path, changed(config, drift_delta=value)), PAIR, [END])
    assert (message is not None) is warns
    if warns:
        assert f"{key} null -> 0.5" in message


def test_the_record_names_each_window_with_the_settings_still_in_use(tmp_path, config):
    """Retraining a window under new settings replaces its entry; settings no window uses any
    more are dropped, so the record stays as small as the stored windows."""
    stored(tmp_path, config)
    stored(tmp_path, changed(config, memory_candles=576))
    stored(tmp_path, changed(config, memory_candles=576), pair="ETH/USDT")
    record = json.loads((tmp_path / RECORD_FILE).read_text())
    assert sorted(record["windows"]) == [window_name("BTC/USDT", END),
                                         window_name("ETH/USDT", END)]
    (settings,) = record["settings"].values()
    assert settings["freqai.self_learning.memory_candles"] == 576


@pytest.mark.parametrize("mode", [RunMode.LIVE, RunMode.DRY_RUN])
def test_trading_runs_keep_no_record(tmp_path, config, mode):
    ours = parse_config(config["freqai"])
    config["runmode"] = mode
    assert SettingsRecord.for_run(tmp_path, config, ours) is None
    config["runmode"] = RunMode.HYPEROPT
    assert SettingsRecord.for_run(tmp_path, config, ours) is not None


def test_the_record_written_for_a_config_is_the_one_earlier_releases_wrote(tmp_path):
    """The record of a fixed config is byte for byte the file written before the model passed
    its parsed section in (tests/fixtures/prediction_settings/record.json), so windows stored
    by earlier runs keep their settings id and reuse them without a warning. A new key of our
    section changes it (and earlier windows then warn, naming that key): rewrite the file."""
    config = {"runmode": RunMode.BACKTEST, "timeframe": "1h", "freqai": {
        "train_period_days": 30, "backtest_period_days": 7,
        "feature_parameters": {"include_timeframes": ["1h", "4h"], "label_period_candles": 4,
                               "include_corr_pairlist": ["BTC/USDT"],
                               "indicator_periods_candles": [10, 20]},
        "data_split_parameters": {"test_size": 0.1, "shuffle": False},
        "self_learning": {"memory_candles": 576, "label_scale": True, "save_interval": 7}}}
    record = SettingsRecord.for_run(tmp_path, config, parse_config(config["freqai"]))
    record.note_window(window_name(PAIR, END))
    assert (tmp_path / RECORD_FILE).read_bytes() == RECORDED.read_bytes()


def test_window_names_are_freqais(tmp_path, config):
    """The name FreqAI gives a window's model and predictions file (the installed freqtrade's
    FreqaiDataKitchen.set_new_model_names)."""
    dk = FreqaiDataKitchen(config, live=True, pair="ETH/USDT")
    dk.full_path = tmp_path  # set by FreqAI's model before it names a window
    dk.set_new_model_names("ETH/USDT", END)
    assert window_name("ETH/USDT", END) == dk.model_filename


def test_a_purged_window_folder_is_named_with_what_to_do(tmp_path):
    """FreqAI's FileNotFoundError for a stored prediction's window metadata (its sub-train
    folder purged by a dry or live run of the identifier) becomes an error naming the folder,
    the prediction and the fix; any other missing file is left to FreqAI."""
    from self_learning.runtime.prediction_settings import lost_window_message

    folder = tmp_path / "sub-train-BTC_1734998400"
    message = lost_window_message(str(folder / "cb_btc_1734998400_metadata.json"), tmp_path)
    assert message is not None
    assert str(folder) in message and "purge_old_models" in message
    assert f"{tmp_path / PREDICTIONS_FOLDER / 'cb_btc_1734998400'}_prediction.feather" in message
    assert f"Delete {tmp_path / PREDICTIONS_FOLDER}" in message
    assert "freqai.identifier of their own" in message
    for other in (folder / "cb_btc_1734998400_model.joblib",  # not the metadata
                  tmp_path / "elsewhere" / "cb_btc_1734998400_metadata.json",  # not a window
                  tmp_path.parent / "sub-train-BTC_1" / "cb_btc_1_metadata.json",  # other id
                  None):
        assert lost_window_message(None if other is None else str(other), tmp_path) is None


def test_a_stored_prediction_of_another_length_is_not_reused_so_not_warned_about(tmp_path,
                                                                                 config):
    """FreqAI reuses a stored window only when its rows match the window's candles (it trains
    anew otherwise: a 5m backtest over a 1h run's windows of the identifier), so the warning
    counts those windows only when the run passes each window's candles."""
    import pandas as pd

    stored(tmp_path, config)
    path = tmp_path / PREDICTIONS_FOLDER / f"{window_name(PAIR, END)}_prediction.feather"
    pd.DataFrame({"date": pd.date_range("2025-01-01", periods=3, freq="1h", tz="UTC"),
                  "&-s_close": [0.0, 0.1, 0.2]}).to_feather(path)
    now = changed(config, memory_candles=576)
    assert check_windows(record_for(tmp_path, now), PAIR, [END], {END: 36}) is None
    assert check_windows(record_for(tmp_path, now), PAIR, [END], {END: 3}) is not None
    assert check_windows(record_for(tmp_path, now), PAIR, [END]) is not None  # rows unknown
    path.write_bytes(b"")  # a file FreqAI cannot read: it predicts the window anew
    assert check_windows(record_for(tmp_path, now), PAIR, [END], {END: 3}) is None


def test_training_windows_before_a_reused_one_is_an_error_saying_what_to_do(tmp_path):
    """freqtrade 2026.9 cannot train some of a pair's backtest windows and then reuse a later
    one's stored prediction in one run (it stops with 'different features furnished by
    current strategy'; before, the strategy's market columns raised pandas' 'columns overlap'
    first): a timerange started before the stored windows. The run stops first, naming the
    windows and the fix; the reused windows first, or none reused, is no error."""
    import pandas as pd

    from self_learning.runtime.prediction_settings import mixed_windows_message, reused_windows

    predictions = tmp_path / PREDICTIONS_FOLDER
    predictions.mkdir()
    later = END + 86_400
    pd.DataFrame({"date": pd.date_range("2025-01-02", periods=3, freq="1h", tz="UTC")}) \
        .to_feather(predictions / f"{window_name(PAIR, later)}_prediction.feather")
    reused = reused_windows(predictions, PAIR, {END: 3, later: 3})
    assert reused == [(window_name(PAIR, END), False), (window_name(PAIR, later), True)]
    message = mixed_windows_message(PAIR, reused, predictions)
    assert message is not None
    assert f"train 1 backtest window(s) of {PAIR} ({window_name(PAIR, END)})" in message
    assert f"later window {window_name(PAIR, later)}" in message
    assert f"Delete {predictions}" in message and "new freqai.identifier" in message
    assert reused_windows(predictions, PAIR, {END: 3, later: 4})[1][1] is False  # other length
    for fine in ([(window_name(PAIR, later), True), (window_name(PAIR, END), False)],
                 [(window_name(PAIR, END), False)], []):
        assert mixed_windows_message(PAIR, fine, predictions) is None


# -- the reuse rule, and the data a window was predicted from ---------------------------------


@pytest.mark.parametrize(("columns", "rows"), [(None, 3), (["date"], 3), (["date"], 4),
                                               (["&-s_close"], 3)])
def test_freqai_reuses_a_stored_prediction_exactly_when_freqai_does(tmp_path, config, columns,
                                                                    rows):
    """freqai_reuses and prediction_file against the installed freqtrade's own check
    (FreqaiDataKitchen.check_if_backtest_prediction_is_valid): no file, a file of the window's
    length, one of another length, one without a date column."""
    from self_learning.runtime.prediction_settings import freqai_reuses, prediction_file

    dk = FreqaiDataKitchen(config, live=True, pair=PAIR)
    dk.full_path = tmp_path
    dk.set_new_model_names(PAIR, END)
    path = prediction_file(tmp_path / PREDICTIONS_FOLDER, window_name(PAIR, END))
    if columns is not None:
        path.parent.mkdir()
        frame = pd.DataFrame({"date": pd.date_range("2025-01-01", periods=3, freq="1h",
                                                    tz="UTC"), "&-s_close": [0.0, 0.1, 0.2]})
        frame[columns].to_feather(path)
    assert freqai_reuses(path, rows) is dk.check_if_backtest_prediction_is_valid(rows)
    assert dk.backtesting_results_path == path


DAY = 86_400
PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def hourly_candles(days: int = 6, unit: str = "ns") -> pd.DataFrame:
    dates = pd.date_range(pd.Timestamp(END - 4 * DAY, unit="s", tz="UTC"), periods=days * 24,
                          freq="1h").as_unit(unit)
    close = 100 + np.arange(len(dates), dtype=float)
    return pd.DataFrame({"date": dates, "open": close, "high": close + 1, "low": close - 1,
                         "close": close, "volume": 10.0})


def window_ranges() -> tuple[list[TimeRange], list[TimeRange]]:
    """One window: three training days up to END, then one backtest day."""
    return ([TimeRange("date", "date", END - 3 * DAY, END)],
            [TimeRange("date", "date", END, END + DAY)])


def backtest(folder: Path, config: dict, candles: pd.DataFrame,
             pairs: list[str]) -> tuple[SettingsRecord, str | None]:
    """One run of `config` over `pairs` up to FreqAI's question for PAIR: its windows, which it
    reuses, the record's warning; then it trains (and stores) the windows it does not reuse."""
    from self_learning.runtime.prediction_settings import prediction_file, reused_windows
    from self_learning.runtime.window_data import backtest_windows

    config = copy.deepcopy(config)
    config["exchange"]["pair_whitelist"] = pairs
    record = record_for(folder, config)
    windows = backtest_windows(candles, *window_ranges())
    predictions = folder / PREDICTIONS_FOLDER
    reused = reused_windows(predictions, PAIR, {w.training_end: w.rows for w in windows})
    message = record.check_reused(PAIR, reused, windows)
    for (name, again), window in zip(reused, windows, strict=True):
        if not again:
            record.note_window(name)
            predictions.mkdir(exist_ok=True)
            candles.loc[candles["date"] >= pd.Timestamp(END, unit="s", tz="UTC")] \
                .head(window.rows)[["date"]].to_feather(prediction_file(predictions, name))
    return record, message


def test_a_window_predicted_from_other_candles_or_pairs_warns_naming_them(tmp_path, config):
    """A stored window is reused (FreqAI: same length) under the same settings; the warning
    names what differs, as for settings: another pair list (a pair left out, added, or the
    pairs in another order), other candles in the window's training and backtest range. The
    same data, or candles changed before the window's training range, say nothing."""
    candles = hourly_candles()
    assert backtest(tmp_path, config, candles, PAIRS)[1] is None  # nothing stored yet
    assert backtest(tmp_path, config, candles, PAIRS)[1] is None  # the same data
    message = backtest(tmp_path, config, candles, PAIRS[:2])[1]
    assert message is not None
    assert message.startswith(f"FreqAI reuses 1 stored backtest prediction(s) of {PAIR} (e.g. "
                              f"{tmp_path / PREDICTIONS_FOLDER / window_name(PAIR, END)}")
    assert "made with other data than this run's: pair list of 3 -> 2 pairs (without " \
           "SOL/USDT)." in message
    assert f"use a new freqai.identifier (or delete {tmp_path / PREDICTIONS_FOLDER})" in message
    for pairs, change in ((PAIRS[::-1], "(the same pairs in another order)"),
                          ([*PAIRS, "XRP/USDT"], "3 -> 4 pairs (with XRP/USDT)")):
        assert change in backtest(tmp_path, config, candles, pairs)[1]
    other = candles.copy()
    other.loc[30, "close"] += 0.5  # a day into the training range
    message = backtest(tmp_path, config, other, PAIRS)[1]
    assert f"other data than this run's: the candles of {PAIR} in the window's training and " \
           "backtest range." in message
    other = candles.copy()
    other.loc[3, "close"] += 0.5  # before the training range
    assert backtest(tmp_path, config, other, PAIRS)[1] is None
    late = other.iloc[40:]  # a frame without the training days (plot-dataframe): unknown
    assert backtest(tmp_path, config, late, PAIRS)[1] is None
    assert "pair list of 3 -> 2" in backtest(tmp_path, config, late, PAIRS[:2])[1]
    plot = {**config, "runmode": RunMode.PLOT}  # plot-dataframe --pairs: a part of the list
    assert backtest(tmp_path, plot, late, PAIRS[:1])[1] is None
    assert "memory_candles 8760 -> 576" in backtest(
        tmp_path, changed(plot, memory_candles=576), late, PAIRS[:1])[1]
    message = backtest(tmp_path, changed(config, memory_candles=576), other, PAIRS[:2])[1]
    assert "other settings and data than this run's: freqai.self_learning.memory_candles " \
           "8760 -> 576, pair list of 3 -> 2 pairs" in message


def test_the_candles_of_a_window_are_recorded_after_the_runs_one_warning(tmp_path, config):
    """The warning is logged once per run; the windows of the pairs after it are still
    recorded with their candles, so a later run can tell."""
    candles = hourly_candles()
    backtest(tmp_path, config, candles, PAIRS)
    record, message = backtest(tmp_path, config, candles, PAIRS[:2])
    assert message is not None
    windows = [replace(w, candles="0" * 16) for w in backtest_windows(candles, *window_ranges())]
    assert record.check_reused("ETH/USDT", [], windows) is None
    record.note_window(window_name("ETH/USDT", END))
    data = json.loads((tmp_path / RECORD_FILE).read_text())["data"]
    assert data[window_name("ETH/USDT", END)]["candles"] == "0" * 16


def test_windows_an_earlier_release_recorded_are_checked_for_settings_only(tmp_path, config):
    """A record without the data of a window (written before the record kept data): other
    candles or pairs say nothing, as before; a settings change still warns. Once the window is
    trained again it is recorded with its data."""
    candles = hourly_candles()
    backtest(tmp_path, config, candles, PAIRS)
    path = tmp_path / RECORD_FILE
    document = json.loads(path.read_text())
    path.write_text(json.dumps({key: document[key] for key in ("settings", "windows")}))
    other = candles.copy()
    other.loc[30, "close"] += 0.5
    assert backtest(tmp_path, config, other, PAIRS[:2])[1] is None
    message = backtest(tmp_path, changed(config, memory_candles=576), other, PAIRS[:2])[1]
    assert "made with other settings than this run's: freqai.self_learning.memory_candles " \
           "8760 -> 576." in message
    shutil.rmtree(tmp_path / PREDICTIONS_FOLDER)
    backtest(tmp_path, config, other, PAIRS[:2])
    assert backtest(tmp_path, config, candles, PAIRS[:2])[1] is not None


def test_a_windows_candles_and_rows_are_freqais_whatever_the_date_resolution():
    """The window's backtest candles counted as FreqAI counts them; the digest of the same
    candles is the same with dates in ns or ms (freqtrade on pandas 3 hands over either) and
    none when the frame does not hold the whole training range."""
    from self_learning.runtime.window_data import backtest_windows

    (window,) = backtest_windows(hourly_candles(), *window_ranges())
    assert window.training_end == END and window.rows == 24
    assert backtest_windows(hourly_candles(unit="ms"), *window_ranges()) == [window]
    assert backtest_windows(hourly_candles(days=5), *window_ranges()) == [window]
    assert backtest_windows(hourly_candles().iloc[40:], *window_ranges()) == [
        replace(window, candles=None)]  # the frame starts after the training range
