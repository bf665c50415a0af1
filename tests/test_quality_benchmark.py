"""The pure parts of benchmarks/quality.py (its quality_scoring.py), backtest_runs.py and
strategy_grid.py: scoring tables, run specifications, configs and result parsing (no freqtrade
run)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from benchmark_support import load_benchmark

from self_learning.reports import evaluation as ev
from self_learning_offline.market.scenario import FLIP_STRENGTH, time_scaled

quality = load_benchmark("quality")
runs = sys.modules["backtest_runs"]  # the module quality.py imported (its BenchError)
scoring = sys.modules["quality_scoring"]  # its pure scoring
plan = sys.modules["quality_plan"]  # its runs and groups
sets = sys.modules["quality_sets"]  # its data sets
tables = sys.modules["quality_tables"]  # its printed tables
trades = load_benchmark("quality_trades")
grid = load_benchmark("strategy_grid")

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
    rows["day"] = rows["window"] = rows["date"].dt.floor("D")
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




def test_score_models_reports_headline_intervals_and_paired_differences():
    """mean.<model>.ic is the jackknifed pooled IC with its interval; the yardstick is scored
    on the rows every model scored; vs_naive and vs_lightgbm are paired jackknifes on those
    rows; per-pair and per-window keys exist for each model."""
    sl, lgbm = rows_of({0: 0.6, 1: 0.2, 2: 0.4}), rows_of({0: 0.1, 1: 0.1, 2: 0.0}, seed=1)
    lgbm = lgbm.iloc[:-10]
    out = scoring.score_models({"self_learning": sl, "lightgbm": lgbm}, ["A/BTC", "B/BTC"])
    want = ev.day_jackknife(sl, "pred")
    assert out["mean.self_learning.ic"] == pytest.approx(want.value)
    assert out["mean.self_learning.ic_ci_low"] == pytest.approx(want.low)
    assert out["mean.self_learning.ic_ci_high"] == pytest.approx(want.high)
    common = scoring.panel({"self_learning": sl, "lightgbm": lgbm})
    assert out["mean.naive.rows"] == len(common) == len(scoring.common_rows(sl, lgbm))
    assert out["mean.naive.ic"] == pytest.approx(-1.0)
    vs = ev.paired_jackknife(common, "self_learning", "lightgbm")
    assert out["mean.self_learning.vs_lightgbm"] == pytest.approx(vs.value)
    assert out["mean.self_learning.vs_lightgbm_ci_low"] == pytest.approx(vs.low)
    assert out["mean.self_learning.vs_naive"] == pytest.approx(
        ev.paired_jackknife(common, "self_learning", "naive").value)
    assert out["mean.self_learning.vs_naive_ci_low"] > 1.0  # naive = -target here
    for key in ("A/BTC.lightgbm.ic", "B/BTC.naive.hit_rate", "window.2018-01-18.lightgbm.ic",
                "mean.lightgbm.std_ratio", "mean.self_learning.ic_per_window",
                "mean.lightgbm.vs_naive_ci_high"):
        assert np.isfinite(out[key]), key


def test_score_ablation_pairs_each_row_with_full():
    """diff = the row's pooled IC minus full's on the rows both scored, jackknifed over the
    same days (no diff for full itself)."""
    full = rows_of({0: 0.5, 1: 0.3, 2: 0.4})
    noise = np.random.default_rng(3).standard_normal(len(full))
    other = full.assign(pred=0.1 * full["target"] + noise).iloc[5:]  # same targets, less IC
    out = scoring.score_ablation({"full": full, "no_latent": other})
    both = scoring.panel({"no_latent": other, "full": full})
    want = ev.paired_jackknife(both, "no_latent", "full")
    assert "ablation.full.diff" not in out
    assert out["ablation.no_latent.diff"] == pytest.approx(want.value)
    assert out["ablation.no_latent.diff_ci_high"] == pytest.approx(want.high)
    assert want.high < 0
    assert out["ablation.no_latent.ic"] == pytest.approx(ev.day_jackknife(other, "pred").value)


def test_score_flip_splits_days_at_the_flip():
    """ic_before scores the days before the flip, ic_after the days from it on."""
    rows = rows_of({0: 0.6, 1: 0.6, 2: 0.6, 3: -0.5, 4: -0.5, 5: -0.5}, n=200)
    flip_at = DAY + pd.Timedelta(days=3)
    out = scoring.score_flip({"frozen": rows}, flip_at)
    assert out["flip.frozen.ic_before"] == pytest.approx(
        ev.day_jackknife(rows[rows["date"] < flip_at], "pred").value)
    assert out["flip.frozen.ic_before"] > 0.4 > -0.4 > out["flip.frozen.ic_after"]
    assert out["flip.frozen.ic_after_ci_high"] < 0
    assert out["flip.naive.ic_after"] == pytest.approx(-1.0)  # rows_of: naive = -target


def test_after_change_counts_trades_opened_and_profit_closed_from_the_change(monkeypatch):
    """trades_after: the trades opened at or after the change; profit_after_pct: the daily
    trade profit of the change's day and later."""
    at = DAY + pd.Timedelta(days=1)
    opened = pd.to_datetime(["2018-01-17 23:55", "2018-01-18 00:00", "2018-01-19 12:00"],
                            utc=True)
    days = pd.Series([1.0, -0.5, 0.25], index=pd.date_range(DAY, periods=3, freq="D"))
    monkeypatch.setattr(plan, "run_daily_profit", lambda windows: days)
    window = trades.WindowTrades(pd.DataFrame({"open_date": opened}), 1000.0, "20180117-20180120")
    assert plan.after_change([window], at) == {
        "trades_after": 2.0, "profit_after_pct": -0.25}


