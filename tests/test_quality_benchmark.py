"""The pure parts of benchmarks/quality.py (its quality_scoring.py), backtest_runs.py and
strategy_grid.py: scoring tables, run specifications, configs and result parsing (no freqtrade
run)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from self_learning import evaluation as ev

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


quality = _load("quality")
runs = sys.modules["backtest_runs"]  # the module quality.py imported (its BenchError)
scoring = sys.modules["quality_scoring"]  # its pure scoring
grid = _load("strategy_grid")

DAY = pd.Timestamp("2018-01-17", tz="UTC")


def rows_of(ic_by_window: dict[int, float], pairs=("A/BTC", "B/BTC"), n=40, seed=0):
    """Scored rows whose prediction has about the given IC in each window (day offset)."""
    rng = np.random.default_rng(seed)
    frames = []
    for day, ic in ic_by_window.items():
        for pair in pairs:
            target = rng.standard_normal(n)
            pred = ic * target + np.sqrt(1 - ic * ic) * rng.standard_normal(n)
            dates = DAY + pd.Timedelta(days=day) + pd.to_timedelta(np.arange(n) * 5, unit="min")
            frames.append(pd.DataFrame({"pair": pair, "date": dates, "pred": pred,
                                        "target": target, "naive": -target}))
    rows = pd.concat(frames, ignore_index=True)
    rows["window"] = rows["date"].dt.floor("D")
    return rows


def test_scored_rows_keep_predicted_rows_with_known_targets_and_day_windows():
    """do_predict == 0, a NaN prediction or an unknown target drop the row; window = day."""
    dates = pd.date_range(DAY + pd.Timedelta(hours=23, minutes=50), periods=4, freq="5min")
    preds = pd.DataFrame({"pair": "A/BTC", "date": dates, "pred": [0.1, np.nan, 0.2, 0.3],
                          "do_predict": [1, 1, 0, 1]})
    truth = {"A/BTC": pd.DataFrame({"date": dates, "target": [0.5, 0.5, 0.5, np.nan],
                                    "naive": 0.0})}
    rows = scoring.scored_rows(preds, truth)
    assert list(rows["date"]) == [dates[0]]
    assert rows["window"].iloc[0] == DAY


def test_common_rows_keep_pair_dates_every_frame_has():
    first = rows_of({0: 0.5})
    second = first.iloc[::2]
    got = scoring.common_rows(first, second)
    assert len(got) == len(second)
    assert set(zip(got["pair"], got["date"], strict=True)) == set(
        zip(second["pair"], second["date"], strict=True))


def test_score_models_reports_means_errors_pairs_and_windows():
    """mean.<model>.ic and ic_se are evaluation.summarize's; the yardstick is scored on the
    rows every model scored; per-pair and per-window keys exist for each model."""
    sl, lgbm = rows_of({0: 0.6, 1: 0.2}), rows_of({0: 0.1, 1: 0.1}, seed=1).iloc[:-10]
    out = scoring.score_models({"self_learning": sl, "lightgbm": lgbm}, ["A/BTC", "B/BTC"])
    want = ev.summarize(sl, "pred")
    assert out["mean.self_learning.ic"] == pytest.approx(want["ic"])
    assert out["mean.self_learning.ic_se"] == pytest.approx(want["ic_se"])
    assert out["mean.naive.rows"] == len(scoring.common_rows(sl, lgbm))
    assert out["mean.naive.ic"] == pytest.approx(-1.0)
    naive_ics = ev.window_ics(scoring.common_rows(sl, lgbm), "naive")
    diff, se = ev.paired_difference(ev.window_ics(sl, "pred"), naive_ics)
    assert (out["mean.self_learning.vs_naive"], out["mean.self_learning.vs_naive_se"]) == (
        pytest.approx(diff), pytest.approx(se))
    for key in ("A/BTC.lightgbm.ic", "B/BTC.naive.hit_rate", "window.2018-01-18.lightgbm.ic",
                "mean.lightgbm.std_ratio", "mean.self_learning.ic_pooled"):
        assert np.isfinite(out[key]), key


def test_score_ablation_pairs_each_row_with_full():
    """diff = mean per-window IC difference to `full` (0 for full itself), with its error."""
    full, other = rows_of({0: 0.5, 1: 0.3, 2: 0.4}), rows_of({0: 0.1, 1: 0.2, 2: 0.0}, seed=3)
    out = scoring.score_ablation({"full": full, "no_latent": other})
    diff, se = ev.paired_difference(ev.window_ics(other, "pred"), ev.window_ics(full, "pred"))
    assert out["ablation.full.diff"] == 0.0
    assert out["ablation.no_latent.diff"] == pytest.approx(diff)
    assert out["ablation.no_latent.diff_se"] == pytest.approx(se)
    assert out["ablation.no_latent.ic"] == pytest.approx(ev.summarize(other, "pred")["ic"])


def test_score_flip_splits_days_at_the_flip():
    """ic_before averages the days before the flip, ic_after the days from it on."""
    rows = rows_of({0: 0.6, 1: 0.6, 2: -0.5, 3: -0.5}, n=200)
    out = scoring.score_flip({"frozen": rows}, DAY + pd.Timedelta(days=2))
    ics = ev.window_ics(rows, "pred")
    assert out["flip.frozen.ic_before"] == pytest.approx(ics.iloc[:2].mean())
    assert out["flip.frozen.ic_after"] == pytest.approx(ics.iloc[2:].mean())
    assert out["flip.frozen.ic_before"] > 0.4 > -0.4 > out["flip.frozen.ic_after"]
    assert out["flip.naive.ic_after"] == pytest.approx(-1.0)  # rows_of: naive = -target


@pytest.mark.parametrize(("argv", "names"), [
    ([], ["full", "lightgbm", "seed", "no_online", "per_pair", "no_latent", "no_replay",
          "quality_weighting", "deep_head", "no_drift_response", "no_challenge"]),
    (["--no-ablation", "--no-seed"], ["full", "lightgbm"]),
    (["--no-ablation", "--no-lightgbm", "--no-seed"], ["full"]),
    (["--scenario", "flip"], ["full", "no_online", "frozen", "no_challenge"]),
])
def test_run_specs_table(argv, names):
    """Which backtests a run makes; the skip options drop theirs."""
    assert [s.name for s in quality.run_specs(quality.parse_args(argv))] == names


def test_run_specs_carry_the_ablation_and_user_overrides():
    """Each row's self_learning overrides sit on top of --self-learning-config; the seed run
    adds one to the seed; the frozen model is one window over the test days, never stepped."""
    specs = {s.name: s for s in quality.run_specs(quality.parse_args(
        ["--self-learning-config", '{"epochs": 5, "seed": 7}']))}
    assert specs["full"].freqai == {"self_learning": {"epochs": 5, "seed": 7}}
    assert specs["deep_head"].freqai["self_learning"] == {"epochs": 5, "seed": 7,
                                                          "deep_head": True}
    assert specs["seed"].freqai["self_learning"]["seed"] == 8
    assert specs["lightgbm"].freqai_model == "LightGBMRegressorMultiTarget"
    flip = {s.name: s for s in quality.run_specs(quality.parse_args(["--scenario", "flip"]))}
    assert flip["frozen"].freqai == {"backtest_period_days": quality.FLIP_TEST_DAYS,
                                     "self_learning": {"prequential_backtest": False}}


@pytest.mark.parametrize(("argv", "message"), [
    (["--timerange", "2018-01-17"], "--timerange must be YYYYMMDD-YYYYMMDD"),
    (["--self-learning-config", "{epochs"], "--self-learning-config is not JSON"),
    (["--self-learning-config", "[1]"], "must be a JSON object"),
    (["--pairs", "UNITTEST/BTC"], "1m candles only"),
])
def test_bad_arguments_exit_naming_the_option(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        quality.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_check_coverage_names_the_earliest_possible_start():
    """Candles must reach back over the training days and the startup candles."""
    dates = pd.date_range("2018-01-10", "2018-01-31", freq="5min", tz="UTC")
    truth = {"A/BTC": pd.DataFrame({"date": dates})}
    quality.check_coverage("20180117-20180130", truth)
    with pytest.raises(runs.BenchError, match="start it 20180116 or later"):
        quality.check_coverage("20180115-20180130", truth)
    with pytest.raises(runs.BenchError, match="candles end"):
        quality.check_coverage("20180117-20180202", truth)


def test_load_truth_uses_the_one_target_formula(tmp_path):
    """target is evaluation.realized_targets' &-s_close, naive the yardstick."""
    close = 1.0 + 0.01 * np.sin(np.arange(300) / 7.0)
    dates = pd.date_range("2018-01-10", periods=300, freq="5min", tz="UTC")
    candles = pd.DataFrame({"date": dates, "open": close, "high": close * 1.01,
                            "low": close * 0.99, "close": close, "volume": 1.0})
    candles.to_feather(tmp_path / "A_BTC-5m.feather")
    truth = quality.load_truth(tmp_path, "A/BTC", 12)
    np.testing.assert_array_equal(truth["target"],
                                  ev.realized_targets(candles, 12)["&-s_close"])
    np.testing.assert_array_equal(truth["naive"], ev.naive_signal(close))
    with pytest.raises(runs.BenchError, match="candle file missing"):
        quality.load_truth(tmp_path, "B/BTC", 12)


