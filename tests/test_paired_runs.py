"""benchmarks/paired_runs.py: two kept quality.py runs paired on the rows both scored."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import pytest
from benchmark_support import load_benchmark

from self_learning.reports import evaluation as ev

paired_runs = load_benchmark("paired_runs")
runs = sys.modules["backtest_runs"]

DAY = pd.Timestamp("2025-01-03", tz="UTC")
WINDOW = sys.modules["quality_sets"].Window("jan-feb", "20250103-20250228", "dev")


def scored(pred_noise: float, seed: int, days=6, n=24, pairs=("A/USDT", "B/USDT")):
    """Scored rows (quality_scoring.scored_rows' columns) whose prediction is the target plus
    noise of the given scale (the same targets for every seed)."""
    rng, noise = np.random.default_rng(0), np.random.default_rng(seed)
    frames = []
    for pair in pairs:
        dates = DAY + pd.to_timedelta(np.arange(days * n), unit="h")
        target = rng.standard_normal(len(dates))
        frames.append(pd.DataFrame({
            "pair": pair, "date": dates, "target": target, "naive": -target,
            "pred": target + pred_noise * noise.standard_normal(len(dates))}))
    rows = pd.concat(frames, ignore_index=True)
    rows["day"] = rows["window"] = rows["date"].dt.floor("D")
    return rows.assign(start=DAY)


def test_parse_side_splits_label_folder_and_run():
    assert paired_runs.parse_side("weekly=/tmp/q-1:no_online") == (
        "weekly", paired_runs.Path("/tmp/q-1"), "no_online")
    for bad in ("/tmp/q-1:no_online", "weekly=/tmp/q-1", "=/tmp:full"):
        with pytest.raises(argparse.ArgumentTypeError):
            paired_runs.parse_side(bad)


def test_same_predictions_differ_by_exactly_zero():
    rows = scored(3.0, seed=1)
    out = paired_runs.paired({"a": rows, "b": rows.copy()})
    assert out["diff"] == 0.0 and out["diff_ci_low"] == 0.0 == out["diff_ci_high"]
    assert out["a.ic"] == out["b.ic"] > 0.0


def test_the_better_second_run_is_positive_on_the_shared_rows_only():
    worse, better = scored(3.0, seed=1), scored(0.5, seed=2)
    out = paired_runs.paired({"worse": worse, "better": better.iloc[10:]})
    assert out["diff"] > 0.0 and out["diff_ci_low"] > 0.0
    assert out["better.ic"] > out["worse.ic"]
    assert out["better.vs_naive"] > out["worse.vs_naive"]
    both = better.iloc[10:].assign(pred=better["pred"].iloc[10:])
    want = ev.paired_jackknife(both, "pred", "naive")
    assert out["better.vs_naive"] == pytest.approx(want.value)
    assert out["naive.ic"] == pytest.approx(ev.day_jackknife(both, "naive").value)
    assert (out["rows"], out["only_worse"], out["only_better"]) == (len(worse) - 10, 10, 0)
    flipped = paired_runs.paired({"better": better.iloc[10:], "worse": worse})
    assert flipped["diff"] == pytest.approx(-out["diff"])


def test_run_rows_names_a_missing_run(tmp_path):
    with pytest.raises(runs.BenchError, match="no kept run 'no_online' of window jan-feb"):
        paired_runs.run_rows(tmp_path, "no_online", [WINDOW], ["A/USDT"], {})


def test_run_rows_read_quality_pys_kept_layout(tmp_path):
    dates = DAY + pd.to_timedelta(np.arange(5), unit="h")
    folder = (tmp_path / "jan-feb" / "user_data_full" / "models" / "quality-full"
              / "backtesting_predictions")
    folder.mkdir(parents=True)
    pd.DataFrame({"date": dates, "&-s_close": np.arange(5.0),
                  "do_predict": [1, 1, 0, 1, 1]}).to_feather(
        folder / "cb_a_1735862400_prediction.feather")
    truth = {"A/USDT": pd.DataFrame({"date": dates, "target": [0.1, np.nan, 0.3, 0.4, 0.5],
                                     "naive": 0.0})}
    rows = paired_runs.run_rows(tmp_path, "full", [WINDOW], ["A/USDT"], truth)
    assert rows["pred"].tolist() == [0.0, 3.0, 4.0]  # predicted with a known target only
    assert (rows["start"] == DAY).all()


def test_age_days_split_the_difference_by_days_since_a_retrain():
    """Rows d days after a retrain every 3 days (from the window's start): the second run is
    better only on the first day after each retrain, so only age0 is positive."""
    first, second = scored(2.0, seed=1, days=9), scored(2.0, seed=1, days=9)
    fresh = ((second["date"] - DAY).dt.days % 3 == 0).to_numpy()
    second.loc[fresh, "pred"] = second.loc[fresh, "target"]
    out = paired_runs.paired({"a": first, "b": second}, age_days=3)
    assert out["age0.diff"] > 0.0 and out["age0.diff_ci_low"] > 0.0
    assert out["age1.diff"] == 0.0 == out["age2.diff"]
    assert out["age0.rows"] == out["age1.rows"] == out["age2.rows"] == len(first) / 3


def test_run_days_read_each_windows_kept_trades(tmp_path):
    with pytest.raises(runs.BenchError,
                       match="run 'full' of window jan-feb: .*/jan-feb/results_full missing"):
        paired_runs.run_days(tmp_path, "full", [WINDOW])


def test_second_minus_first_trades_sums_each_side_and_pairs_the_days():
    days = pd.date_range(DAY, periods=4, freq="D")
    out = paired_runs.second_minus_first_trades({
        "a": pd.Series([0.0, 1.0, 0.0, 0.0], index=days),
        "b": pd.Series([1.0, 1.0, 1.0, 0.5], index=days)})
    assert out["trades.a.profit_pct"] == 1.0 and out["trades.b.profit_pct"] == 3.5
    assert out["trades.diff"] == 2.5 and out["trades.diff_days"] == 4.0


def test_a_blend_of_two_independent_signals_beats_both_whatever_their_units():
    """Each side sees the target through its own noise, the second in units 1000 times
    larger: the half-and-half blend of the scaled predictions beats each side, and weight 0
    is the first side exactly."""
    first, second = scored(1.5, seed=1), scored(1.5, seed=2)
    second["pred"] *= 1000.0
    out = paired_runs.paired({"a": first, "b": second}, blends=(0.0, 0.5))
    assert out["blend0.5.ic"] > max(out["a.ic"], out["b.ic"])
    assert out["blend0.5.diff"] > 0.0 and out["blend0.5.diff_ci_low"] > 0.0
    assert out["blend0.ic"] == pytest.approx(out["a.ic"])
    assert out["blend0.diff"] == pytest.approx(0.0, abs=1e-12)


def test_a_blend_with_a_model_that_knows_nothing_costs_ic():
    informed = scored(1.0, seed=1)
    blind = informed.assign(pred=np.random.default_rng(5).standard_normal(len(informed)))
    out = paired_runs.paired({"informed": informed, "blind": blind}, blends=(0.5,))
    assert out["blend0.5.diff"] < 0.0 and out["blend0.5.diff_ci_high"] < 0.0
