"""Trades beside the signal in benchmarks/quality.py: what freqtrade's trades of a model made,
whether its entries realized what they predicted, and buy-and-hold of the same pairs.

* `entry_quality`: per trade, the candle whose close gave the entry signal (the candle before
  the entry's open), its prediction and its realized `&-s_close` (the target); means in %.
  An entry rule that works realizes at least the round-trip fee on average.
* `buy_and_hold`: an equal-weight portfolio of the pairs bought at the first candle's open of
  the timerange and sold at the last close, after the round-trip fee; max drawdown of its
  value, candle by candle.
* `combine`: the figures of several windows (each backtest starts with a fresh wallet): sums
  of trades and profits, the largest drawdown, entry means weighted by entries.
* `weekly_pairs`: does the strategy trade every week on most pairs? Per calendar week (UTC,
  Monday to Sunday) of each window, the pairs that opened at least one trade in it, and the
  weeks in which more than half of the pairs did. A week counts only with at least
  MIN_WEEK_DAYS of its days in the window (a trade opened in a shorter first or last week
  counts nowhere), so two windows that do not overlap never share a counted week.
  `pair_week_coverage` (entry_study's `pair_weeks`) counts the same pairs per week in 7-day
  blocks from a window's first candle instead: the share of (pair, block) cells with a trade.
* `daily_profit` (`run_daily_profit` over windows) and `paired_daily`: two runs' trades
  compared day by day. A day's profit is the `profit_abs` of the trades closed that UTC day, in
  % of the window's starting wallet (0 on a day without a close). Over a window these days sum
  exactly to freqtrade's `profit_total` (the wallet's final minus starting balance),
  compounding included, and windows add up like `combine`'s profit. Realized profit rather than
  a marked-to-market daily equity: freqtrade's result file holds no open positions' daily
  value, and the strategy's trades last hours. `paired_daily` sums first - second over the
  days, with a moving-block bootstrap interval over days (neighbouring days share open trades
  and the compounded wallet) and the leave-one-day-out jackknife of
  self_learning.reports.evaluation.
Pure pandas; `read_window_trades` reads a result (freqtrade's own file) once into a
`WindowTrades`: from its statistics its trade list (`trade_list`), the starting wallet and
freqtrade's trade figures (backtest_runs.trade_stats).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import read_stats, strategy_stats, trade_stats
from quality_sets import timerange_bounds

from self_learning.reports import evaluation as ev

MIN_WEEK_DAYS = 4  # days of a calendar week inside a window for weekly_pairs to count it
WEEK = pd.Timedelta(days=7)  # pair_week_coverage's blocks
FALLBACK_FEE = 0.001  # Binance spot taker fee, per side, when no trade tells it
TRADE_COLUMNS = ["pair", "open_date", "close_date", "profit_ratio", "profit_abs", "fee_open",
                 "fee_close"]
EMPTY_DATES = pd.DatetimeIndex([], tz="UTC").astype("datetime64[ns, UTC]")


def trade_list(stats: dict) -> pd.DataFrame:
    """pair, open_date, close_date, profit_ratio, profit_abs, fee_open, fee_close of the trades
    in freqtrade's backtest statistics (backtest_runs.read_stats), by open date (the order of
    freqtrade's load_backtest_data, which would read the file again)."""
    trades = pd.DataFrame(strategy_stats(stats)["trades"])
    if trades.empty:
        return pd.DataFrame({"pair": [], "open_date": EMPTY_DATES, "close_date": EMPTY_DATES,
                             **{c: [] for c in TRADE_COLUMNS[3:]}})
    for column in ("open_date", "close_date"):
        trades[column] = pd.to_datetime(trades[column], utc=True)
    trades = trades.sort_values("open_date").reset_index(drop=True)
    for column in ("open_date", "close_date"):
        trades[column] = trades[column].astype("datetime64[ns, UTC]")
    return trades[TRADE_COLUMNS]


