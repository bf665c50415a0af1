"""Out-of-sample quality of return predictions: pure numpy/pandas, no TensorFlow, no freqtrade.

Used by benchmarks/quality.py and the demo. Scored rows are a DataFrame with one row per
(pair, candle): columns `pair`, `window` (the FreqAI backtest window the row was predicted
in, any hashable), a prediction column and `target` (the realized `&-s_close`). Filter the
rows first (do_predict == 1, finite prediction and target); these functions score what they
are given.

* IC: Spearman rank correlation of prediction and target (average ranks for ties).
* Headline IC (`day_jackknife` of `pooled_ic`): per pair, the IC over all its scored rows,
  averaged over pairs, bias-corrected and given an interval by a leave-one-day-out jackknife.
  A signal and an overlapping H-candle target share increments, so any correlation whose
  centre is estimated from the same rows is biased upward by O(1/rows) on a market with no
  edge (ranked inside one day: +0.06 to +0.5); pooling over the whole timerange shrinks the
  bias and the jackknife removes its 1/rows term (tests/test_evaluation.py checks both on
  random walks). Paired differences use the same deleted days for both sides.
* Per-window IC (a biased diagnostic, see above): the IC of each pair within the window,
  averaged over the pairs (pairs are not pooled: their targets differ in scale, and pooling
  would rank the pairs, not the candles). The mean IC is the mean of the per-window ICs;
  its standard error is their standard deviation / sqrt(windows), treating windows (days)
  as independent.
* Paired difference of two models: per-window IC of one minus the other's on the same
  windows, mean +- standard error.
* Rank agreement of two prediction series (e.g. two seeds): Spearman correlation of the two
  on the rows both predicted, per pair, averaged over pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from self_learning.candles.features import OHLCV, TARGET_NAMES, observed_targets

SMA_PERIOD = 20


def realized_targets(candles: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """`date` and the three targets (TARGET_NAMES) of freqtrade candles, through the one
    formula the model and the strategy use (features.observed_targets): row t looks at the
    next `horizon` observed candles; filled or broken candles and the last rows are NaN."""
    missing = [c for c in ["date", *OHLCV] if c not in candles.columns]
    if missing:
        raise ValueError(f"candles lack column(s) {missing}; have {list(candles.columns)}")
    values = observed_targets(candles[OHLCV].to_numpy(dtype=np.float64), horizon)
    out = pd.DataFrame(values, columns=list(TARGET_NAMES), index=candles.index)
    out.insert(0, "date", candles["date"])
    return out


def naive_signal(close, period: int = SMA_PERIOD) -> np.ndarray:
    """The training-free yardstick -(close / SMA(close, period) - 1): bet on mean reversion.
    NaN until the SMA exists."""
    close = np.asarray(close, dtype=np.float64)
    sma = pd.Series(close).rolling(period).mean().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(close / sma - 1)


def spearman_ic(pred, target) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if < 3 rows or one side is
    constant (a model that outputs a constant has no IC, not 0)."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if len(pred) != len(target):
        raise ValueError(f"pred has {len(pred)} rows, target {len(target)}")
    if len(pred) < 3:
        return float("nan")
    a, b = pd.Series(pred).rank().to_numpy(), pd.Series(target).rank().to_numpy()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def hit_rate(pred, target) -> float:
    """Share of rows with target != 0 where sign(pred) == sign(target); pred 0 is a miss.
    NaN when every target is 0."""
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    keep = target != 0
    if not keep.any():
        return float("nan")
    return float(np.mean(np.sign(pred[keep]) == np.sign(target[keep])))


def _per_window(rows: pd.DataFrame, metric, column: str, target: str) -> pd.Series:
    """metric(prediction, target) per (window, pair), averaged over pairs: window -> value."""
    if rows.empty:
        return pd.Series(dtype=float, name=column)
    keys = ["window", "pair"] if "pair" in rows.columns else ["window"]
    cells = rows.groupby(keys, sort=True)[[column, target]].apply(
        lambda g: metric(g[column].to_numpy(), g[target].to_numpy()))
    by_window = cells.groupby(level="window").mean() if len(keys) == 2 else cells
    return by_window.astype(float).rename(column)


def window_ics(rows: pd.DataFrame, column: str, target: str = "target") -> pd.Series:
    """window -> IC of `column` in that window (mean over pairs), sorted by window."""
    return _per_window(rows, spearman_ic, column, target)


def window_hit_rates(rows: pd.DataFrame, column: str, target: str = "target") -> pd.Series:
    """window -> hit-rate of `column` in that window (mean over pairs)."""
    return _per_window(rows, hit_rate, column, target)


def mean_and_se(values) -> tuple[float, float]:
    """Mean of the finite values and its standard error std(ddof=1) / sqrt(n); the error is
    NaN with fewer than 2 values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float(v[0]), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def summarize(rows: pd.DataFrame, column: str, target: str = "target") -> dict[str, float]:
    """ic (mean of the per-window ICs), ic_se, hit_rate (mean of the per-window hit-rates),
    windows and rows."""
    ic, se = mean_and_se(window_ics(rows, column, target))
    hit, _ = mean_and_se(window_hit_rates(rows, column, target))
    windows = int(rows["window"].nunique()) if len(rows) else 0
    return {"ic": ic, "ic_se": se, "hit_rate": hit, "windows": float(windows),
            "rows": float(len(rows))}