def test_after_change_script_reads_every_kept_run_with_its_parameters(monkeypatch, tmp_path,
                                                                     capsys):
    """benchmarks/after_change.py: each results_<run> of the scenario's window folder, in the
    window quality.py ran (scenario_window), its after-change figures as quality.py's own
    (quality_plan.after_change) and a strategy_grid run's parameters from its parameter file."""
    after = load_benchmark("after_change")
    window = tmp_path / "reverse"
    for run in ("full", "grids_0"):
        (window / f"results_{run}").mkdir(parents=True)
    (window / "strategy_grids_0").mkdir()
    (window / "strategy_grids_0" / "SelfLearningStrategy.json").write_text(json.dumps(
        {"strategy_name": "SelfLearningStrategy", "params": {"buy": {"min_score_ic": -0.05}}}))
    opened = {"full": ["2025-01-09 12:00", "2025-01-10 00:00", "2025-01-11 00:00"],
              "grids_0": ["2025-01-09 12:00"]}
    seen = []

    def read(results_dir, timerange):
        run = results_dir.name.removeprefix("results_")
        seen.append((run, timerange))
        frame = pd.DataFrame({"open_date": pd.to_datetime(opened[run], utc=True),
                              "close_date": pd.to_datetime(opened[run], utc=True),
                              "profit_abs": 10.0})
        return trades.WindowTrades(frame, 1000.0, timerange,
                                   {"trades": float(len(frame)), "profit_pct": 3.0})

    monkeypatch.setattr(after, "read_window_trades", read)
    assert after.main(["--from", str(tmp_path), "--scenario", "reverse"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert seen == [("full", "20250107-20250113"), ("grids_0", "20250107-20250113")]
    assert out["full"] == {"params": "", "trades": 3.0, "profit_pct": 3.0,
                           "trades_after": 2.0, "profit_after_pct": 2.0}
    assert out["grids_0"]["params"] == "min_score_ic=-0.05"
    assert (out["grids_0"]["trades_after"], out["grids_0"]["profit_after_pct"]) == (0.0, 0.0)


@pytest.mark.parametrize(("argv", "names"), [
    ([], ["full", "lightgbm", "seed", "no_online", "per_pair", "no_latent", "no_replay",
          "quality_weighting", "deep_head", "no_drift_response", "no_challenge"]),
    (["--no-ablation", "--no-seed"], ["full", "lightgbm"]),
    (["--ablation", "no_online", "--no-seed"], ["full", "lightgbm", "no_online"]),
    (["--no-ablation", "--no-lightgbm", "--no-seed"], ["full"]),
    (["--scenario", "flip"], ["full", "no_online", "frozen", "no_challenge"]),
    (["--scenario", "fade"], ["full", "no_online", "frozen", "no_challenge"]),
    (["--scenario", "emerge"], ["full", "no_online", "frozen", "no_challenge"]),
    (["--scenario", "reverse"], ["full", "no_online", "frozen", "no_challenge"]),
    (["--scenario", "glide"], ["full", "no_online", "frozen", "no_challenge"]),
    (["--scenario", "volshock"], ["full", "no_online", "frozen", "no_challenge"]),
    (["--scenario", "flip", "--no-ablation"], ["full"]),
])
def test_run_specs_table(argv, names):
    """Which backtests a run makes; the skip options drop theirs."""
    assert [s.name for s in specs_of(argv)] == names


def specs_of(argv: list[str], monkeypatch=None, tmp_path=None) -> list:
    """plan_runs of the arguments, for their plan (make_plan, its scenario data not
    generated: monkeypatch) or, without monkeypatch, for a plan of no data."""
    args = quality.parse_args(argv)
    if monkeypatch is None:
        return plan.plan_runs(args, plan.Plan("t", Path("d"), [], "BTC", sets.TIMEFRAMES["5m"],
                                              [], None, 6))
    monkeypatch.setattr(quality, "scenario_data", lambda tmp, pairs, scenario, seed, tf: (
        tmp_path, sets.Window(scenario, "20250101-20250102", "holdout"), DAY))
    return plan.plan_runs(args, quality.make_plan(args, tmp_path))


def test_run_specs_carry_the_ablation_and_user_overrides(monkeypatch, tmp_path):
    """Each row's self_learning overrides sit on top of --self-learning-config; the seed run
    adds one to the seed; the frozen model is one window over the test days of the scenario's
    layout at its timeframe (make_plan's Plan.frozen_days), never stepped."""
    specs = {s.name: s for s in specs_of(["--self-learning-config", '{"epochs": 5, "seed": 7}'])}
    assert specs["full"].freqai == {"self_learning": {"epochs": 5, "seed": 7}}
    assert specs["deep_head"].freqai["self_learning"] == {"epochs": 5, "seed": 7,
                                                          "deep_head": True}
    assert specs["seed"].freqai["self_learning"]["seed"] == 8
    assert specs["lightgbm"].freqai_model == "LightGBMRegressorMultiTarget"
    flip = {s.name: s for s in specs_of(["--scenario", "flip"], monkeypatch, tmp_path)}
    assert flip["frozen"].freqai == {"backtest_period_days": 6,
                                     "self_learning": {"prequential_backtest": False}}
    hourly = {s.name: s for s in specs_of(["--scenario", "fade", "--scenario-timeframe", "1h"],
                                          monkeypatch, tmp_path)}
    assert hourly["frozen"].freqai["backtest_period_days"] == 28
    with pytest.raises(runs.BenchError, match="rows are"):
        specs_of(["--ablation", "no_such_row"])


def test_freqai_overrides_reach_every_self_learning_runs_config(monkeypatch, tmp_path):
    """--freqai is deep-merged into the freqai section of every SelfLearning run (under the
    row's own keys, beside the window's feature_parameters), not into the LightGBM baseline,
    and the result's command keeps it (runs with and without it are told apart)."""
    over = '{"feature_parameters": {"DI_threshold": 0.9}, "self_learning": {"epochs": 5}}'
    argv = ["--freqai", over, "--ablation", "no_replay"]
    specs = {s.name: s for s in specs_of(argv)}
    assert specs["full"].freqai == {"feature_parameters": {"DI_threshold": 0.9},
                                    "self_learning": {"epochs": 5}}
    assert specs["no_replay"].freqai["self_learning"] == {"epochs": 5, "replay_batch": 0}
    assert specs["seed"].freqai["feature_parameters"] == {"DI_threshold": 0.9}
    assert "feature_parameters" not in specs["lightgbm"].freqai
    frozen = {s.name: s for s in specs_of(["--scenario", "fade", "--freqai", over],
                                          monkeypatch, tmp_path)}["frozen"]
    assert frozen.freqai["feature_parameters"] == {"DI_threshold": 0.9}
    assert frozen.freqai["self_learning"] == {"epochs": 5, "prequential_backtest": False}
    args = quality.parse_args(argv)
    bt = runs.Backtests(tmp_path, tmp_path, ["A/BTC"], "20180117-20180130",
                        quality.common_freqai(args, sets.TIMEFRAMES["5m"], 12), 60.0)
    assert bt.config(specs["full"])["freqai"]["feature_parameters"] == {
        "include_timeframes": ["5m"], "label_period_candles": 12, "DI_threshold": 0.9}
    assert shlex.split(quality.figure_command(argv))[1:3] == ["--freqai", over]
    with pytest.raises(SystemExit):
        quality.parse_args(["--freqai", "[1]"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--timerange", "2018-01-17"], "--timerange must be YYYYMMDD-YYYYMMDD"),
    (["--self-learning-config", "{epochs"], "--self-learning-config is not JSON"),
    (["--self-learning-config", "[1]"], "must be a JSON object"),
    (["--pairs", "UNITTEST/BTC"], "1m candles only"),
    (["--set", "usdt-15m"], "invalid choice"),
    (["--backtest-period-days", "0"], "--backtest-period-days must be 1 or more"),
    (["--scenario", "null", "--scenario-timeframe", "1h"], "needs --scenario flip|fade"),
])
def test_bad_arguments_exit_naming_the_option(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        quality.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "days"), [
    (["--set", "usdt-1h"], 7), (["--set", "usdt-5m"], 1),
    (["--set", "usdt-1h", "--backtest-period-days", "1"], 1),
])
def test_backtest_period_days_is_the_timeframes_unless_given(argv, days, tmp_path):
    """Every run of a window retrains every `backtest_period_days`: the timeframe's (1h
    weekly, 5m daily) or --backtest-period-days; training days and horizon stay."""
    args = quality.parse_args(argv)
    tf = quality.make_plan(args, tmp_path).timeframe
    common = quality.common_freqai(args, tf, 4)
    assert common["backtest_period_days"] == days
    assert common["train_period_days"] == tf.train_days
    assert common["feature_parameters"]["label_period_candles"] == 4


@pytest.mark.parametrize(("argv", "name", "stake", "timeframe", "windows"), [
    ([], "usdt-5m", "USDT", "5m", ["jan", "feb", "mar", "apr"]),
    (["--windows", "holdout"], "usdt-5m", "USDT", "5m", ["mar", "apr"]),
    (["--set", "usdt-1h", "--windows", "dev"], "usdt-1h", "USDT", "1h", ["nov-dec", "jan-feb"]),
    (["--set", "btc-2018"], "btc-2018", "BTC", "5m", ["jan-2018"]),
    (["--datadir", "/x", "--pairs", "A/ETH", "--timeframe", "1h", "--timerange",
      "20250101-20250201"], "custom", "ETH", "1h", ["custom"]),
])
def test_plan_of_sets_windows_and_explicit_options(argv, name, stake, timeframe, windows,
                                                   tmp_path):
    """The default set walks forward over the USDT 5m windows; stake and timeframe follow
    the set or the options (the stake from the pairs' quote)."""
    got = quality.make_plan(quality.parse_args(argv), tmp_path)
    assert (got.name, got.stake, got.timeframe.name) == (name, stake, timeframe)
    assert [w.name for w in got.windows] == windows


def test_walk_forward_windows_are_dev_first_and_inside_the_shared_data():
    """Every set's dev windows come before its holdout windows, which never overlap; each
    window leaves room for the timeframe's training days and startup candles."""
    for data in sets.SETS.values():
        roles = [w.role for w in data.windows]
        assert roles == sorted(roles), data.name  # "dev" < "holdout"
        ranges = [w.timerange.split("-") for w in data.windows]
        assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False)), data.name
    with pytest.raises(ValueError, match="has windows jan, feb, mar, apr"):
        sets.SETS["usdt-5m"].selected(["may"])


