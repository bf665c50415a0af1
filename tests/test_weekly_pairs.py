"""Does the strategy trade every week on most pairs: quality_trades.weekly_pairs (calendar
weeks of each window, pairs that opened a trade, weeks with more than half of the pairs), its
keys in quality.py's score_group and benchmarks/weekly_pairs.py on a kept folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from benchmark_support import load_benchmark

quality = load_benchmark("quality")
runs = sys.modules["backtest_runs"]
plan = sys.modules["quality_plan"]
sets = sys.modules["quality_sets"]
trades = load_benchmark("quality_trades")
weekly = load_benchmark("weekly_pairs")

PAIRS = ["A/USDT", "B/USDT", "C/USDT", "D/USDT"]


def opened(*rows: tuple[str, str]) -> pd.DataFrame:
    """Trades (pair, open date) as trade_list gives them."""
    return pd.DataFrame({"pair": [p for p, _ in rows],
                         "open_date": pd.to_datetime([d for _, d in rows], utc=True
                                                     ).astype("datetime64[ns, UTC]")})


def window(frame: pd.DataFrame, timerange: str, count: float = 0.0) -> object:
    return trades.WindowTrades(frame, 1000.0, timerange, {"trades": count})


def test_weeks_are_utc_mondays_counted_with_four_days_in_the_window():
    """20250301-20250426 starts on a Saturday: the week of 24 Feb has 2 days in it and does not
    count (a trade opened then counts nowhere), the week of 21 Apr has 5 (to the exclusive end)
    and counts. Thursday to Sunday (4 days) counts, Friday to Sunday (3) does not."""
    weeks = trades.counted_weeks("20250301-20250426")
    assert [f"{w:%Y-%m-%d}" for w in weeks] == [
        "2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24", "2025-03-31", "2025-04-07",
        "2025-04-14", "2025-04-21"]
    assert len(trades.counted_weeks("20250102-20250106")) == 1
    assert len(trades.counted_weeks("20250103-20250106")) == 0


def test_pairs_per_week_counts_each_pair_once_at_the_week_boundaries():
    """Sunday 23:59 belongs to the week before Monday 00:00; a pair trading twice in a week
    counts once; trades before the first counted week or at the window's end count nowhere."""
    frame = opened(("A/USDT", "2025-03-02 12:00"),   # Sunday of the 2-day first week
                   ("A/USDT", "2025-03-03 00:00"), ("A/USDT", "2025-03-05 10:00"),
                   ("B/USDT", "2025-03-09 23:59"),   # still the week of 3 March
                   ("C/USDT", "2025-03-10 00:00"),   # the next week
                   ("D/USDT", "2025-04-25 23:00"),   # the last (5-day) week
                   ("A/USDT", "2025-04-26 00:00"))   # the exclusive end: A not counted
    got = trades.pairs_per_week(frame, "20250301-20250426")
    assert got.tolist() == [2, 1, 0, 0, 0, 0, 0, 1]
    assert got.index[0] == pd.Timestamp("2025-03-03", tz="UTC")


def test_coverage_counts_pair_week_cells_with_a_trade():
    """entry_study's `pair_weeks`: 7-day blocks from the window's first candle, not calendar
    weeks."""
    start = pd.Timestamp("2025-01-01", tz="UTC")
    end = start + pd.Timedelta(days=14)  # two 7-day blocks
    frame = pd.DataFrame({"pair": ["A", "A", "B", "A"],
                          "open_date": [start, start + pd.Timedelta(days=1),
                                        start + pd.Timedelta(days=8), end]})
    # A in block 0 (twice), B in block 1; the trade at `end` is outside: 2 of 4 cells
    assert trades.pair_week_coverage(frame, ["A", "B"], start, end) == 0.5


def test_most_pairs_means_more_than_half():
    """Of 4 pairs, a week with 2 trading pairs is not "most pairs", 3 is (>= half would count
    the first week too)."""
    frame = opened(("A/USDT", "2025-03-03"), ("B/USDT", "2025-03-04"),
                   ("A/USDT", "2025-03-10"), ("B/USDT", "2025-03-11"), ("C/USDT", "2025-03-12"))
    got = trades.weekly_pairs([window(frame, "20250303-20250317")], PAIRS)
    assert got.per_week.tolist() == [2, 3]
    assert got.most_pairs == 1
    assert got.as_dict() == {"weeks": 2.0, "weeks_most_pairs": 1.0,
                             "pairs_week.2025-03-03": 2.0, "pairs_week.2025-03-10": 3.0}
    odd = trades.weekly_pairs([window(frame, "20250303-20250317")], PAIRS[:3])
    assert odd.most_pairs == 2  # of 3 pairs, 2 are more than half


