"""End to end: a second `freqtrade backtesting` of the same identifier and timerange after the
identifier's FreqAI folder changed under it. FreqAI keeps each backtest window's predictions
(`backtesting_predictions/`) and, with `save_backtest_models` (config.json), its model folder
(`sub-train-<COIN>_<end>/`); a dry or live run of the same identifier purges the older model
folders (FreqAI's `purge_old_models`), the predictions stay. One pair of real candles
(../shared/data) on the replay exchange, two training days and two backtest days, a small
model: the session's short backtest (conftest `short_backtest`, one-day windows, their model
folders kept), copied into each test's folder, is the first run; then each test's second run
(about 30 s per test on two shared cores).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtest_support import SHORT_PAIR, BacktestRun

TIMEOUT_S = 300


def first_backtest(short_backtest, tmp_path):
    """The first run: a copy of the session's short backtest (one-day windows, their model
    folders kept) in this test's folder."""
    setup = short_backtest.copy_into(tmp_path)
    first = short_backtest.run
    assert first.returncode == 0, first.describe()
    assert "Starting training" in first.log, first.describe()
    folders = sorted(setup.models.glob("sub-train-*"))
    assert len(folders) == 2, folders  # one per backtest day
    return setup, first, folders


@pytest.mark.e2e
def test_a_stored_prediction_whose_window_folder_was_purged_is_an_error_saying_what_to_do(
    short_backtest, tmp_path, freqtrade_cli
):
    """Before: FreqAI's FileNotFoundError traceback on the purged folder's metadata.json."""
    setup, first, folders = first_backtest(short_backtest, tmp_path)
    shutil.rmtree(folders[0])  # what purge_old_models leaves: the newer window's folder only
    second = freqtrade_cli(setup.backtesting(), timeout=TIMEOUT_S)
    output = second.output + second.log[len(first.log):]
    assert second.returncode == 2, second.describe()
    assert "Traceback" not in output, second.describe()
    assert f"but not its model folder {folders[0]}" in output, second.describe()
    assert f"Delete {setup.models / 'backtesting_predictions'}" in output, second.describe()


def stored_predictions(setup: BacktestRun) -> dict[str, pd.DataFrame]:
    return {path.name: pd.read_feather(path)
            for path in sorted((setup.models / "backtesting_predictions").glob("*.feather"))}


@pytest.mark.e2e
def test_deleting_the_stored_predictions_predicts_every_window_again(
    short_backtest, tmp_path, freqtrade_cli, market_datadir
):
    """README "Running it": delete backtesting_predictions/ to re-run. Its window folders stay
    (save_backtest_models); before, FreqAI loaded them instead of training ("Found model at"),
    the run's fresh store had no model, and no candle was predicted (do_predict 0). A run on
    other candles then reuses them, with the warning."""
    setup, first, _ = first_backtest(short_backtest, tmp_path)
    before = stored_predictions(setup)
    assert len(before) == 2 and all(f["do_predict"].eq(1).any() for f in before.values())
    shutil.rmtree(setup.models / "backtesting_predictions")
    second = freqtrade_cli(setup.backtesting(), timeout=TIMEOUT_S)
    log = second.log[len(first.log):]
    assert second.returncode == 0, second.describe()
    assert log.count("Starting training") == 2, second.describe()
    after = stored_predictions(setup)
    assert after.keys() == before.keys()
    for name, frame in after.items():
        assert frame["do_predict"].tolist() == before[name]["do_predict"].tolist(), name
        np.testing.assert_allclose(frame["&-s_close"], before[name]["&-s_close"], atol=1e-9)

    # Other candles of the same windows (another datadir): FreqAI reuses both windows all
    # the same; the record of the candles each window was predicted from says so.
    other = BacktestRun(setup.ft_config, setup.overlay,
                        changed_candles(market_datadir, tmp_path / "other_candles"),
                        setup.timerange)
    third = freqtrade_cli(other.backtesting(), timeout=TIMEOUT_S)
    log = third.log[len(second.log):]
    assert third.returncode == 0, third.describe()
    assert "Starting training" not in log, third.describe()
    assert (f"FreqAI reuses 2 stored backtest prediction(s) of {SHORT_PAIR}" in log
            and f"made with other data than this run's: the candles of {SHORT_PAIR} in the "
            "window's training and backtest range" in log), third.describe()


def changed_candles(datadir: Path, folder: Path) -> Path:
    """`datadir` with one candle of SHORT_PAIR changed (its volume, in every timeframe), in the
    first backtest day and so in both windows' training and backtest ranges."""
    folder.mkdir()
    prefix = f"{SHORT_PAIR.replace('/', '_')}-"
    for source in datadir.iterdir():
        if not source.name.startswith(prefix):
            (folder / source.name).symlink_to(source.resolve())
            continue
        candles = pd.read_feather(source)
        at = candles["date"] == pd.Timestamp("2018-01-15 12:00", tz="UTC")
        assert at.sum() == 1, source
        candles.loc[at, "volume"] *= 1.5
        candles.to_feather(folder / source.name)
    return folder