def test_flip_data_puts_three_test_days_on_each_side_of_the_flip(tmp_path):
    """Generated candles cover training, startup and test days; the timerange is the six
    test days, the flip at the start of the fourth."""
    datadir, timerange, flip_at = quality.flip_data(tmp_path, ["ETH/BTC"], seed=1)
    assert timerange == "20250107-20250113"
    assert flip_at == pd.Timestamp("2025-01-10", tz="UTC")
    candles = pd.read_feather(datadir / "ETH_BTC-5m.feather")
    quality.check_coverage(timerange, {"ETH/BTC": candles})


def test_backtest_config_splits_the_wallet_and_reuses_identifiers(tmp_path):
    """One open trade per pair with an even share of the wallet; a run reusing another's
    predictions uses its identifier and a strategy copy with the parameter file."""
    bt = runs.Backtests(tmp_path, tmp_path, ["A/BTC", "B/BTC"], "20180117-20180130",
                        {"train_period_days": 5, "self_learning": {"epochs": 3}}, 60.0)
    spec = runs.RunSpec("g1", "SelfLearningModel", {"self_learning": {"seed": 1}},
                        {"buy": {"entry_z": 1.5}}, predictions_of="full")
    config = bt.config(spec)
    assert (config["stake_amount"], config["max_open_trades"]) == ("unlimited", 2)
    assert config["freqai"] == {"train_period_days": 5, "identifier": "quality-full",
                                "self_learning": {"epochs": 3, "seed": 1}}
    folder = bt.strategy_dir(spec)
    params = json.loads((folder / "SelfLearningStrategy.json").read_text())
    assert params == {"strategy_name": "SelfLearningStrategy",
                      "params": {"buy": {"entry_z": 1.5}}}
    assert (folder / "SelfLearningStrategy.py").read_text() == (
        runs.STRATEGY_DIR / "SelfLearningStrategy.py").read_text()
    assert bt.strategy_dir(runs.RunSpec("x", "M")) == runs.STRATEGY_DIR