def test_windows_are_kept_apart_and_must_not_share_a_week():
    """The 5m holdout's windows (mar, apr): each its own weeks (2 counted each), in time
    order, whatever the order given; overlapping windows are an error. Pairs outside the run's
    do not count."""
    mar = window(opened(("A/USDT", "2025-03-20"), ("E/USDT", "2025-03-21")), "20250319-20250402")
    apr = window(opened(("B/USDT", "2025-04-22")), "20250415-20250429")
    got = trades.weekly_pairs([apr, mar], PAIRS)
    assert [f"{w:%m-%d}" for w in got.per_week.index] == ["03-17", "03-24", "04-14", "04-21"]
    assert got.per_week.tolist() == [1, 0, 0, 1]
    with pytest.raises(ValueError, match="share a counted week"):
        trades.weekly_pairs([mar, window(mar.trades, "20250320-20250403")], PAIRS)


def test_score_group_reports_the_weeks_of_every_model_and_ablation_row(monkeypatch):
    """trades.<model>.weeks, weeks_most_pairs and pairs_week.<date>, and ablation.<row>.weeks
    and weeks_most_pairs, from the trades read once per window."""
    w = sets.Window("mar", "20250303-20250317", "holdout")
    names = ["full", "lightgbm", "no_online"]
    group = [{n: plan.Run(w, runs.RunResult(runs.RunSpec(n, "X"), Path("m"), "", Path(n), 1.0,
                                            None)) for n in names}]
    frame = opened(*[(p, "2025-03-04 10:00") for p in PAIRS[:3]], ("A/USDT", "2025-03-11 10:00"))
    frame = frame.assign(close_date=frame["open_date"], profit_abs=0.0, fee_open=0.001,
                         fee_close=0.001)
    monkeypatch.setattr(plan, "read_window_trades", lambda folder, timerange: trades.WindowTrades(
        frame, 1000.0, timerange, {"trades": 4.0, "profit_pct": 0.0, "max_drawdown_pct": 0.0}))
    scored = pd.DataFrame({"pair": [], "date": trades.EMPTY_DATES, "pred": [], "target": []})
    monkeypatch.setattr(plan, "group_rows", lambda g, p, truth: {n: scored for n in names})
    for quiet in ("score_models", "score_ablation", "hold_figures"):
        monkeypatch.setattr(plan, quiet, lambda *a, **k: {})
    for quiet in ("print_ablation", "print_tables", "print_paired_trades"):
        monkeypatch.setattr(plan, quiet, lambda *a, **k: None)
    p = plan.Plan("t", Path("d"), PAIRS, "USDT", sets.TIMEFRAMES["1h"], [w], None)
    out = plan.score_group(p, group, {}, 4)
    assert out["trades.self_learning.weeks"] == 2.0
    assert out["trades.lightgbm.weeks_most_pairs"] == 1.0
    assert out["trades.self_learning.pairs_week.2025-03-10"] == 1.0
    assert out["ablation.no_online.weeks_most_pairs"] == 1.0
    assert out["trades.self_learning.trades"] == 4.0  # the existing keys as they were


def test_script_reads_every_run_of_every_window_folder(tmp_path, monkeypatch, capsys):
    """weekly_pairs.py --from KEPT: each results_<run> of each window folder, its pairs from
    the run's config, the timerange freqtrade ran; the table, then the JSON line."""
    ranges = {"mar": "20250319-20250402", "apr": "20250415-20250429"}
    for name in ranges:
        folder = tmp_path / name
        (folder / "results_full").mkdir(parents=True)
        for run in ("full",):
            (folder / f"config.{run}.json").write_text(json.dumps(
                {"exchange": {"pair_whitelist": PAIRS}}))
    trading = {"mar": opened(*[(p, "2025-03-20") for p in PAIRS]),
               "apr": opened(("A/USDT", "2025-04-16"))}
    monkeypatch.setattr(weekly, "read_window_trades", lambda results: window(
        trading[results.parent.name], ranges[results.parent.name],
        float(len(trading[results.parent.name]))))
    assert weekly.main(["--from", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    line = json.loads(printed[-1])
    assert line["full.trades"] == 5.0
    assert line["full.weeks"] == 4.0 and line["full.weeks_most_pairs"] == 1.0
    assert [line[f"full.pairs_week.2025-{d}"] for d in ("03-17", "03-24", "04-14", "04-21")
            ] == [4.0, 0.0, 1.0, 0.0]
    assert line["windows"] == sorted(ranges.values())
    assert any(row.startswith("full") and "1 of 4" in row for row in printed)