def test_check_coverage_names_the_earliest_possible_start(tmp_path):
    """Candles must reach back over the training days and the startup candles."""
    dates = pd.date_range("2018-01-10", "2018-01-31", freq="5min", tz="UTC")
    candles = pd.DataFrame({"date": dates})
    of = lambda timerange: plan.Plan(  # noqa: E731
        "t", tmp_path, ["A/BTC"], "BTC", sets.TIMEFRAMES["5m"],
        [sets.Window("w", timerange, "holdout")], None)
    of("20180117-20180130").check_coverage("A/BTC", candles)
    with pytest.raises(runs.BenchError, match="start it 20180116 or later"):
        of("20180115-20180130").check_coverage("A/BTC", candles)
    with pytest.raises(runs.BenchError, match="candles end"):
        of("20180117-20180202").check_coverage("A/BTC", candles)


def test_truth_uses_the_one_target_formula(tmp_path):
    """target is evaluation.realized_targets' &-s_close, naive the yardstick."""
    close = 1.0 + 0.01 * np.sin(np.arange(3000) / 7.0)
    dates = pd.date_range("2018-01-01", periods=3000, freq="5min", tz="UTC")
    candles = pd.DataFrame({"date": dates, "open": close, "high": close * 1.01,
                            "low": close * 0.99, "close": close, "volume": 1.0})
    candles.to_feather(tmp_path / "A_BTC-5m.feather")
    window = sets.Window("w", "20180107-20180110", "holdout")
    got = plan.Plan("t", tmp_path, ["A/BTC"], "BTC", sets.TIMEFRAMES["5m"], [window], None)
    truth = got.truth(12)["A/BTC"]
    np.testing.assert_array_equal(truth["target"],
                                  ev.realized_targets(candles, 12)["&-s_close"])
    np.testing.assert_array_equal(truth["naive"], ev.naive_signal(close))
    missing = plan.Plan("t", tmp_path, ["B/BTC"], "BTC", sets.TIMEFRAMES["5m"], [window], None)
    with pytest.raises(runs.BenchError, match="candle file missing"):
        missing.truth(12)


