"""End to end: the real `freqtrade backtesting` CLI with SelfLearningStrategy + SelfLearningModel.

Two pairs of real candles (../shared/data) served by the replay exchange, five training days,
four backtest days (four FreqAI windows per pair: one full training, then continual learning),
a fresh identifier in a tmp user_data so no stored prediction is ever reused. The model runs with
the shipped freqai.self_learning settings (about 30 s on two cores; budget 4 min). The run is the
session's `windows_backtest` (conftest), which test_backtest_charts_e2e.py reads too (TensorBoard
is on for it).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtest_support import WINDOWS_PAIRS

PAIRS = WINDOWS_PAIRS
BACKTEST_WINDOWS = 4  # WINDOWS_TIMERANGE: four one-day windows
PREDICTION_FILE = re.compile(r"cb_(?P<coin>[a-z0-9]+)_(?P<window>\d+)_prediction\.feather")


def window_predictions(folder: Path) -> dict[str, list[pd.DataFrame]]:
    """FreqAI's per-window backtest predictions, per coin, in window order."""
    found: dict[str, list[tuple[int, pd.DataFrame]]] = {}
    for path in folder.glob("*_prediction.feather"):
        match = PREDICTION_FILE.fullmatch(path.name)
        assert match, f"unexpected prediction file {path.name}"
        found.setdefault(match["coin"], []).append((int(match["window"]), pd.read_feather(path)))
    return {coin: [frame for _, frame in sorted(windows, key=lambda item: item[0])]
            for coin, windows in found.items()}


@pytest.mark.e2e
def test_backtest_trades_on_incrementally_learned_predictions(
    windows_backtest
):
    """The CLI backtest exits cleanly and trades, and the strategy logs its entry record once
    per pair; each window's predictions are finite and varied, and the model's training
    counter grows window after window (continual learning)."""
    backtest, run = windows_backtest.setup, windows_backtest.run

    assert run.returncode == 0, run.describe()
    assert "raised exception" not in run.log, "a FreqAI training failed\n" + run.describe()
    assert re.search("incremental", run.log, re.IGNORECASE), \
        "no incremental-update line in the log\n" + run.describe()

    trades = backtest.trades()
    assert len(trades) > 0, "the backtest made no trades\n" + run.describe()
    assert set(trades["pair"]) <= set(PAIRS)
    # The strategy's entry record: one line per pair that entered, once its signals matured.
    for pair in set(trades["pair"]):
        lines = re.findall(rf"Entry signals of {re.escape(pair)}: (\d+) matured; .* round trip "
                           r"of fees \(0\.200 %\)", run.log)
        assert len(lines) == 1 and int(lines[0]) >= 1, \
            f"{pair}: entry record lines {lines}\n" + run.describe()

    predictions = window_predictions(backtest.models / "backtesting_predictions")
    assert sorted(predictions) == sorted(p.split("/")[0].lower() for p in PAIRS)
    for coin, windows in predictions.items():
        assert len(windows) == BACKTEST_WINDOWS, f"{coin}: {len(windows)} prediction windows"
        s_close = pd.concat(windows)["&-s_close"].to_numpy(dtype=float)
        assert np.isfinite(s_close).all(), f"{coin}: non-finite &-s_close"
        assert np.nanstd(s_close) > 0, f"{coin}: constant &-s_close"
        counters = [window["&-training_counter"].max() for window in windows]
        assert (np.diff(counters) > 0).all(), \
            f"{coin}: training counter does not grow across windows: {counters}"
