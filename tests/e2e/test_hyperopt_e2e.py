"""End to end: `freqtrade hyperopt` of SelfLearningStrategy's buy and sell spaces on the
predictions of a finished `freqtrade backtesting` (README: the strategy's parameters are
hyperoptable; freqtrade's hyperopt extra is a dependency).

One pair of real candles (../shared/data) served by the replay exchange, two training days and
two backtest days (two FreqAI windows), a small model: the session's short backtest
(conftest `short_backtest`, copied into this test's folder), then a few hyperopt epochs on the
same identifier and timerange. FreqAI hands hyperopt the backtest's stored predictions, so
nothing is trained again and the model store is left exactly as the backtest wrote it. About
40 s on two shared cores.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from backtest_support import SHORT_TIMERANGE

from self_learning.runtime.run_stores import live_store

EPOCHS = 8
TIMEOUT_S = 300
# The entry filters' on/off switches (off by default) are hyperoptable like the rest.
OPTIONAL_FILTER_SWITCHES = ("use_entry_z", "use_score_ic", "use_expected_return")


def store_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the model store: relative path -> (size, mtime in ns)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.e2e
def test_hyperopt_reuses_backtest_predictions_and_leaves_the_store_alone(
    short_backtest, tmp_path, freqtrade_cli
):
    """`freqtrade hyperopt --spaces buy sell` finishes, reports a best epoch with the buy and
    sell parameters, trains nothing (FreqAI reuses the backtest's predictions) and leaves every
    file of the model store untouched; no parameter file is written next to the strategy."""
    setup = short_backtest.copy_into(tmp_path)
    config = setup.ft_config.data
    user_data = setup.user_data
    common = setup.options()

    backtest = short_backtest.run
    assert backtest.returncode == 0, backtest.describe()
    assert "Starting training" in backtest.log, backtest.describe()
    # Backtests learn into a store of their own (run_stores.py); the live store stays absent.
    models = setup.models
    store = models / "self_learning_runs"
    before = store_files(store)
    assert any(p.startswith(f"backtest-{SHORT_TIMERANGE}") for p in before), sorted(before)
    assert any(name.endswith("feature_discovery.json") for name in before), sorted(before)
    params_file = Path(config["strategy_path"]) / "SelfLearningStrategy.json"
    params_existed = params_file.exists()

    hyperopt = freqtrade_cli([
        "hyperopt", *common, "--spaces", "buy", "sell", "-e", str(EPOCHS), "-j", "2",
        "--hyperopt-loss", "SharpeHyperOptLossDaily", "--random-state", "1",
        "--min-trades", "1", "--disable-param-export",
    ], timeout=TIMEOUT_S)

    log = hyperopt.log[len(backtest.log):]  # both runs append to the same --logfile
    assert hyperopt.returncode == 0, hyperopt.describe()
    assert "No module named" not in hyperopt.output + log, hyperopt.describe()
    assert f"{EPOCHS} epochs saved to" in log, hyperopt.describe()
    assert "Found backtesting prediction file" in log, hyperopt.describe()
    assert "Best result:" in hyperopt.output, hyperopt.describe()
    for parameter in ("entry_threshold", "novelty_max", "exit_threshold", "stop_buffer"):
        assert parameter in hyperopt.output, f"{parameter} missing\n{hyperopt.describe()}"
    for switch in OPTIONAL_FILTER_SWITCHES:  # searched, not "# value loaded from strategy"
        line = next((x for x in hyperopt.output.splitlines() if f'"{switch}":' in x), "")
        assert line and "loaded from strategy" not in line, f"{switch}: {line!r}\n" \
            + hyperopt.describe()
    assert list((user_data / "hyperopt_results").glob("*.fthypt")), "no hyperopt results file"
    assert "Starting training" not in log, \
        "hyperopt retrained instead of reusing the backtest's predictions\n" + hyperopt.describe()
    assert store_files(store) == before, "hyperopt changed the model store"
    live = live_store(user_data, models.name)
    assert not live.root.exists() and not live.legacy.exists(), "hyperopt created a live store"
    assert params_file.exists() == params_existed, f"hyperopt wrote {params_file}"