def test_trade_stats_read_freqtrade_result_keys():
    """Counts, total profit and drawdown in %, from freqtrade's statistics structure."""
    stats = {"strategy": {"SelfLearningStrategy": {
        "total_trades": 12, "profit_total": 0.0123, "max_drawdown_account": 0.004,
        "profit_mean": 0.001}}}
    assert runs.trade_stats(stats) == pytest.approx(
        {"trades": 12, "profit_pct": 1.23, "max_drawdown_pct": 0.4, "profit_mean_pct": 0.1})
    with pytest.raises(runs.BenchError, match="no strategy 'SelfLearningStrategy'"):
        runs.trade_stats({"strategy": {"Other": {}}})


def test_read_trades_names_a_folder_without_results(tmp_path):
    with pytest.raises(runs.BenchError, match="no freqtrade backtest result in"):
        runs.read_trades(tmp_path)


def test_train_seconds_parses_freqai_done_lines():
    log = ("... - INFO - -------------------- Done training ETC/BTC (13.56 secs) ----\n"
           "... - INFO - incremental update of ETC/BTC: 288 new samples, 0.62 s\n"
           "... - INFO - -------------------- Done training ETC/BTC (0.68 secs) ----\n"
           "... - INFO - -------------------- Done training LTC/BTC (2.50 secs) ----\n")
    assert runs.train_seconds(log) == {"ETC/BTC": [13.56, 0.68], "LTC/BTC": [2.5]}


def test_failed_training_window_fails_the_run(tmp_path):
    """FreqAI logs a failed window and writes null predictions: the run is an error."""
    line = ("2026 - freqtrade.freqai.freqai_interface - WARNING - Training ETC/BTC raised "
            "exception ValueError. Message: DataFrame for label cannot have multiple columns")
    with pytest.raises(runs.BenchError, match="1 training window"):
        runs.check_log(runs.RunSpec("lightgbm", "X"), 0, line, tmp_path / "log")
    with pytest.raises(runs.BenchError, match=r"failed \(2\)"):
        runs.check_log(runs.RunSpec("full", "X"), 2, "boom", tmp_path / "log")


def test_grid_combinations_table():
    """Every combination of the grid's values, the last parameter varying fastest."""
    combos = grid.combinations({"buy": {"a": [1, 2]}, "sell": {"b": [3, 4]}})
    assert combos == [{"buy": {"a": 1}, "sell": {"b": 3}}, {"buy": {"a": 1}, "sell": {"b": 4}},
                      {"buy": {"a": 2}, "sell": {"b": 3}}, {"buy": {"a": 2}, "sell": {"b": 4}}]
    assert grid.label(combos[1]) == "a=1 b=4"