def paired_difference(ics: pd.Series, baseline: pd.Series) -> tuple[float, float]:
    """Mean and standard error of ics[w] - baseline[w] over the windows both have a value."""
    both = pd.concat([ics.rename("a"), baseline.rename("b")], axis=1).dropna()
    return mean_and_se(both["a"] - both["b"])


def rank_agreement(first: pd.DataFrame, second: pd.DataFrame, column: str = "pred") -> float:
    """Spearman correlation of `column` of two runs on the (pair, date) rows both have,
    per pair, averaged over the pairs that share at least 3 rows (NaN when none does)."""
    keys = ["pair", "date"] if "pair" in first.columns else ["date"]
    both = first[[*keys, column]].merge(second[[*keys, column]], on=keys, suffixes=("_a", "_b"))
    if both.empty:
        return float("nan")
    groups = both.groupby("pair") if "pair" in keys else [(None, both)]
    values = [spearman_ic(g[f"{column}_a"], g[f"{column}_b"]) for _, g in groups]
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


# -- the headline IC: pooled per pair, jackknifed over days ----------------------------------


def pooled_ic(rows: pd.DataFrame, column: str, target: str = "target") -> float:
    """Per pair, the IC of `column` over all of that pair's rows; averaged over the pairs that
    have one (NaN if none)."""
    if rows.empty:
        return float("nan")
    groups = rows.groupby("pair") if "pair" in rows.columns else [(None, rows)]
    values = [spearman_ic(g[column].to_numpy(), g[target].to_numpy()) for _, g in groups]
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


@dataclass(frozen=True)
class Estimate:
    """A statistic over days with its leave-one-day-out jackknife: `value` bias-corrected,
    `se` its standard error, [`low`, `high`] the `level` interval (Student t, days - 1
    degrees of freedom), `plain` the statistic on all rows, `days` the days it saw."""

    value: float
    se: float
    low: float
    high: float
    plain: float
    days: int

    def as_dict(self, prefix: str) -> dict[str, float]:
        """`prefix` -> value, `prefix_se`, `prefix_ci_low`, `prefix_ci_high`."""
        return {prefix: self.value, f"{prefix}_se": self.se, f"{prefix}_ci_low": self.low,
                f"{prefix}_ci_high": self.high}


def jackknife(plain: float, deleted, level: float = 0.95) -> Estimate:
    """Jackknife of a statistic from its value on all days (`plain`) and with each day left
    out in turn (`deleted`, one value per day): bias-corrected value n*plain - (n-1)*mean,
    standard error sqrt((n-1)/n * sum((deleted - mean)^2)). NaN with fewer than 3 days."""
    from scipy.stats import t as student_t

    deleted = np.asarray(deleted, dtype=float)
    n = len(deleted)
    if n < 3 or not np.isfinite(plain) or not np.isfinite(deleted).all():
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, float(plain), n)
    mean = deleted.mean()
    value = n * plain - (n - 1) * mean
    se = float(np.sqrt((n - 1) / n * np.sum((deleted - mean) ** 2)))
    half = float(student_t.ppf(0.5 + level / 2, n - 1)) * se
    return Estimate(float(value), se, float(value - half), float(value + half), float(plain), n)


@dataclass(frozen=True)
class DaysLeftOut:
    """pooled_ic of some columns of one set of rows on all rows (`plain`, column -> IC) and
    with each day left out (`deleted`, day x column), computed once: the jackknife of any of
    the columns, or of the paired difference of two, follows from them."""

    plain: pd.Series
    deleted: pd.DataFrame

    def ic(self, column: str) -> Estimate:
        """The headline IC of `column`: pooled_ic, jackknifed over days."""
        return jackknife(self.plain[column], self.deleted[column])

    def difference(self, first: str, second: str) -> Estimate:
        """pooled_ic(first) - pooled_ic(second) on the same rows, jackknifed over days."""
        return jackknife(self.plain[first] - self.plain[second],
                         self.deleted[first] - self.deleted[second])


def days_left_out(rows: pd.DataFrame, columns: list[str], target: str = "target",
                  day: str = "day") -> DaysLeftOut:
    """pooled_ic of each column on all rows and with each day left out, for `jackknife` of
    one column or, by subtraction, of a paired difference of two columns on the same rows."""
    plain = pd.Series({c: pooled_ic(rows, c, target) for c in columns}, dtype=float)
    days = sorted(rows[day].unique())
    deleted = pd.DataFrame(
        [[pooled_ic(rest, c, target) for c in columns]
         for rest in (rows[rows[day] != d] for d in days)], index=days, columns=columns)
    return DaysLeftOut(plain, deleted)


def day_jackknife(rows: pd.DataFrame, column: str, target: str = "target",
                  day: str = "day") -> Estimate:
    """The headline IC of one prediction column: pooled_ic, jackknifed over days."""
    return days_left_out(rows, [column], target, day).ic(column)


def paired_jackknife(rows: pd.DataFrame, first: str, second: str, target: str = "target",
                     day: str = "day") -> Estimate:
    """pooled_ic(first) - pooled_ic(second) on the same rows, jackknifed over days."""
    return days_left_out(rows, [first, second], target, day).difference(first, second)