@pytest.mark.parametrize(("scenario", "before", "after"), [
    ("flip", -1.0, 1.0), ("fade", -1.0, 0.0), ("emerge", 0.0, -1.0), ("reverse", 1.0, -1.0),
    ("volshock", -1.0, -1.0),
])
def test_change_scenarios_build_their_markets(scenario, before, after):
    """Each --scenario name builds the market it names: the per-minute edge (in units of the
    pull) the minute before the change and at it."""
    market = plan.CHANGES[scenario](DAY.to_pydatetime(), strength=0.01)
    minutes = pd.DatetimeIndex([DAY - pd.Timedelta(minutes=1), DAY])
    np.testing.assert_array_equal(market.edge(minutes), [0.01 * before, 0.01 * after])


@pytest.mark.parametrize(("timeframe", "days"), [("5m", 3), ("1h", 14)])
def test_glide_fills_the_days_before_the_change(timeframe, days):
    """change_market's glide ends at the change and starts `days` before it, with the
    backtest (5m: 3 days, 1h: 14): the flip's pull time_scaled to the layout (mean reversion)
    at its start, 0 half-way, the push (trend following) from the change on."""
    layout = plan.CHANGE_LAYOUTS[timeframe]
    market = plan.change_market("glide", DAY.to_pydatetime(), layout)
    pull = time_scaled(FLIP_STRENGTH, layout.average_minutes)
    minutes = pd.DatetimeIndex([DAY - pd.Timedelta(days=days + 1), DAY - pd.Timedelta(days=days),
                                DAY - pd.Timedelta(days=days / 2), DAY, DAY + pd.Timedelta(1, "h")])
    np.testing.assert_allclose(market.edge(minutes), [-pull, -pull, 0.0, pull, pull],
                               atol=1e-12)
    assert market.average_minutes == layout.average_minutes


@pytest.mark.parametrize(("scenario", "timeframe", "timerange", "flip"), [
    ("flip", "5m", "20250107-20250113", pd.Timestamp("2025-01-10", tz="UTC")),
    ("null", "5m", "20250103-20250113", None),
    ("fade", "5m", "20250107-20250113", pd.Timestamp("2025-01-10", tz="UTC")),
    ("emerge", "5m", "20250107-20250113", pd.Timestamp("2025-01-10", tz="UTC")),
    ("reverse", "5m", "20250107-20250113", pd.Timestamp("2025-01-10", tz="UTC")),
    ("glide", "1h", "20241216-20250113", pd.Timestamp("2024-12-30", tz="UTC")),
    ("volshock", "5m", "20250107-20250113", pd.Timestamp("2025-01-10", tz="UTC")),
    ("flip", "1h", "20241216-20250113", pd.Timestamp("2024-12-30", tz="UTC")),
])
def test_scenario_data_covers_training_and_test_days(scenario, timeframe, timerange, flip,
                                                     tmp_path):
    """Generated candles cover training, startup and test days; 5m changes: six test days, the
    change at the start of the fourth; null: ten days of a random walk; 1h changes: 28 test
    days after 30 training days, the change at the start of the fifteenth."""
    datadir, window, flip_at = quality.scenario_data(tmp_path, ["ETH/USDT"], scenario, 1,
                                                     timeframe)
    assert (window.timerange, flip_at) == (timerange, flip)
    candles = pd.read_feather(datadir / f"ETH_USDT-{timeframe}.feather")
    tf = sets.TIMEFRAMES[timeframe]
    plan.Plan("t", datadir, ["ETH/USDT"], "USDT", tf, [window], flip_at).check_coverage(
        "ETH/USDT", candles)
    assert candles["date"].iloc[0] > pd.Timestamp(timerange[:8], tz="UTC") - tf.lead() - (
        pd.Timedelta(days=1))  # not a day more than needed


def test_buy_and_hold_is_the_equal_weight_portfolio_after_fees():
    """Two pairs, one doubling and one flat: +50 % before fees; the drawdown is the worst fall
    of the portfolio's value from its peak."""
    dates = pd.date_range("2025-01-01", periods=4, freq="1h", tz="UTC")
    candles = {"A/USDT": pd.DataFrame({"date": dates, "open": [1.0, 1, 1, 1],
                                       "close": [1.0, 3.0, 1.0, 2.0]}),
               "B/USDT": pd.DataFrame({"date": dates, "open": 1.0, "close": 1.0})}
    got = trades.buy_and_hold(candles, "20250101-20250102", fee=0.0)
    assert got == pytest.approx({"profit_pct": 50.0, "max_drawdown_pct": 50.0})
    assert trades.buy_and_hold(candles, "20250101-20250102", 0.002)["profit_pct"] == \
        pytest.approx(100 * (1.5 * 0.999 * 0.999 - 1))


