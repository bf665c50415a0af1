"""benchmarks/quality_pair.py: the paired difference of two separate quality.py runs is taken
on the rows both scored, with the same statistic and jackknife as quality.py's own pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmark_support import load_benchmark

from self_learning.reports import evaluation as ev

pair_runs = load_benchmark("quality_pair")

DAY = pd.Timestamp("2025-01-08", tz="UTC")


def scored(ic: float, days: int = 6, n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Scored rows (quality_scoring.scored_rows' columns) whose prediction has about `ic`;
    the target and the yardstick are the same for every seed."""
    truth = np.random.default_rng(1)
    noise = np.random.default_rng(seed)
    frames = []
    for day in range(days):
        for pair in ("A/USDT", "B/USDT"):
            target = truth.standard_normal(n)
            naive = 0.1 * target + truth.standard_normal(n)
            pred = ic * target + np.sqrt(1 - ic * ic) * noise.standard_normal(n)
            dates = DAY + pd.Timedelta(days=day) + pd.to_timedelta(np.arange(n) * 5, unit="m")
            frames.append(pd.DataFrame({"pair": pair, "date": dates, "pred": pred,
                                        "do_predict": 1, "target": target, "naive": naive}))
    rows = pd.concat(frames, ignore_index=True)
    rows["day"] = rows["window"] = rows["date"].dt.floor("D")
    return rows


def test_a_better_candidate_has_a_positive_paired_difference():
    out = pair_runs.paired(scored(0.0, seed=2), scored(0.5, seed=3))
    assert out["diff"] > 0.3 and out["diff_ci_low"] > 0
    assert out["candidate.vs_naive"] > out["base.vs_naive"]
    swapped = pair_runs.paired(scored(0.5, seed=3), scored(0.0, seed=2))
    assert swapped["diff"] == pytest.approx(-out["diff"])


def test_only_rows_both_runs_scored_are_compared():
    """A day the base did not score is left out of both sides (and of the day count)."""
    base, candidate = scored(0.1, seed=2), scored(0.3, seed=3)
    first_day = base["day"] == DAY
    out = pair_runs.paired(base[~first_day], candidate)
    both = candidate[~first_day].reset_index(drop=True)
    assert out["rows"] == len(both) and out["days"] == 5
    rows = both.assign(base=base.loc[~first_day, "pred"].to_numpy(), candidate=both["pred"])
    want = ev.paired_jackknife(rows, "candidate", "base")
    assert out["diff"] == pytest.approx(want.value)
    assert out["diff_ci_low"] == pytest.approx(want.low)
    assert out["candidate.ic"] == pytest.approx(ev.day_jackknife(rows, "candidate").value)
