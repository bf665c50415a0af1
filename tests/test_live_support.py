"""Helpers of live_support.py that keep the live tests' polls from seeing half-written files:
`freqai_files_whole` (the live-store test kills a bot mid-save only when FreqAI's own in-place
files are whole, since a restart fails on a truncated one) and `complete_lines` (a log read
while the bot appends to it)."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from freqtrade.freqai.data_drawer import FreqaiDataDrawer
from live_support import complete_lines, freqai_files_whole

PAIR_DICTIONARY, HISTORY = "pair_dictionary.json", "historic_predictions.pkl"


@pytest.fixture
def models(tmp_path):
    """A FreqAI model folder as a dry-run bot leaves it after a training."""
    frame = pd.DataFrame({"&-s_close": np.linspace(-1, 1, 3000), "do_predict": 1})
    pd.to_pickle({"ETC/BTC": frame}, tmp_path / HISTORY)
    (tmp_path / PAIR_DICTIONARY).write_text(json.dumps({"ETC/BTC": {"trained_timestamp": 1}}))
    return tmp_path


def test_whole_files_are_whole(models):
    assert freqai_files_whole(models)


@pytest.mark.parametrize("name", [HISTORY, PAIR_DICTIONARY])
def test_a_file_cut_anywhere_or_missing_is_not(models, name):
    whole = (models / name).read_bytes()
    for cut in (0, 1, len(whole) // 3, len(whole) // 2, len(whole) - 1):
        (models / name).write_bytes(whole[:cut])
        assert not freqai_files_whole(models), (name, cut)
    (models / name).unlink()
    assert not freqai_files_whole(models)


def test_freqtrade_fails_to_start_on_a_cut_history(models):
    """Why it matters: FreqAI's data drawer, built at a bot's start, reads the pickle and
    falls back to its backup only when the file is empty."""
    whole = (models / HISTORY).read_bytes()
    (models / HISTORY).write_bytes(whole[: len(whole) // 2])
    config = {"freqai": {"feature_parameters": {}, "identifier": "x"}, "timeframe": "1m",
              "exchange": {"pair_whitelist": ["ETC/BTC"]}, "dry_run": True}
    with pytest.raises(pickle.UnpicklingError, match="truncated"):
        FreqaiDataDrawer(models, config)


def test_a_log_read_mid_line_gives_its_complete_lines_only():
    whole = "a - INFO - learned 3 candles for ETC/BTC, counter 25\n"
    cut = whole + "b - INFO - learned 1 candles for ETC/BTC, counter 2"  # of "counter 26"
    assert complete_lines(cut) == whole == complete_lines(whole)
    assert complete_lines("b - INFO - started") == ""
