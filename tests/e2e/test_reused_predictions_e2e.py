"""End to end: a second `freqtrade backtesting` of the same identifier and timerange with a
changed model setting. FreqAI reuses the first run's stored predictions instead of training
(its own behaviour), so the second run shows the first settings' trades; SelfLearningModel
says so with one warning naming the changed key and what to do (README "Configuration":
`identifier`). One pair of real candles (../shared/data) on the replay exchange, two training
days and two backtest days, a small model: the session's short backtest (conftest
`short_backtest`, copied into this test's folder) is the first run; about 20 s on two shared
cores.
"""

from __future__ import annotations

import pytest
from backtest_support import SHORT_PAIR

TIMEOUT_S = 300
CHANGED = "freqai.self_learning.memory_candles 576 -> 1000"


@pytest.mark.e2e
def test_a_backtest_reusing_predictions_of_other_settings_names_the_changed_key(
    short_backtest, tmp_path, freqtrade_cli
):
    setup = short_backtest.copy_into(tmp_path)
    config = setup.ft_config.data
    first = short_backtest.run
    assert first.returncode == 0, first.describe()
    assert "Starting training" in first.log, first.describe()
    assert "other settings" not in first.log, first.describe()
    trades = setup.trades()

    config["freqai"]["self_learning"]["memory_candles"] = 1000
    second = freqtrade_cli(setup.backtesting(), timeout=TIMEOUT_S)
    log = second.log[len(first.log):]  # both runs append to the same --logfile
    assert second.returncode == 0, second.describe()
    assert "Starting training" not in log, "FreqAI retrained\n" + second.describe()
    assert f"FreqAI reuses 2 stored backtest prediction(s) of {SHORT_PAIR}" in log, \
        second.describe()
    assert CHANGED in log and "use a new freqai.identifier" in log, second.describe()
    assert len(setup.trades()) == len(trades)  # the first settings' trades, as warned
