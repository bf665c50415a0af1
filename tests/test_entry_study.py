"""benchmarks/entry_study.py: the pure tables behind "where do the entries come from"."""

from __future__ import annotations

import numpy as np
import pandas as pd
from benchmark_support import load_benchmark

study = load_benchmark("entry_study")


def rows(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    pred = rng.normal(0, 0.01, n)
    return pd.DataFrame({"&-s_close": pred, "expected_return": pred / 2,
                         "target": pred + rng.normal(0, 0.001, n),
                         "held": pred, "a": pred > 0, "b": np.arange(n) % 2 == 0})


def test_deciles_sort_rows_by_prediction():
    table = study.decile_table(rows())
    assert list(table["rows"]) == [10.0] * 10
    assert table["pred_pct"].is_monotonic_increasing
    assert table["target_pct"].is_monotonic_increasing  # target ~ prediction here


def test_filter_table_leaves_each_filter_out_in_turn():
    frame = rows()
    table = study.filter_table(frame, ["a", "b"])
    assert table.loc["a", "alone_rows"] == frame["a"].sum()
    assert table.loc["a", "without_rows"] == frame["b"].sum()  # every other filter: b only
    assert table.loc["b", "without_rows"] == frame["a"].sum()
    both = frame[frame["a"] & frame["b"]]
    assert table.loc["all (entry signals)", "alone_rows"] == len(both)
    assert np.isclose(table.loc["all (entry signals)", "alone_target_pct"],
                      100 * both["target"].mean())


def test_coverage_counts_pair_week_cells_with_a_trade():
    start = pd.Timestamp("2025-01-01", tz="UTC")
    end = start + pd.Timedelta(days=14)  # two 7-day blocks
    trades = pd.DataFrame({"pair": ["A", "A", "B", "A"],
                           "open_date": [start, start + pd.Timedelta(days=1),
                                         start + pd.Timedelta(days=8), end]})
    # A in block 0 (twice), B in block 1; the trade at `end` is outside: 2 of 4 cells
    assert study.coverage(trades, ["A", "B"], start, end) == 0.5