def test_entry_quality_reads_the_signal_candle_before_each_entry():
    """An entry at 10:05 was signalled by the 10:00 candle: its prediction and target."""
    dates = pd.date_range("2025-01-01 10:00", periods=3, freq="5min", tz="UTC")
    rows = pd.DataFrame({"pair": "A/USDT", "date": dates, "pred": [0.01, 0.02, 0.03],
                         "target": [0.004, -0.002, 0.0]})
    fills = pd.DataFrame({"pair": ["A/USDT", "A/USDT"], "open_date": dates[[1, 2]],
                          "profit_ratio": 0.0, "fee_open": 0.001, "fee_close": 0.001})
    got = trades.entry_quality(fills, rows, pd.Timedelta(minutes=5))
    assert got == pytest.approx({"entries": 2, "entry_pred_pct": 1.5,
                                 "entry_realized_pct": 0.1, "fee_round_trip_pct": 0.2})


def test_combine_sums_windows_and_weights_entry_means():
    parts = [{"trades": 2, "entries": 2, "profit_pct": 1.0, "max_drawdown_pct": 3.0,
              "entry_realized_pct": 0.3, "profit_mean_pct": 0.5},
             {"trades": 6, "entries": 6, "profit_pct": -2.0, "max_drawdown_pct": 1.0,
              "entry_realized_pct": -0.1, "profit_mean_pct": -0.5}]
    got = trades.combine(parts)
    assert (got["trades"], got["profit_pct"], got["max_drawdown_pct"]) == (8, -1.0, 3.0)
    assert got["entry_realized_pct"] == pytest.approx(0.0)
    assert got["profit_mean_pct"] == pytest.approx(-0.25)


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


def test_runs_use_the_timeframe_alone_unless_include_timeframes_names_more():
    """Every run's FreqAI windows and horizon; include_timeframes is the timeframe alone by
    default (what every 5m figure so far measured), or what --include-timeframes names."""
    tf = sets.TIMEFRAMES["5m"]
    assert quality.common_freqai(quality.parse_args([]), tf, 12) == {
        "train_period_days": 5, "backtest_period_days": 1,
        "feature_parameters": {"include_timeframes": ["5m"], "label_period_candles": 12}}
    args = quality.parse_args(["--include-timeframes", "5m", "15m", "1h"])
    got = quality.common_freqai(args, tf, 12)
    assert got["feature_parameters"]["include_timeframes"] == ["5m", "15m", "1h"]


def test_a_cold_run_compiles_into_an_empty_xla_cache_of_its_own():
    """--cold: the run's model caches its XLA programs in the given folder, and a cache folder
    named in the caller's TF_XLA_FLAGS (which would win over it) is dropped; other flags stay.
    Without --cold the caller's cache settings pass through unchanged."""
    caller = {"SELF_LEARNING_XLA_CACHE": "/shared", "PATH": "/bin",
              "TF_XLA_FLAGS": "--tf_xla_auto_jit=0 --tf_xla_persistent_cache_directory=/x"}
    env = runs.run_env(caller, Path("/tmp/q/xla_full"))
    assert env["SELF_LEARNING_XLA_CACHE"] == "/tmp/q/xla_full"
    assert env["TF_XLA_FLAGS"] == "--tf_xla_auto_jit=0"
    assert (env["PATH"], env["TF_CPP_MIN_LOG_LEVEL"]) == ("/bin", "2")
    warm = runs.run_env(caller, None)
    assert {k: warm[k] for k in caller} == caller


@pytest.mark.parametrize("cold", [True, False])
def test_cold_backtests_give_each_run_its_own_cache_folder(cold, tmp_path, monkeypatch):
    """Each freqtrade run of a cold measurement gets a fresh folder (no run loads what an
    earlier run compiled); a warm one leaves the shared cache to the caller's environment."""
    seen = []

    def fake_run(cmd, env, **kw):
        seen.append(env.get("SELF_LEARNING_XLA_CACHE"))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(runs.subprocess, "run", fake_run)
    monkeypatch.setenv("SELF_LEARNING_XLA_CACHE", "/shared")
    bt = runs.Backtests(tmp_path, tmp_path, ["A/BTC"], "20180117-20180130", {}, 60.0,
                        cold=cold)
    for name in ("full", "no_online"):
        bt.run(runs.RunSpec(name, "SelfLearningModel"))
    if cold:
        assert seen == [str(tmp_path / "xla_full"), str(tmp_path / "xla_no_online")]
    else:
        assert seen == ["/shared", "/shared"]


@pytest.mark.parametrize(("timeframe", "files", "horizon", "memory"), [
    ("5m", ["config.json", "config.5m.json"], 12, 576),
    ("1h", ["config.json"], 4, 8760),
])
def test_each_timeframe_backtests_its_shipped_setup(timeframe, files, horizon, memory):
    """usdt-5m, btc-2018 and the scenarios (5m) run config.json + config.5m.json, usdt-1h runs
    config.json: the same configs as before config.json became the 1h setup (the README's
    usdt-5m and null command lines give the same runs); the horizon H defaults to the setup's."""
    assert [p.name for p in runs.setup_configs(timeframe)] == files
    freqai = runs.setup_config(timeframe)["freqai"]
    assert freqai["feature_parameters"]["label_period_candles"] == horizon
    assert freqai["self_learning"]["memory_candles"] == memory
    assert runs.setup_config(timeframe)["timeframe"] == timeframe


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


