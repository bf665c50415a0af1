"""End to end: `freqtrade hyperopt` of SelfLearningStrategy's buy and sell spaces on the
predictions of a finished `freqtrade backtesting` (README: the strategy's parameters are
hyperoptable; freqtrade's hyperopt extra is a dependency).

One pair of real candles (../shared/data) served by the replay exchange, two training days and
two backtest days (two FreqAI windows), a small model, then a few hyperopt epochs on the same
identifier and timerange. FreqAI hands hyperopt the backtest's stored predictions, so nothing is
trained again and the model store is left exactly as the backtest wrote it. About 1 min on two
shared cores.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

PAIR = "ETC/BTC"
TIMERANGE = "20180115-20180117"
TRAIN_PERIOD_DAYS = 2
FAST_MODEL = {"epochs": 3, "incremental_epochs": 1}
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
    ft_config, replay_overlay, market_datadir, freqtrade_cli
):
    """`freqtrade hyperopt --spaces buy sell` finishes, reports a best epoch with the buy and
    sell parameters, trains nothing (FreqAI reuses the backtest's predictions) and leaves every
    file of the model store untouched; no parameter file is written next to the strategy."""
    identifier = f"hyperopt-{uuid.uuid4().hex[:8]}"
    config = ft_config.data
    config["exchange"]["pair_whitelist"] = [PAIR]
    config["freqai"].update(identifier=identifier, train_period_days=TRAIN_PERIOD_DAYS)
    config["freqai"]["self_learning"].update(FAST_MODEL)
    user_data = Path(config["user_data_dir"])
    common = ["-c", str(ft_config.write()), "-c", str(replay_overlay),
              "--datadir", str(market_datadir), "--timerange", TIMERANGE,
              "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel"]

    backtest = freqtrade_cli(["backtesting", *common, "--cache", "none"], timeout=TIMEOUT_S)
    assert backtest.returncode == 0, backtest.describe()
    assert "Starting training" in backtest.log, backtest.describe()
    # Backtests learn into a store of their own (run_stores.py); the live store stays absent.
    models = user_data / "models" / identifier
    store = models / "self_learning_runs"
    before = store_files(store)
    assert any(p.startswith(f"backtest-{TIMERANGE}") for p in before), sorted(before)
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
    assert not (models / "self_learning").exists(), "hyperopt created a live store"
    assert params_file.exists() == params_existed, f"hyperopt wrote {params_file}"
