"""Entry signals by their place in a run of consecutive signal candles of a pair (the "runs"
tables of entry_study.py): freqtrade holds one trade per pair, so a trade takes the first
candle of a run; do the later candles, or the first ones after a fall, realize more? Pure
pandas over entry_study's rows; the intervals are leave-one-day-out jackknifes
(self_learning.reports.evaluation.jackknife)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from self_learning.reports import evaluation as ev

LAST_POSITION = 4  # run positions 1, 2, 3 and 4+ (run_table)


def held_from_next_open(opens: pd.Series, horizon: int) -> pd.Series:
    """open[t+1+H] / open[t+1] - 1 at row t: a trade entered at the next open on row t's
    signal and closed by the time exit H candles later (at that candle's open)."""
    return opens.shift(-1 - horizon) / opens.shift(-1) - 1


def run_positions(signal: np.ndarray) -> np.ndarray:
    """The position of each row in its run of consecutive True values of `signal` (rows in
    time order): 1 for a run's first row, 2 for the next, ...; 0 where `signal` is False."""
    signal = np.asarray(signal, dtype=bool)
    count = np.cumsum(signal)
    before_run = np.maximum.accumulate(np.where(signal, 0, count))
    return np.where(signal, count - before_run, 0)


def mark_taken(rows: pd.DataFrame, trades: pd.DataFrame, candle: pd.Timedelta) -> pd.Series:
    """Whether a trade of `trades` entered on each row (its signal candle: the candle before
    the trade's open, of the same pair)."""
    entered = set(zip(trades["pair"], trades["open_date"] - candle, strict=True))
    return pd.Series([(p, d) in entered for p, d in zip(rows["pair"], rows["date"],
                                                        strict=True)], index=rows.index)


def left_out_means(values: pd.Series, days: pd.Series, every_day: np.ndarray
                   ) -> tuple[float, np.ndarray]:
    """The mean of `values`, and its mean with each day of `every_day` left out in turn (a
    day without rows leaves the mean as it is): the inputs of ev.jackknife."""
    return float(values.mean()), np.array([values[days != d].mean() for d in every_day])


def day_mean(values: pd.Series, days: pd.Series, every_day: np.ndarray) -> ev.Estimate:
    """The mean of `values` and its leave-one-day-out jackknife over `every_day`."""
    return ev.jackknife(*left_out_means(values, days, every_day))


def position_groups(signals: pd.DataFrame) -> dict[str, pd.Series]:
    """The groups of signal rows run_table reports (name -> mask)."""
    position = signals["run_position"]
    first = position == 1
    groups = {"all signals": position > 0}
    for k in range(1, LAST_POSITION):
        groups[f"position {k}"] = position == k
    groups[f"position {LAST_POSITION}+"] = position >= LAST_POSITION
    groups["position 2+"] = position >= 2
    groups["position 1, candle fell"] = first & (signals["candle_return"] < 0)
    groups["position 1, candle rose"] = first & (signals["candle_return"] >= 0)
    groups["position 1, it and the one before fell"] = (
        first & (signals["candle_return"] < 0) & (signals["previous_return"] < 0))
    if "taken" in signals.columns:
        groups["taken by a trade"] = signals["taken"]
        groups["taken, position 2+"] = signals["taken"] & (position >= 2)
        groups["not taken"] = ~signals["taken"]
    return groups


SIDES = {"long": ("signal", "run_position", 1.0),
         "short (mirror)": ("short_signal", "short_run_position", -1.0)}


def side_table(rows: pd.DataFrame, round_trip: float) -> pd.DataFrame:
    """The other half of the prediction: per side of SIDES, the first candles of its runs of
    signals (what one trade per pair takes; the short side's signals are the strategy's entry
    rules on the negated prediction), their rows and the mean of what the side realizes after
    the round trip of fees, sign * `held_open` - `round_trip`, in %, with a leave-one-day-out
    jackknife interval over every day of `rows`; "both sides" pools the two. Spot cannot
    short: this asks whether a futures strategy would have more to trade."""
    every_day = np.sort(rows["date"].dt.floor("D").unique())
    parts = {}
    for name, (signal, position, sign) in SIDES.items():
        first = rows[rows[signal] & (rows[position] == 1)]
        parts[name] = pd.DataFrame({"date": first["date"],
                                    "net": sign * first["held_open"] - round_trip})
    parts["both sides"] = pd.concat(parts.values(), ignore_index=True)
    table = {}
    for name, part in parts.items():
        days = part["date"].dt.floor("D")
        table[name] = {"rows": float(len(part)),
                       **percent("net", day_mean(part["net"], days, every_day))}
    return pd.DataFrame(table).T


def percent(column: str, estimate: ev.Estimate) -> dict[str, float]:
    """`column`_pct, _low, _high: the plain statistic and its interval, in %."""
    return {f"{column}_pct": 100 * estimate.plain, f"{column}_low": 100 * estimate.low,
            f"{column}_high": 100 * estimate.high}


def run_table(rows: pd.DataFrame, columns: tuple[str, ...] = ("target", "held_open")
              ) -> pd.DataFrame:
    """Per group of the signal rows (position_groups): rows and, per column, the mean in %
    with its day-jackknife interval; the last line: position 2+ minus position 1, its
    interval from the same days left out of both."""
    signals = rows[rows["signal"]]
    days = signals["date"].dt.floor("D")
    every_day = np.sort(days.unique())
    table, means = {}, {}
    groups = position_groups(signals)
    for name, mask in groups.items():
        table[name] = {"rows": float(mask.sum())}
        for column in columns:
            means[name, column] = left_out_means(signals.loc[mask, column], days[mask],
                                                 every_day)
            table[name].update(percent(column, ev.jackknife(*means[name, column])))
    difference = "position 2+ - position 1"
    table[difference] = {"rows": float(groups["position 2+"].sum())}
    for column in columns:
        (later, later_left), (first, first_left) = (means["position 2+", column],
                                                    means["position 1", column])
        table[difference].update(percent(column, ev.jackknife(later - first,
                                                              later_left - first_left)))
    return pd.DataFrame(table).T