def test_configuration_error_fails_the_run_despite_exit_code_0(tmp_path):
    """freqtrade exits with 0 after a ConfigurationError (here `--timeframe 4h` with
    config.json's include_timeframes ["1h"]): the run is an error naming freqtrade's message,
    not a success without results."""
    line = ("2026 - freqtrade - ERROR - Configuration error: Main timeframe of 4h must be "
            "smaller or equal to FreqAI `include_timeframes`.Offending include-timeframes: 1h")
    with pytest.raises(runs.BenchError, match=r"refused its config \(exit code 0\): "
                       r"Configuration error: Main timeframe of 4h"):
        runs.check_log(runs.RunSpec("cli", "X"), 0, f"... INFO ...\n{line}\n", tmp_path / "log")


def test_grid_combinations_table():
    """Every combination of the grid's values, the last parameter varying fastest."""
    combos = grid.combinations({"buy": {"a": [1, 2]}, "sell": {"b": [3, 4]}})
    assert combos == [{"buy": {"a": 1}, "sell": {"b": 3}}, {"buy": {"a": 1}, "sell": {"b": 4}},
                      {"buy": {"a": 2}, "sell": {"b": 3}}, {"buy": {"a": 2}, "sell": {"b": 4}}]
    assert grid.label(combos[1]) == "a=1 b=4"


def test_grid_reuses_the_predictions_of_the_run_under_its_own_model():
    """A LightGBM run's predictions are found only under LightGBM: every spec names the
    run it reuses and the model that made it, with its own parameters."""
    combos = grid.combinations({"sell": {"hold_horizons": [0, 1]}})
    specs = grid.grid_specs(combos, {"x": 1}, "lightgbm", "LightGBMRegressorMultiTarget", "01")
    assert [(s.name, s.freqai_model, s.predictions_of, s.strategy_params) for s in specs] == [
        ("grid01_0", "LightGBMRegressorMultiTarget", "lightgbm", {"sell": {"hold_horizons": 0}}),
        ("grid01_1", "LightGBMRegressorMultiTarget", "lightgbm", {"sell": {"hold_horizons": 1}})]


def timed_runs(seconds: dict[str, dict[str, tuple[float, float | None]]]
               ) -> list[dict[str, object]]:
    """quality.py's runs (one dict of Run by name per window) from window -> run -> (wall_s,
    cpu_s)."""
    out = []
    for window, by_name in seconds.items():
        w = sets.Window(window, "20250101-20250102", "dev")
        out.append({name: plan.Run(w, runs.RunResult(runs.RunSpec(name, "X"), Path("m"), "",
                                                     Path("r"), wall, cpu))
                    for name, (wall, cpu) in by_name.items()})
    return out


def test_speed_ratios_sum_full_and_each_run_over_the_windows_both_ran():
    """full's seconds over each other run's, per measure, over the windows where both ran (a
    window without the other run does not count full's time either)."""
    timed = timed_runs({"a": {"full": (30.0, 6.0), "no_online": (20.0, 4.0)},
                        "b": {"full": (10.0, None), "no_online": (20.0, None),
                              "lightgbm": (100.0, None)}})
    assert quality.speed_ratios(timed) == {
        "speed.no_online.wall_ratio": 1.0, "speed.lightgbm.wall_ratio": 0.1,
        "speed.no_online.cpu_ratio": 1.5}
    assert quality.speed_ratios(timed_runs({"a": {"full": (1.0, None)}})) == {}


def test_repeated_rounds_time_by_their_medians_and_give_each_ratios_spread():
    """--repeat: each run's wall and CPU seconds are the medians over the rounds (CPU only
    when every round measured it), the ratios those of the medians, and _low / _high the
    lowest and highest ratio of a single round."""
    rounds = [timed_runs({"a": {"full": (30.0, 6.0), "no_online": (20.0, 4.0)}}),
              timed_runs({"a": {"full": (33.0, 9.0), "no_online": (20.0, None)}}),
              timed_runs({"a": {"full": (24.0, 3.0), "no_online": (24.0, 5.0)}})]
    runs_ = quality.median_runs(rounds)
    assert runs_[0]["full"].result.wall_s == 30.0
    assert runs_[0]["full"].result.cpu_s == 6.0
    assert runs_[0]["no_online"].result.wall_s == 20.0
    assert runs_[0]["no_online"].result.cpu_s is None
    assert runs_[0]["full"].window == rounds[0][0]["full"].window
    assert quality.speed_ratios(runs_) == {"speed.no_online.wall_ratio": 1.5}
    assert quality.ratio_spread(rounds) == {"speed.no_online.wall_ratio_low": 1.0,
                                            "speed.no_online.wall_ratio_high": 1.65}


def _results_folder(folder: Path, trades_: int, profit: float) -> Path:
    """A folder holding one freqtrade backtest result, as freqtrade's load_backtest_stats
    reads it: `.last_result.json` naming the result file."""
    folder.mkdir(parents=True)
    (folder / ".last_result.json").write_text(json.dumps({"latest_backtest": "result.json"}))
    (folder / "result.json").write_text(json.dumps({"strategy": {runs.STRATEGY: {
        "total_trades": trades_, "profit_total": profit}}}))
    return folder


def test_rounds_that_traded_otherwise_are_refused(tmp_path):
    """--repeat times the same backtest N times: a later round whose trades differ from the
    first round's is an error naming it, not a median of different work."""
    def rounds_of(name, *trades_by_round):
        out = []
        for k, (trades_, profit) in enumerate(trades_by_round, start=1):
            folder = _results_folder(tmp_path / name / f"r{k}", trades_, profit)
            w = sets.Window("mar", "20250301-20250425", "holdout")
            out.append([{"full": plan.Run(w, runs.RunResult(runs.RunSpec("full", "X"),
                                                            Path("m"), "", folder, 1.0))}])
        return out

    quality.same_trades(rounds_of("same", (12, 0.01), (12, 0.01), (12, 0.01)))
    with pytest.raises(runs.BenchError, match="round 3's mar full traded otherwise"):
        quality.same_trades(rounds_of("other", (12, 0.01), (12, 0.01), (12, 0.02)))