def wallet(stats: dict) -> float:
    """The starting balance of the strategy whose trades trade_list reads, from its
    statistics."""
    return float(strategy_stats(stats)["starting_balance"])


def round_trip_fee(trades: pd.DataFrame) -> float:
    """Entry plus exit fee rate of the trades (their mean), else twice FALLBACK_FEE."""
    if trades.empty:
        return 2 * FALLBACK_FEE
    return float((trades["fee_open"].astype(float) + trades["fee_close"].astype(float)).mean())


def entry_quality(trades: pd.DataFrame, rows: pd.DataFrame, candle: pd.Timedelta
                  ) -> dict[str, float]:
    """entries (trades whose signal candle was scored), entry_pred_pct (mean prediction at the
    signal), entry_realized_pct (mean realized target there), fee_round_trip_pct."""
    signals = trades.assign(date=trades["open_date"] - candle)[["pair", "date"]]
    matched = signals.merge(rows[["pair", "date", "pred", "target"]], on=["pair", "date"])
    return {"entries": float(len(matched)),
            "entry_pred_pct": 100 * float(matched["pred"].mean()) if len(matched) else np.nan,
            "entry_realized_pct": (100 * float(matched["target"].mean()) if len(matched)
                                   else np.nan),
            "fee_round_trip_pct": 100 * round_trip_fee(trades)}


def buy_and_hold(candles: dict[str, pd.DataFrame], timerange: str, fee: float
                 ) -> dict[str, float]:
    """profit_pct and max_drawdown_pct of the equal-weight buy-and-hold over `timerange`
    (YYYYMMDD-YYYYMMDD, end exclusive), after the round-trip `fee` (a rate)."""
    begin, end = timerange_bounds(timerange)
    values = []
    for frame in candles.values():
        part = frame[(frame["date"] >= begin) & (frame["date"] < end)]
        if part.empty:
            raise ValueError(f"no candles in {timerange}")
        values.append(part.set_index("date")["close"] / float(part["open"].iloc[0]))
    value = pd.concat(values, axis=1).ffill().mean(axis=1)
    drawdown = 1 - value / value.cummax()
    return {"profit_pct": 100 * (float(value.iloc[-1]) * (1 - fee / 2) * (1 - fee / 2) - 1),
            "max_drawdown_pct": 100 * float(drawdown.max())}


def combine(parts: list[dict[str, float]]) -> dict[str, float]:
    """The figures of several windows: trades, entries and profit summed, drawdown the largest,
    entry means and mean profit per trade weighted by their counts."""
    if len(parts) == 1:
        return dict(parts[0])
    out: dict[str, float] = {}
    for key in ("trades", "entries", "profit_pct"):
        if all(key in p for p in parts):
            out[key] = float(sum(p[key] for p in parts))
    out["max_drawdown_pct"] = float(max(p["max_drawdown_pct"] for p in parts))
    for key, weight in (("entry_pred_pct", "entries"), ("entry_realized_pct", "entries"),
                        ("profit_mean_pct", "trades"), ("fee_round_trip_pct", "trades")):
        pairs = [(p[key], p[weight]) for p in parts
                 if key in p and weight in p and p[weight] > 0 and np.isfinite(p[key])]
        total = sum(w for _, w in pairs)
        out[key] = float(sum(v * w for v, w in pairs) / total) if total else np.nan
    return out


def window_days(timerange: str) -> pd.DatetimeIndex:
    """The UTC days of `timerange` (YYYYMMDD-YYYYMMDD, end exclusive)."""
    return pd.date_range(*timerange_bounds(timerange), freq="D", inclusive="left"
                         ).astype("datetime64[ns, UTC]")


def daily_profit(trades: pd.DataFrame, wallet: float, timerange: str) -> pd.Series:
    """Per UTC day of `timerange` (and any later day a trade closed, e.g. the forced exit at
    its end), the `profit_abs` of the trades closed that day in % of `wallet`; 0 without one."""
    closes = pd.to_datetime(trades["close_date"], utc=True).dt.floor("D")
    by_day = trades["profit_abs"].astype(float).groupby(closes).sum()
    days = window_days(timerange).union(by_day.index)
    return (100 * by_day / wallet).reindex(days, fill_value=0.0)


