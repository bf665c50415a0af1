"""End to end: `freqtrade backtesting` with FreqAI's SVM outlier detector on
(`feature_parameters.use_SVM_to_remove_outliers`, FreqAI's default `svm_params`), beside the
session's short backtest with the shipped settings (conftest `short_backtest`, every detector
off). The detector flags some candles, which get do_predict 0 and no entry; every predicted
column is the same as without it (the model learns flagged candles too); with the shipped
settings no candle is flagged (do_predict is the model's own). One pair of real candles, two
training days, two backtest days, a small model: about 20 s on two shared cores.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from freqtrade.exchange import timeframe_to_prev_date

TIMEOUT_S = 300
COLUMNS = ["&-s_close", "&-liq_up", "&-liq_down", "&-novelty", "&-training_counter"]


def predictions(models) -> pd.DataFrame:
    """The backtest's stored predictions of every window, in date order."""
    files = sorted((models / "backtesting_predictions").glob("*_prediction.feather"))
    assert files, f"no stored predictions in {models}"
    return pd.concat(pd.read_feather(f) for f in files).sort_values("date").reset_index(drop=True)


@pytest.mark.e2e
def test_svm_flags_candles_with_do_predict_0_and_no_entry_on_them(short_backtest, tmp_path,
                                                                  freqtrade_cli):
    plain = short_backtest.setup
    first = short_backtest.run
    assert first.returncode == 0, first.describe()
    assert "outlier detectors" not in first.log, first.describe()
    setup = short_backtest.copy_into(tmp_path)
    config = setup.ft_config.data
    config["freqai"]["identifier"] = f"svm-{uuid.uuid4().hex[:8]}"  # trains every window
    config["freqai"]["feature_parameters"]["use_SVM_to_remove_outliers"] = True
    run = freqtrade_cli(setup.backtesting(), timeout=TIMEOUT_S)
    assert run.returncode == 0, run.describe()
    log = run.log[len(first.log):]
    assert "outlier detectors use_SVM_to_remove_outliers fitted on" in log, run.describe()

    before, after = predictions(plain.models), predictions(setup.models)
    assert (before["date"] == after["date"]).all()
    pd.testing.assert_frame_equal(before[COLUMNS], after[COLUMNS])
    flagged = (before["do_predict"] == 1) & (after["do_predict"] != 1)
    assert 0 < flagged.sum() < len(after) // 2, flagged.sum()
    assert not ((after["do_predict"] == 1) & (before["do_predict"] != 1)).any()

    timeframe = config["timeframe"]
    signal_candles = {timeframe_to_prev_date(timeframe, date) - pd.Timedelta(timeframe)
                      for date in setup.trades()["open_date"]}
    usable = set(after.loc[after["do_predict"] == 1, "date"])
    assert signal_candles <= usable, sorted(signal_candles - usable)