def test_timing_figures_keep_the_keys_and_order_of_the_published_json():
    """docs/results/*.json and readme_quality.py read these keys: every run's wall_s (windows
    in run order), then the cpu_s measured, then the ratios, wall before cpu, runs sorted."""
    timed = timed_runs({"mar": {"full": (30.0, 6.0), "lightgbm": (10.0, 3.0),
                                "no_online": (20.0, 4.0)},
                        "apr": {"full": (10.0, 2.0), "lightgbm": (5.0, 1.0),
                                "no_online": (20.0, 4.0)}})
    out = {**quality.run_times(timed), **quality.speed_ratios(timed)}
    assert list(out) == [
        "runs.mar.full.wall_s", "runs.mar.lightgbm.wall_s", "runs.mar.no_online.wall_s",
        "runs.apr.full.wall_s", "runs.apr.lightgbm.wall_s", "runs.apr.no_online.wall_s",
        "runs.mar.full.cpu_s", "runs.mar.lightgbm.cpu_s", "runs.mar.no_online.cpu_s",
        "runs.apr.full.cpu_s", "runs.apr.lightgbm.cpu_s", "runs.apr.no_online.cpu_s",
        "speed.lightgbm.wall_ratio", "speed.no_online.wall_ratio",
        "speed.lightgbm.cpu_ratio", "speed.no_online.cpu_ratio"]
    assert out["runs.apr.no_online.cpu_s"] == 4.0
    assert out["speed.lightgbm.wall_ratio"] == 40.0 / 15.0
    assert out["speed.no_online.cpu_ratio"] == 8.0 / 8.0
    unmeasured = timed_runs({"mar": {"full": (30.0, None), "lightgbm": (10.0, None)}})
    assert list(quality.run_times(unmeasured)) == ["runs.mar.full.wall_s",
                                                   "runs.mar.lightgbm.wall_s"]


def test_trade_figures_score_the_entries_of_the_trades_read_once():
    """trade_figures takes each window's trades and freqtrade's statistics as
    read_run_trades read them (score_group's paired daily profit uses the same read): it
    opens no result file (there is none here)."""
    candle = pd.Timedelta(minutes=5)
    entry = DAY + pd.Timedelta(hours=1)
    window = trades.WindowTrades(pd.DataFrame({"pair": ["A/BTC"], "open_date": [entry],
                                               "fee_open": [0.001], "fee_close": [0.001]}),
                                 1000.0, "20180117-20180118",
                                 {"trades": 1.0, "profit_pct": 0.5, "max_drawdown_pct": 0.1})
    scored = pd.DataFrame({"pair": ["A/BTC"], "date": [entry - candle], "pred": [0.02],
                           "target": [0.01]})
    got = plan.trade_figures([window, window], scored, candle)
    assert got["trades"] == 2.0 and got["entries"] == 2.0 and got["profit_pct"] == 1.0
    assert got["entry_pred_pct"] == pytest.approx(2.0)
    assert got["entry_realized_pct"] == pytest.approx(1.0)


def test_score_group_reads_each_runs_trades_once_per_window(monkeypatch):
    """The trade figures and the paired daily profit of score_group come from one read of
    each run's trades in each window."""
    timed = timed_runs({"a": {"full": (1.0, None), "no_online": (1.0, None)},
                        "b": {"full": (1.0, None), "no_online": (1.0, None)}})
    reads = []

    def read(folder, timerange):
        reads.append((folder, timerange))
        none = trades.EMPTY_DATES
        return trades.WindowTrades(
            pd.DataFrame({"pair": [], "open_date": none, "close_date": none, "profit_abs": [],
                          "fee_open": [], "fee_close": []}), 1000.0, timerange,
            {"trades": 0.0, "profit_pct": 0.0, "max_drawdown_pct": 0.0})

    scored = pd.DataFrame({"pair": [], "date": trades.EMPTY_DATES, "pred": [], "target": []})
    monkeypatch.setattr(plan, "group_rows", lambda group, p, truth: {"full": scored,
                                                                      "no_online": scored})
    monkeypatch.setattr(plan, "read_window_trades", read)
    monkeypatch.setattr(plan, "score_flip", lambda rows, flip_at: {})
    monkeypatch.setattr(plan, "print_flip", lambda *a: None)
    flip = plan.Plan("t", Path("d"), ["A/BTC"], "BTC", sets.TIMEFRAMES["5m"], [], DAY)
    out = plan.score_group(flip, timed, {}, 12)
    assert len(reads) == 4  # 2 runs x 2 windows
    assert out["paired_trades.no_online.diff"] == 0.0


def test_paired_trades_table_prints_both_intervals_in_points_with_two_decimals(capsys):
    """The bootstrap and the jackknife interval of a row, 2 decimals in 22 columns; an
    interval with a missing end prints '-'."""
    key = "paired_trades.no_online.diff"
    out = {key: 30.6123, f"{key}_ci_low": 8.2049, f"{key}_ci_high": 57.3,
           f"{key}_jk_ci_low": -1.005, f"{key}_jk_ci_high": np.nan, f"{key}_days": 59.0,
           f"{key}_block_days": 4.0}
    tables.print_paired_trades(out, ["full", "no_online"])
    row = capsys.readouterr().out.splitlines()[-1]
    assert row == (f"{'no_online':<15}{'+30.61':>9}{'[+8.20, +57.30]':>22}{'-':>22}"
                   f"{'59':>6}{'4':>7}")
    assert tables.interval({"k_ci_low": -0.01234, "k_ci_high": 0.04}, "k") == (
        f"{'[-0.0123, +0.0400]':>20}")


