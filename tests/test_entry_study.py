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


def test_trade_table_reads_each_result_once(tmp_path, monkeypatch):
    """One line per result folder of the window, its trade list and figures from one read of
    the result (freqtrade's statistics)."""
    import json

    candle = pd.Timedelta(hours=1)
    start = pd.Timestamp("2025-01-03", tz="UTC")
    dates = start + candle * np.arange(48)
    rows_of_run = pd.DataFrame({"pair": "A/USDT", "date": dates, "&-s_close": 0.01,
                                "target": 0.02})
    (tmp_path / "results_full").mkdir()
    (tmp_path / "config.full.json").write_text(json.dumps(
        {"freqai": {"identifier": "quality-full"}}))
    trade = {"pair": "A/USDT", "open_date": str(dates[5]), "close_date": str(dates[9]),
             "profit_ratio": 0.01, "profit_abs": 1.0, "fee_open": 0.001, "fee_close": 0.001}
    stats = {"strategy": {"SelfLearningStrategy": {
        "total_trades": 1, "profit_total": 0.001, "max_drawdown_account": 0.0,
        "profit_mean": 0.01, "trades": [trade]}}}
    reads = []
    monkeypatch.setattr(study, "read_stats", lambda folder: reads.append(folder) or stats)
    table = study.trade_table(tmp_path, {"full": rows_of_run}, ["A/USDT"], candle)
    assert reads == [tmp_path / "results_full"]
    line = table.iloc[0].to_dict()
    assert (line["run"], line["params"], line["trades"], line["entries"]) == (
        "full", "defaults", 1.0, 1.0)
    assert line["entry_realized_pct"] == 2.0 and line["pair_weeks"] == 1.0  # its one week
