"""benchmarks/quality_trades.py: two runs' trades paired day by day (daily_profit,
run_daily_profit, paired_daily, paired_trades), the statistic of quality.py's `paired_trades`
and paired_runs.py's `trades`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benchmark_support import load_benchmark

trades = load_benchmark("quality_trades")

DAY = pd.Timestamp("2025-01-03", tz="UTC")


def closed(days_and_profits: list[tuple[float, float]]) -> pd.DataFrame:
    """Trades closed `days` (a float: 1.5 is noon of the second day) after DAY, with profit_abs."""
    return pd.DataFrame({"close_date": [DAY + pd.Timedelta(days=d) for d, _ in days_and_profits],
                         "profit_abs": [p for _, p in days_and_profits]})


def daily(values, start=DAY) -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"),
                     dtype=float)


def test_daily_profit_sums_closes_per_day_in_percent_of_the_wallet_with_empty_days_zero():
    """Two closes on the first day, none on the second, one on the third: % of a 1000 wallet;
    the days sum to the run's total profit; a close after the timerange's end (the forced exit
    at its last candle's close) keeps its own day."""
    got = trades.daily_profit(closed([(0.2, 10.0), (0.9, -4.0), (2.5, 20.0), (3.0, 5.0)]),
                              1000.0, "20250103-20250106")
    assert got.tolist() == pytest.approx([0.6, 0.0, 2.0, 0.5])
    assert list(got.index) == list(pd.date_range(DAY, periods=4, freq="D"))
    assert got.sum() == pytest.approx(100 * 31.0 / 1000.0)


def test_daily_profit_of_a_run_without_trades_is_zero_every_day():
    got = trades.daily_profit(closed([]), 1000.0, "20250103-20250108")
    assert got.tolist() == [0.0] * 5


def test_run_daily_profit_joins_its_windows_each_in_percent_of_its_own_wallet():
    """Two windows of one run (quality.py's groups, paired_runs.py's kept folders): each
    window's days in % of its own starting wallet; a day both windows have adds up."""
    got = trades.run_daily_profit([
        trades.WindowTrades(closed([(0.5, 10.0), (1.5, 20.0)]), 1000.0, "20250103-20250105"),
        trades.WindowTrades(closed([(1.5, 5.0), (2.5, -10.0)]), 500.0, "20250104-20250106")])
    assert got.tolist() == pytest.approx([1.0, 2.0 + 1.0, -2.0])
    assert list(got.index) == list(pd.date_range(DAY, periods=3, freq="D"))


def result_stats(trade_rows: list[dict]) -> dict:
    """freqtrade's backtest statistics (as read_stats returns them) holding `trade_rows`."""
    return {"strategy": {"SelfLearningStrategy": {
        "starting_balance": 500.0, "total_trades": 3, "profit_total": 0.01,
        "max_drawdown_account": 0.002, "profit_mean": 0.003, "trades": trade_rows}}}


def trade_row(pair: str, opened: str, closed_at: str, profit_abs: float) -> dict:
    return {"pair": pair, "open_date": opened, "close_date": closed_at, "profit_ratio": 0.01,
            "profit_abs": profit_abs, "fee_open": 0.001, "fee_close": 0.001, "is_open": False}


def test_trade_list_is_the_results_trades_by_open_date():
    """The trades of the statistics, sorted by open date (as freqtrade's load_backtest_data
    orders them), dates as UTC nanoseconds; no trades: the same columns, empty."""
    got = trades.trade_list(result_stats([
        trade_row("B/USDT", "2025-01-04 10:00:00+00:00", "2025-01-04 14:00:00+00:00", 2.0),
        trade_row("A/USDT", "2025-01-03 10:00:00+00:00", "2025-01-03 14:00:00+00:00", 1.0)]))
    assert list(got.columns) == trades.TRADE_COLUMNS
    assert got["pair"].tolist() == ["A/USDT", "B/USDT"] and list(got.index) == [0, 1]
    assert got["profit_abs"].tolist() == [1.0, 2.0]
    assert got["open_date"].dtype == "datetime64[ns, UTC]"
    assert got["close_date"].iloc[0] == pd.Timestamp("2025-01-03 14:00", tz="UTC")
    empty = trades.trade_list(result_stats([]))
    assert empty.empty and list(empty.columns) == trades.TRADE_COLUMNS
    assert empty["open_date"].dtype == "datetime64[ns, UTC]"


def test_read_window_trades_reads_the_statistics_of_one_results_folder_once(monkeypatch):
    """Trades, wallet and freqtrade's trade figures of one folder, all from its statistics,
    read once."""
    stats = result_stats([trade_row("A/USDT", "2025-01-03 10:00:00+00:00",
                                    "2025-01-03 14:00:00+00:00", 10.0)])
    reads = []
    monkeypatch.setattr(trades, "read_stats", lambda folder: reads.append(folder) or stats)
    got = trades.read_window_trades("b", "20250103-20250105")
    assert (got.trades["profit_abs"].tolist(), got.wallet, got.timerange) == (
        [10.0], 500.0, "20250103-20250105")
    assert got.stats == pytest.approx({"trades": 3.0, "profit_pct": 1.0,
                                       "max_drawdown_pct": 0.2, "profit_mean_pct": 0.3})
    assert reads == ["b"]


def test_paired_daily_sums_first_minus_second_over_the_union_of_days():
    """A day only one run has counts 0 for the other."""
    got = trades.paired_daily(daily([1.0, 2.0, 0.0, 1.0]), daily([0.5, 0.5, 0.5]))
    assert got.total == pytest.approx(4.0 - 1.5)
    assert got.days == 4
    other_way = trades.paired_daily(daily([0.5, 0.5, 0.5]), daily([1.0, 2.0, 0.0, 1.0]))
    assert other_way.total == pytest.approx(1.5 - 4.0) and np.isfinite(other_way.low)


def test_paired_daily_jackknife_is_the_t_interval_of_the_daily_mean_times_the_days():
    """Leave-one-day-out of the mean is the classical interval: total +- t * sd * sqrt(n)."""
    from scipy.stats import t

    diff = np.array([1.0, -0.5, 2.0, 0.25, 0.0, 1.5])
    got = trades.paired_daily(daily(diff), daily(np.zeros(6)))
    half = t.ppf(0.975, 5) * diff.std(ddof=1) * np.sqrt(6)
    assert (got.jk_low, got.jk_high) == pytest.approx((diff.sum() - half, diff.sum() + half))


def test_block_bootstrap_resamples_whole_blocks_of_consecutive_days():
    """One block as long as the series: every resample is the series itself; blocks of one
    day on +1/-1 days: sums vary; blocks of two on (+1, -1) pairs: every sum is 0 as long as
    the blocks start on a pair (only start 0 or 2 of 4 days keep a pair whole)."""
    values = np.array([1.0, -1.0, 1.0, -1.0])
    assert set(trades.block_bootstrap_sums(values, 4, 200, 0)) == {0.0}
    assert len(set(trades.block_bootstrap_sums(values, 1, 200, 0))) > 1
    sums = trades.block_bootstrap_sums(np.array([3.0, 1.0, 2.0, 5.0, 4.0]), 5, 50, 1)
    assert (sums == 15.0).all()


def test_block_bootstrap_covers_the_days_in_blocks_cut_to_the_series_length():
    """Seven days in blocks of three: three blocks, cut to seven values; a constant series
    sums to 7 times it in every resample."""
    sums = trades.block_bootstrap_sums(np.full(7, 0.5), 3, 100, 0)
    assert sums == pytest.approx(np.full(100, 3.5))


def test_paired_daily_interval_covers_zero_without_an_edge_and_excludes_it_with_one():
    """Two runs whose daily profits are the same noise: about 0, the interval covers it;
    the first run makes +0.5 a day more: its interval lies above 0 (both methods)."""
    rng = np.random.default_rng(3)
    noise = daily(rng.standard_normal(60))
    same = trades.paired_daily(noise + 0.1 * daily(rng.standard_normal(60)), noise)
    assert same.low < 0.0 < same.high and same.jk_low < 0.0 < same.jk_high
    better = trades.paired_daily(noise + 0.5 + 0.1 * daily(rng.standard_normal(60)), noise)
    assert better.low > 0.0 and better.jk_low > 0.0
    assert better.block_days == 4  # round(60 ** (1/3))


def test_paired_daily_is_reproducible_and_nan_below_three_days():
    """Same inputs, same result; the bootstrap interval is the 2.5 and 97.5 percentiles of the
    resampled sums (level 0.95); fewer than 3 days: the total, no interval."""
    a, b = daily([1.0, 0.0, 2.0, -1.0, 0.5]), daily([0.0, 1.0, 0.0, 0.0, 0.0])
    assert trades.paired_daily(a, b) == trades.paired_daily(a, b)
    got = trades.paired_daily(a, b, block_days=2, resamples=500, seed=3)
    sums = trades.block_bootstrap_sums((a - b).to_numpy(), 2, 500, 3)
    assert (got.low, got.high) == pytest.approx(tuple(np.percentile(sums, [2.5, 97.5])))
    short = trades.paired_daily(daily([1.0, 2.0]), daily([0.0, 0.0]))
    assert short.total == 3.0 and np.isnan(short.low) and np.isnan(short.jk_high)


def test_paired_trades_is_full_minus_each_other_run():
    days = {"full": daily([1.0, 1.0, 1.0]), "no_online": daily([0.0, 0.0, 0.0]),
            "lightgbm": daily([2.0, 2.0, 2.0])}
    got = trades.paired_trades(days)
    assert got["paired_trades.no_online.diff"] == 3.0
    assert got["paired_trades.lightgbm.diff"] == -3.0
    assert "paired_trades.full.diff" not in got
    assert got["paired_trades.no_online.diff_days"] == 3.0