def test_timerange_bounds_are_utc_midnights_end_exclusive():
    """The one reading of a window's timerange (coverage check, buy-and-hold, the days of the
    paired trades, paired_runs.py's retrain age)."""
    begin, end = sets.timerange_bounds("20250103-20250228")
    assert (begin, end) == (pd.Timestamp("2025-01-03", tz="UTC"),
                            pd.Timestamp("2025-02-28", tz="UTC"))
    assert len(trades.window_days("20250103-20250228")) == 28 + 28


def test_figure_command_drops_only_the_options_that_change_no_figure():
    argv = ["--scenario", "null", "--jobs", "2", "--keep-tmp", "--out", "x.json",
            "--timeout=9", "--no-seed"]
    assert quality.figure_command(argv) == "benchmarks/quality.py --scenario null --no-seed"


def test_figure_command_quotes_what_a_shell_would_split():
    """A JSON option is printed so that copying the README's command reproduces the run."""
    argv = ["--self-learning-config", '{"memory_candles": 8760}']
    printed = quality.figure_command(argv)
    assert shlex.split(printed)[1:] == argv


def test_grid_protections_reach_the_strategy_copy_and_the_command(tmp_path, monkeypatch):
    """--protections: each run's strategy copy carries them as its `protections` attribute
    (freqtrade refuses them in the config) and freqtrade runs with --enable-protections;
    without the option neither happens (what quality.py measures)."""
    seen = []
    monkeypatch.setattr(runs.subprocess, "run",
                        lambda cmd, **kw: seen.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    guard = [{"method": "CooldownPeriod", "stop_duration_candles": 2, "only_per_pair": True}]
    bt = runs.Backtests(tmp_path, tmp_path, ["A/BTC"], "20180117-20180130", {}, 60.0,
                        protections=guard)
    bt.run(runs.RunSpec("g0", "SelfLearningModel", {}, {}, predictions_of="full"))
    assert "--enable-protections" in seen[0]
    assert "protections" not in bt.config(runs.RunSpec("g0", "M"))
    copy = tmp_path / "strategy_g0" / "SelfLearningStrategy.py"
    namespace: dict = {}
    exec(compile(copy.read_text(), str(copy), "exec"), namespace)
    assert namespace["SelfLearningStrategy"].protections == guard
    assert bt.strategy_dir(runs.RunSpec("x", "M")) != runs.STRATEGY_DIR  # also without params
    (tmp_path / "p").mkdir()
    plain = runs.Backtests(tmp_path / "p", tmp_path, ["A/BTC"], "20180117-20180130", {}, 60.0)
    plain.run(runs.RunSpec("g0", "SelfLearningModel", {}, {}, predictions_of="full"))
    assert "--enable-protections" not in seen[1]
    assert "protections =" not in (tmp_path / "p" / "strategy_g0" / "SelfLearningStrategy.py"
                                   ).read_text()
    (tmp_path / "o").mkdir()  # the strategy's own protections, as a bot applies them
    own = runs.Backtests(tmp_path / "o", tmp_path, ["A/BTC"], "20180117-20180130", {}, 60.0,
                         enable_protections=True)
    own.run(runs.RunSpec("g0", "SelfLearningModel", {}, {}, predictions_of="full"))
    assert "--enable-protections" in seen[2]
    assert "protections =" not in (tmp_path / "o" / "strategy_g0" / "SelfLearningStrategy.py"
                                   ).read_text()
    assert own.strategy_dir(runs.RunSpec("x", "M")) == runs.STRATEGY_DIR  # no copy needed


def test_strategy_grid_passes_its_protections_option_to_the_backtests(tmp_path, monkeypatch):
    (tmp_path / "config.full.json").write_text(json.dumps({
        "freqai": {"identifier": "x"}, "exchange": {"pair_whitelist": ["A/USDT"]},
        "stake_currency": "USDT", "timeframe": "1h"}))
    seen = {}

    class Stop(Exception):
        pass

    class FakeBacktests:
        def __init__(self, *args, protections=None, enable_protections=False, **kw):
            seen["protections"] = protections, enable_protections

        def run_all(self, specs):
            raise Stop

    monkeypatch.setattr(grid, "Backtests", FakeBacktests)
    base = ["--from", str(tmp_path), "--datadir", str(tmp_path), "--grid", "{}"]
    for extra, want in (([], (None, False)),
                        (["--protections", '[{"method": "CooldownPeriod"}]'],
                         ([{"method": "CooldownPeriod"}], False)),
                        (["--enable-protections"], (None, True))):
        with pytest.raises(Stop):
            grid.main([*base, *extra])
        assert seen["protections"] == want


def test_backtests_refuse_a_run_name_already_used_in_the_folder(tmp_path, monkeypatch):
    """strategy_grid.py twice with the same --stamp (e.g. --run full, then --run lightgbm):
    the second names the folder and asks for another stamp before any backtest starts,
    instead of failing half-way with FileExistsError."""
    started = []
    monkeypatch.setattr(runs, "ReplayExchange", lambda *a: started.append(a))
    (tmp_path / "results_grid1_0").mkdir()
    bt = runs.Backtests(tmp_path, tmp_path, ["A/BTC"], "20180117-20180130", {}, 60.0)
    specs = [runs.RunSpec(f"grid1_{i}", "M", {}, {}, predictions_of="full") for i in (0, 1)]
    with pytest.raises(runs.BenchError, match="results_grid1_0 exists.*another --stamp"):
        bt.run_all(specs)
    assert started == []
