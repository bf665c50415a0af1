"""benchmarks/entry_study.py and entry_runs.py: the pure tables behind "where do the entries
come from" and "entry timing within a run of signals"."""

from __future__ import annotations

import numpy as np
import pandas as pd
from benchmark_support import load_benchmark

study = load_benchmark("entry_study")
runs = load_benchmark("entry_runs")


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


def test_run_positions_count_within_each_run_of_signals():
    signal = np.array([True, True, False, True, True, True, False, False, True])
    assert list(runs.run_positions(signal)) == [1, 2, 0, 1, 2, 3, 0, 0, 1]
    assert list(runs.run_positions(np.zeros(3, dtype=bool))) == [0, 0, 0]


def test_mark_taken_matches_trades_to_the_candle_before_their_open():
    hour = pd.Timedelta(hours=1)
    start = pd.Timestamp("2025-01-01", tz="UTC")
    frame = pd.DataFrame({"pair": ["A", "A", "B"], "date": [start, start + hour, start]})
    trades = pd.DataFrame({"pair": ["A", "B"], "open_date": [start + hour, start + 2 * hour]})
    assert list(runs.mark_taken(frame, trades, hour)) == [True, False, False]


def signal_rows(days: int = 6) -> pd.DataFrame:
    """Per day, one run of 5 signal candles (positions 1-5) and one non-signal candle; the
    first candle of each run realizes -1 %, the later ones +1 % (+ small wobbles); the
    run's first candle fell on even days, the one before it too every fourth day; trades
    entered on positions 1 and 4."""
    lines = []
    for day in range(days):
        start = pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=day)
        for k in range(6):
            value = -0.01 + 0.001 * (day % 3) if k == 0 else 0.01 + 0.001 * ((day + k) % 2)
            lines.append({"date": start + pd.Timedelta(hours=k), "signal": k < 5,
                          "run_position": k + 1 if k < 5 else 0, "target": value,
                          "held_open": 2 * value, "taken": k in (0, 3),
                          "candle_return": -0.01 if day % 2 == 0 else 0.01,
                          "previous_return": -0.01 if day % 4 == 0 else 0.01})
    return pd.DataFrame(lines)


def test_run_table_means_by_position_with_day_jackknife_interval():
    frame = signal_rows()
    table = runs.run_table(frame)
    assert table.loc["all signals", "rows"] == 30  # the non-signal candles are left out
    assert table.loc["position 1", "rows"] == 6
    assert table.loc["position 3", "rows"] == 6
    assert table.loc["position 4+", "rows"] == 12  # positions 4 and 5
    assert table.loc["position 2+", "rows"] == 24
    assert table.loc["position 1, candle fell", "rows"] == 3
    assert table.loc["position 1, it and the one before fell", "rows"] == 2  # days 0 and 4
    assert table.loc["taken by a trade", "rows"] == 12
    assert table.loc["taken, position 2+", "rows"] == 6
    assert table.loc["not taken", "rows"] == 18
    first = frame[(frame["run_position"] == 1)]
    assert np.isclose(table.loc["position 1", "target_pct"], 100 * first["target"].mean())
    assert np.isclose(table.loc["position 1", "held_open_pct"],
                      100 * first["held_open"].mean())
    later = frame[frame["run_position"] >= 2]
    diff = table.loc["position 2+ - position 1"]
    assert np.isclose(diff["target_pct"], 100 * (later["target"].mean() - first["target"].mean()))
    assert diff["target_low"] < diff["target_pct"] < diff["target_high"]
    assert diff["target_low"] > 0  # +2 points every day: outside the noise
    line = table.loc["position 3"]
    assert line["target_low"] < line["target_pct"] < line["target_high"]


def test_day_mean_leaves_out_one_day_at_a_time():
    days = pd.Series(np.repeat(np.arange(4), 2))
    values = pd.Series([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0])
    estimate = runs.day_mean(values, days, np.arange(4))
    assert estimate.plain == 2.5 and estimate.days == 4
    # deleted means 3, 2.667, 2.333, 2: se sqrt(3/4 * sum((d - 2.5)^2)) = sqrt(3/4 * 5/9)
    assert np.isclose(estimate.se, np.sqrt(0.75 * (0.25 + 1 / 36) * 2))


def test_held_from_next_open_enters_at_the_next_open_and_exits_h_candles_later():
    opens = pd.Series([1.0, 2.0, 3.0, 4.0, 6.0])
    held = runs.held_from_next_open(opens, 2)
    assert np.isclose(held[0], 4.0 / 2.0 - 1)  # signal at 0: in at open 1, out at open 3
    assert np.isclose(held[1], 6.0 / 3.0 - 1)
    assert held[2:].isna().all()


def test_trade_table_reads_each_result_once(tmp_path, monkeypatch):
    """One line per result folder of the window, its trade list and figures from one read of
    the result (freqtrade's statistics, read_results; the trades a run took come from the same
    read)."""
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
    results = study.read_results(tmp_path)
    table = study.trade_table(tmp_path, results, {"full": rows_of_run}, ["A/USDT"], candle)
    assert reads == [tmp_path / "results_full"]  # read once, by read_results only
    line = table.iloc[0].to_dict()
    assert (line["run"], line["params"], line["trades"], line["entries"]) == (
        "full", "defaults", 1.0, 1.0)
    assert line["entry_realized_pct"] == 2.0 and line["pair_weeks"] == 1.0  # its one week


def test_side_table_signs_each_side_and_charges_the_round_trip():
    """Long first-of-run signals realize +1 %, the mirrored short ones see the price fall 3 %
    (a short gains 3 %); later candles of a run are not counted; both sides pool."""
    start = pd.Timestamp("2025-01-01", tz="UTC")
    lines = []
    for day in range(4):
        for k in range(4):
            long_first, short_first = k == 0, k == 2
            lines.append({"date": start + pd.Timedelta(days=day, hours=k),
                          "signal": k in (0, 1), "run_position": {0: 1, 1: 2}.get(k, 0),
                          "short_signal": k in (2, 3), "short_run_position": {2: 1, 3: 2}.get(k, 0),
                          "held_open": 0.01 if long_first else -0.03 if short_first else 0.5})
    table = runs.side_table(pd.DataFrame(lines), 0.002)
    assert table.loc["long", "rows"] == 4 and table.loc["short (mirror)", "rows"] == 4
    assert np.isclose(table.loc["long", "net_pct"], 0.8)            # 1 % - 0.2 %
    assert np.isclose(table.loc["short (mirror)", "net_pct"], 2.8)  # -(-3 %) - 0.2 %
    assert np.isclose(table.loc["both sides", "net_pct"], 1.8)
    assert table.loc["both sides", "rows"] == 8