@dataclass(frozen=True)
class WindowTrades:
    """One backtest of one window as freqtrade's result file tells it, read once: its trades
    (trade_list), its starting wallet, the window's timerange and freqtrade's trade
    figures (backtest_runs.trade_stats)."""

    trades: pd.DataFrame
    wallet: float
    timerange: str
    stats: dict[str, float] = field(default_factory=dict)


def read_window_trades(results_dir: Path, timerange: str | None = None) -> WindowTrades:
    """The trades, starting wallet and trade figures of the newest backtest result in
    `results_dir` (its statistics read once); the timerange, when not given, the one
    freqtrade ran (its statistics' `timerange`)."""
    stats = read_stats(results_dir)
    return WindowTrades(trade_list(stats), wallet(stats),
                        timerange or strategy_stats(stats)["timerange"], trade_stats(stats))


def week_start(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The Monday 00:00 UTC starting the calendar week of each date."""
    days = dates.floor("D")
    return days - pd.to_timedelta(days.day_of_week, unit="D")


def counted_weeks(timerange: str) -> pd.DatetimeIndex:
    """The starts (week_start) of the calendar weeks with at least MIN_WEEK_DAYS of their days
    in `timerange` (YYYYMMDD-YYYYMMDD, end exclusive)."""
    days_in = pd.Series(1, index=week_start(window_days(timerange))).groupby(level=0).sum()
    return days_in.index[days_in >= MIN_WEEK_DAYS]


def pairs_opening(trades: pd.DataFrame, begin: pd.Timestamp, end: pd.Timestamp,
                  week_of: Callable[[pd.Series], pd.Series | pd.Index]) -> pd.Series:
    """Per week (`week_of`: the week of each open date), how many pairs opened at least one
    trade of `trades` (pair, open_date) from `begin` to `end` (exclusive); a week without a
    trade is absent."""
    opened = trades[(trades["open_date"] >= begin) & (trades["open_date"] < end)]
    return opened["pair"].groupby(week_of(opened["open_date"])).nunique()


def pairs_per_week(trades: pd.DataFrame, timerange: str) -> pd.Series:
    """Per counted week of `timerange` (counted_weeks): how many pairs opened at least one
    trade of `trades` (pair, open_date) in that week and window."""
    begin, end = timerange_bounds(timerange)
    per_week = pairs_opening(trades, begin, end,
                             lambda dates: week_start(pd.DatetimeIndex(dates)))
    return per_week.reindex(counted_weeks(timerange), fill_value=0).astype(int)


def pair_week_coverage(trades: pd.DataFrame, pairs: list[str], start: pd.Timestamp,
                       end: pd.Timestamp) -> float:
    """Share of the (pair, 7-day block from `start`) cells up to `end` holding a trade's open:
    pairs_opening per block, the last block counted whole even when `end` cuts it."""
    blocks = max(1, int(np.ceil((end - start) / WEEK)))
    per_block = pairs_opening(trades, start, end, lambda dates: (dates - start) // WEEK)
    return int(per_block.sum()) / (len(pairs) * blocks)


@dataclass(frozen=True)
class WeeklyPairs:
    """Pairs that opened a trade, per counted week of a run's windows (week start -> count, in
    time order), out of `pairs` pairs."""

    per_week: pd.Series
    pairs: int

    @property
    def most_pairs(self) -> int:
        """The weeks in which most pairs, more than half of them, opened a trade."""
        return int((2 * self.per_week > self.pairs).sum())

    def as_dict(self) -> dict[str, float]:
        """weeks (counted), weeks_most_pairs and pairs_week.<YYYY-MM-DD> (the week's Monday)."""
        return {"weeks": float(len(self.per_week)), "weeks_most_pairs": float(self.most_pairs),
                **{f"pairs_week.{week:%Y-%m-%d}": float(n) for week, n in self.per_week.items()}}


def weekly_pairs(windows: list[WindowTrades], pairs: list[str]) -> WeeklyPairs:
    """pairs_per_week of each window of a run (its own trades, its own weeks), in time order,
    counting the trades of `pairs` only. Windows whose counted weeks meet (overlapping
    windows) are an error."""
    parts = [pairs_per_week(w.trades[w.trades["pair"].isin(pairs)], w.timerange)
             for w in windows]
    per_week = pd.concat(parts).sort_index() if parts else pd.Series(dtype=int)
    if per_week.index.has_duplicates:
        raise ValueError(f"windows {[w.timerange for w in windows]} share a counted week")
    return WeeklyPairs(per_week, len(pairs))


def run_daily_profit(windows: list[WindowTrades]) -> pd.Series:
    """One run's daily_profit over several windows, each starting with its own wallet; a day
    two windows share sums."""
    parts = [daily_profit(w.trades, w.wallet, w.timerange) for w in windows]
    return pd.concat(parts).groupby(level=0).sum()


@dataclass(frozen=True)
class DailyDiff:
    """first - second summed over the days (% of the starting wallet), its moving-block
    bootstrap interval [low, high] and its jackknife interval [jk_low, jk_high] (Student t)."""

    total: float
    low: float
    high: float
    jk_low: float
    jk_high: float
    days: int
    block_days: int

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {prefix: self.total, f"{prefix}_ci_low": self.low, f"{prefix}_ci_high": self.high,
                f"{prefix}_jk_ci_low": self.jk_low, f"{prefix}_jk_ci_high": self.jk_high,
                f"{prefix}_days": float(self.days), f"{prefix}_block_days": float(self.block_days)}


def block_bootstrap_sums(values: np.ndarray, block: int, resamples: int, seed: int
                         ) -> np.ndarray:
    """Sums of `resamples` moving-block resamples of `values` (in time order): blocks of
    `block` consecutive values, starts drawn uniformly, joined and cut to len(values)."""
    n = len(values)
    blocks = -(-n // block)
    starts = np.random.default_rng(seed).integers(0, n - block + 1, size=(resamples, blocks))
    index = (starts[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :n]
    return values[index].sum(axis=1)


def paired_daily(first: pd.Series, second: pd.Series, block_days: int | None = None,
                 resamples: int = 4000, seed: int = 0, level: float = 0.95) -> DailyDiff:
    """Sum over the days of first - second (daily_profit series; a day only one has counts 0
    for the other). Interval: percentile of a moving-block bootstrap (`block_days`, default
    round(days ** (1/3)), at least 1) and the leave-one-day-out jackknife of the daily mean,
    times the days."""
    days = first.index.union(second.index)
    diff = (first.reindex(days, fill_value=0.0) - second.reindex(days, fill_value=0.0)
            ).to_numpy(dtype=float)
    n = len(diff)
    nan = float("nan")
    if n < 3:
        return DailyDiff(float(diff.sum()), nan, nan, nan, nan, n, 0)
    block = min(n, block_days or max(1, round(n ** (1 / 3))))
    sums = block_bootstrap_sums(diff, block, resamples, seed)
    tail = 100 * (1 - level) / 2
    mean = diff.mean()
    estimate = ev.jackknife(mean, (diff.sum() - diff) / (n - 1), level)
    return DailyDiff(float(diff.sum()), float(np.percentile(sums, tail)),
                     float(np.percentile(sums, 100 - tail)), n * estimate.low,
                     n * estimate.high, n, block)


def paired_trades(days: dict[str, pd.Series], base: str = "full") -> dict[str, float]:
    """`paired_trades.<run>.diff` (+ intervals, paired_daily's keys): `base` minus each other
    run, their daily_profit series summed over the days (percentage points of the wallet)."""
    out: dict[str, float] = {}
    for name, series in days.items():
        if name != base:
            out.update(paired_daily(days[base], series).as_dict(f"paired_trades.{name}.diff"))
    return out
