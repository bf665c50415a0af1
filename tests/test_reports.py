"""reports/backtest.py: the demo's headline and per-window IC of the model against the
yardstick."""

import numpy as np
import pandas as pd
import pytest

from self_learning.reports.backtest import headline, per_window
from self_learning.reports.evaluation import day_jackknife, spearman_ic


def rows(seed: int, sign_day_two: float, days: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 288 * days
    dates = pd.date_range("2025-01-01", periods=n, freq="5min", tz="UTC")
    target = rng.normal(size=n)
    model = np.where(dates.day == 1, target, sign_day_two * target)
    naive = rng.normal(size=n)
    usable = np.ones(n, dtype=bool)
    usable[:10] = False
    naive[10:20] = np.nan  # a yardstick without its SMA yet: not scored
    return pd.DataFrame({"date": dates, "&-s_close": model, "naive": naive, "target": target,
                         "usable": usable})


def test_per_window_averages_each_days_ic_over_pairs_on_usable_rows():
    data = {"A/BTC": rows(1, -1.0), "B/BTC": rows(2, 1.0)}
    got = per_window(data)
    assert [str(d) for d in got.index] == ["2025-01-01", "2025-01-02"]
    assert got.loc[got.index[0], "model"] == pytest.approx(1.0)
    assert got.loc[got.index[1], "model"] == pytest.approx(0.0)  # -1 and +1 averaged
    day_one = [r[(r["date"].dt.day == 1) & r["usable"] & np.isfinite(r["naive"])]
               for r in data.values()]
    want = np.mean([spearman_ic(r["naive"], r["target"]) for r in day_one])
    assert got.loc[got.index[0], "naive"] == pytest.approx(want)


def test_headline_is_the_benchmarks_jackknifed_pooled_ic_on_rows_both_score():
    """The model equals the target on day 1 and on later days (sign +1): pooled IC 1 with a
    zero-width interval; the yardstick (noise) is scored on the same rows, and the paired
    difference is the two headlines' difference."""
    data = {"A/BTC": rows(1, 1.0, days=4), "B/BTC": rows(2, 1.0, days=4)}
    got = headline(data)
    assert got["model"].value == pytest.approx(1.0) and got["model"].se == pytest.approx(0.0)
    scored = pd.concat([r[r["usable"] & np.isfinite(r["naive"])].assign(pair=p)
                        for p, r in data.items()])
    scored["day"] = scored["date"].dt.floor("D")
    assert got["naive"].value == pytest.approx(day_jackknife(scored, "naive").value)
    assert got["model_minus_naive"].plain == pytest.approx(1.0 - got["naive"].plain)
