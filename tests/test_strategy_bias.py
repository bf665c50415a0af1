"""Look-ahead and recursive bias of SelfLearningStrategy.

Two CLI tests run freqtrade's own analysers (`freqtrade lookahead-analysis`, `freqtrade
recursive-analysis`) with SelfLearningModel on real candles served by the replay exchange, kept
small: one pair, two backtest days after two training days, two epochs. What they can see:

* FreqAI drops the `%` feature columns from the dataframe it hands back to the strategy, so
  neither analyser ever compares features; they compare signals, the model outputs (`&-*`,
  `do_predict`) and the strategy's own columns.
* lookahead-analysis re-runs the backtest cut off just after each trade's entry and exit (each
  run retrains FreqAI from scratch in a purged model folder). FreqAI leaves the last candle of
  a cut run unpredicted (its backtest windows end before the final loaded candle; the row is
  zero-filled), so the model outputs and the signal columns built from them always differ on
  that row; freqtrade's caption says such `&` columns "can be ignored". The per-trade verdicts
  (`biased_entry_signals`, `biased_exit_signals`) are the real test there.
* recursive-analysis compares the last candle, which FreqAI leaves unpredicted in every run.

The features themselves are therefore checked directly, in-process and fast: computed on a
truncated history they must equal the full-history values (no look-ahead), they must not move
when prices and volume are rescaled (stationary ratios), they must settle within the strategy's
startup_candle_count (no recursive bias), and the targets must follow the column contract.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtest_support import (
    SHORT_PAIR,
    SHORT_TIMERANGE,
    SHORT_TRAIN_DAYS,
    STRATEGY,
    BacktestRun,
    small_run,
)
from strategy_support import load_strategy_module

FAST_MODEL = {"epochs": 2, "incremental_epochs": 1}
MIN_TRADES = 2
TARGET_TRADES = 3
EXTRA_STARTUP_CANDLES = ["150", "300"]
RECURSIVE_TOLERANCE = 1e-3  # relative drift of a feature at startup_candle_count
CLI_TIMEOUT_S = 600

# FreqAI's status columns, the strategy's price levels of the model's outputs (close x
# (1 + prediction) on the same row, band_levels) and its expected return (the prediction
# calibrated on earlier matured predictions, strategy_columns.expected_return; causal, see
# tests/test_strategy_fees.py): they change with the model's outputs.
MODEL_STATUS_COLUMNS = {"do_predict", "DI_values", "band_high", "band_low", "predicted_close",
                        "expected_return"}
SIGNAL_COLUMNS = {"enter_long", "exit_long", "enter_tag", "exit_tag"}
TARGETS = ["&-s_close", "&-liq_up", "&-liq_down"]
TIMEFRAMES = ["5m", "15m", "1h"]
SHIFTED_CANDLES = 2  # FreqAI's include_shifted_candles in config.json


def is_model_output(column: str) -> bool:
    return column.startswith("&") or column in MODEL_STATUS_COLUMNS


# -- freqtrade's analysers ------------------------------------------------------------------


@pytest.fixture
def bias_args(ft_config, replay_overlay: Path, market_datadir: Path) -> list[str]:
    small_run(ft_config.data, [SHORT_PAIR], "bias", model=FAST_MODEL,
              train_period_days=SHORT_TRAIN_DAYS)
    return BacktestRun(ft_config, replay_overlay, market_datadir, SHORT_TIMERANGE).options()


def read_lookahead_row(path: Path) -> dict[str, str]:
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["strategy"] == STRATEGY]
    assert len(rows) == 1, f"expected one result row for {STRATEGY} in {path}, got {rows}"
    return rows[0]


def parse_rich_table(output: str) -> tuple[list[str], list[list[str]]]:
    """Header cells and body rows of the (single) rich table in `output`."""
    lines = [line.strip() for line in output.splitlines()]
    header = next(([c.strip() for c in line.strip("┃").split("┃")]
                   for line in lines if line.startswith("┃")), [])
    rows = [[c.strip() for c in line.strip("│").split("│")]
            for line in lines if line.startswith("│")]
    return header, rows


def test_lookahead_analysis_finds_no_biased_signals(bias_args, freqtrade_cli, tmp_path):
    """Every analysed trade keeps its entry and exit when the candles after it are cut off,
    and nothing but model outputs (and the signals on the unpredicted last candle) changes."""
    result_csv = tmp_path / "lookahead.csv"
    run = freqtrade_cli([
        "lookahead-analysis", *bias_args,
        "--minimum-trade-amount", str(MIN_TRADES),
        "--targeted-trade-amount", str(TARGET_TRADES),
        "--lookahead-analysis-exportfilename", str(result_csv),
    ], timeout=CLI_TIMEOUT_S)

    assert run.returncode == 0, run.describe()
    assert "full training of" in run.log, "SelfLearningModel never trained\n" + run.describe()
    # freqtrade writes the row only when more than MIN_TRADES trades were analysed.
    assert result_csv.exists(), "too few trades analysed or the check failed\n" + run.describe()
    row = read_lookahead_row(result_csv)
    assert int(row["total_signals"]) >= TARGET_TRADES, row
    assert int(row["biased_entry_signals"]) == 0, row
    assert int(row["biased_exit_signals"]) == 0, row
    flagged = {name for name in row["biased_indicators"].split(",") if name}
    unexpected = sorted(
        name for name in flagged if not is_model_output(name) and name not in SIGNAL_COLUMNS
    )
    assert not unexpected, f"columns that change when the future is cut off: {unexpected}"


def test_recursive_analysis_reports_no_bias(bias_args, freqtrade_cli):
    """No column of the strategy depends on the startup candles, and the indicator-only
    look-ahead check flags nothing but model outputs."""
    run = freqtrade_cli(
        ["recursive-analysis", *bias_args, "--startup-candle", *EXTRA_STARTUP_CANDLES],
        timeout=CLI_TIMEOUT_S,
    )

    assert run.returncode == 0, run.describe()
    assert "full training of" in run.log, "SelfLearningModel never trained\n" + run.describe()
    assert "Start checking for recursive bias" in run.log, run.describe()
    assert "Start checking for lookahead bias on indicators only" in run.log, run.describe()

    if "No variance on indicator(s) found" not in run.log:
        header, rows = parse_rich_table(run.output)
        strategy_column = next(i for i, name in enumerate(header) if "(from strategy)" in name)
        varying = {row[0]: row[strategy_column] for row in rows
                   if not is_model_output(row[0]) and row[strategy_column] not in ("-", "0.000%")}
        assert not varying, f"columns depending on the startup candles: {varying}"

    flagged = re.findall(r"=> found lookahead in indicator (\S+)", run.log)
    unexpected = sorted(name for name in flagged if not is_model_output(name))
    assert not unexpected, f"look-ahead in indicators: {unexpected}"


# -- the features and targets themselves ----------------------------------------------------


@pytest.fixture(scope="module")
def strategy(base_config):
    """The strategy with FreqAI off (no model is loaded): only its feature and target code."""
    strat = load_strategy_module().SelfLearningStrategy({})
    strat.freqai_info = base_config["freqai"]
    return strat


def features(strategy, candles: pd.DataFrame) -> pd.DataFrame:
    """The strategy's features for one timeframe, expanded over the periods like FreqAI does."""
    params = strategy.freqai_info["feature_parameters"]
    columns = {}
    for period in params["indicator_periods_candles"]:
        frame = strategy.feature_engineering_expand_all(candles.copy(), period, metadata={})
        columns.update({f"{c}_{period}": frame[c] for c in frame if c.startswith("%")})
    frame = strategy.feature_engineering_expand_basic(candles.copy(), metadata={})
    columns.update({c: frame[c] for c in frame if c.startswith("%")})
    frame = strategy.feature_engineering_standard(candles.copy(), metadata={})
    columns.update({c: frame[c] for c in frame if c.startswith("%")})
    return pd.DataFrame(columns)


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
def test_features_use_only_past_candles(strategy, load_candles, timeframe):
    """Features computed on a history cut at any point equal the full-history features."""
    candles = load_candles(SHORT_PAIR, timeframe)
    full = features(strategy, candles)
    for cut in np.linspace(len(candles) // 3, len(candles) - 1, 5).astype(int):
        pd.testing.assert_frame_equal(features(strategy, candles.iloc[:cut]), full.iloc[:cut],
                                      rtol=1e-9, atol=1e-12)


def decimal(values: pd.Series) -> pd.Series:
    """Each value as the float of its 12-digit decimal, as an exchange's data are."""
    return values.map(lambda v: float(f"{v:.12g}"))


@pytest.mark.parametrize(("price", "volume"), [(2.0**10, 2.0**-5), (1e-5, 1e5), (1e3, 1e-3)])
def test_features_are_stationary_ratios(strategy, load_candles, price, volume):
    """Rescaling prices and volume leaves every feature unchanged: no raw price or volume.
    Also by powers of ten (PEPE's 1e-6 USDT, volumes of 1e12), where the float noise of
    price differences differs from the original's: TA-Lib's +DM/-DM ties in ADX must stay ties
    (strategy_columns.on_price_grid), not break one way or the other."""
    candles = load_candles(SHORT_PAIR, "5m")
    rescaled = candles.copy()
    for column in ("open", "high", "low", "close"):
        rescaled[column] = decimal(rescaled[column] * price)
    rescaled["volume"] = decimal(rescaled["volume"] * volume)
    pd.testing.assert_frame_equal(features(strategy, rescaled), features(strategy, candles),
                                  rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("timeframe", TIMEFRAMES)
def test_features_settle_within_startup_candles(strategy, load_candles, timeframe):
    """With startup_candle_count candles of history (FreqAI counts them per timeframe; the
    shifted copies lose SHIFTED_CANDLES) every feature matches the full-history value."""
    candles = load_candles(SHORT_PAIR, timeframe)
    history = strategy.startup_candle_count - SHIFTED_CANDLES
    worst = pd.Series(0.0, index=features(strategy, candles.iloc[:history]).columns)
    for end in range(len(candles), len(candles) - 200, -40):
        full = features(strategy, candles.iloc[:end]).iloc[-1]
        short = features(strategy, candles.iloc[end - history:end]).iloc[-1]
        drift = ((short - full).abs() / full.abs().clip(lower=1e-9)).fillna(0.0)
        drift[short.isna() != full.isna()] = np.inf
        worst = np.maximum(worst, drift)
    too_far = worst[worst > RECURSIVE_TOLERANCE]
    assert too_far.empty, f"features still drifting after {history} candles:\n{too_far}"


def test_targets_follow_column_contract(strategy, load_candles):
    """&-s_close, &-liq_up and &-liq_down look at candles t+1..t+H only (DEVELOPERS.md)."""
    candles = load_candles(SHORT_PAIR, "5m").iloc[:600].reset_index(drop=True)
    horizon = strategy.freqai_info["feature_parameters"]["label_period_candles"]
    frame = strategy.set_freqai_targets(candles.copy(), metadata={})
    assert [c for c in frame.columns if c.startswith("&")] == TARGETS
    close, high, low = (candles[c].to_numpy() for c in ("close", "high", "low"))
    for t in range(len(candles) - horizon):
        ahead = slice(t + 1, t + 1 + horizon)
        expected = [close[ahead].mean() / close[t] - 1, high[ahead].max() / close[t] - 1,
                    low[ahead].min() / close[t] - 1]
        # atol: a return below features.TIE_NOISE (the float noise of a tie) is 0.
        np.testing.assert_allclose(frame.loc[t, TARGETS].to_numpy(float), expected, rtol=1e-9,
                                   atol=1e-12)
    assert frame[TARGETS].iloc[-horizon:].isna().all().all(), "targets past the data must be NaN"
