"""Pure scoring of benchmarks/edge_study.py: whole-window Spearman IC with a leave-one-day-out
jackknife, paired differences, a fee-aware trading read-out. numpy only.

The IC of a window is, per pair, the Spearman correlation of prediction and target over all of
the window's rows (not ranked inside days: the mean of per-day rank ICs is biased upward on
random walks whose predictions depend on the price level), averaged over the pairs. Its
uncertainty is the delete-one-day jackknife: the window's IC recomputed without each day,
se = sqrt((g - 1) / g * sum (theta_i - mean theta)^2). Paired differences use the same
replicates (candidate minus baseline on the same rows and days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.96


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1, tied values sharing their average rank (as
    self_learning.reports.evaluation.spearman_ic ranks): a rank is the count of smaller
    values plus half the count of other equal ones."""
    return _ranks(x)[0]


def _ranks(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """`ranks` of x, and whether any two values of x are equal (from one sort)."""
    order = np.argsort(x, kind="stable")
    s = x[order]
    if len(s) > 1 and np.any(s[1:] == s[:-1]):
        return (np.searchsorted(s, x, "left") + np.searchsorted(s, x, "right") - 1) / 2, True
    out = np.empty(len(x))
    out[order] = np.arange(len(x))
    return out, False


def spearman(pred: np.ndarray, target: np.ndarray) -> float:
    """Spearman correlation; NaN with < 3 rows or a constant side."""
    if len(pred) < 3:
        return float("nan")
    a, b = ranks(pred), ranks(target)
    if a.std() == 0 or b.std() == 0 or np.ptp(pred) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@dataclass(frozen=True)
class Score:
    """IC of a window (mean over pairs) and its jackknife replicates, one per left-out day."""

    ic: float
    replicates: np.ndarray  # (days,)

    @property
    def se(self) -> float:
        return jackknife_se(self.replicates)

    def minus(self, other: Score) -> Score:
        return Score(self.ic - other.ic, self.replicates - other.replicates)

    def interval(self) -> tuple[float, float]:
        return self.ic - Z95 * self.se, self.ic + Z95 * self.se


def jackknife_se(replicates: np.ndarray) -> float:
    r = np.asarray(replicates, float)
    r = r[np.isfinite(r)]
    g = len(r)
    if g < 2:
        return float("nan")
    return float(np.sqrt((g - 1) / g * np.sum((r - r.mean()) ** 2)))


def window_score(pred: np.ndarray, target: np.ndarray, day: np.ndarray,
                 days: np.ndarray) -> Score:
    """pred, target: (pairs, n); day: (n,) day number of each row; days: the window's days
    (rows of other days are ignored). Rows with a non-finite prediction or target of a pair are
    left out for that pair."""
    in_window = np.isin(day, days)
    full, reps = [], []
    for p, y in zip(pred, target, strict=True):
        keep = in_window & np.isfinite(p) & np.isfinite(y)
        p, y, d = p[keep], y[keep], day[keep]
        full.append(spearman(p, y))
        reps.append(_leave_one_out(p, y, d, days))
    return Score(float(np.nanmean(full)), np.nanmean(np.array(reps), axis=0))


def _leave_one_out(p: np.ndarray, y: np.ndarray, d: np.ndarray, days) -> np.ndarray:
    """Spearman of p and y without the rows of each day in turn; the ranks of the rows left
    are their full ranks minus the left-out rows below them and half the left-out rows equal
    to them (exact with ties, as ranks)."""
    if len(p) < 3 or np.ptp(p) == 0:
        return np.full(len(days), np.nan)
    (a, p_tied), (b, y_tied) = _ranks(p), _ranks(y)
    out = np.full(len(days), np.nan)
    for i, k in enumerate(days):
        gone = d == k
        if gone.all():
            continue
        left = ~gone
        ra = a[left] - _below(p[gone], p[left], p_tied)
        rb = b[left] - _below(y[gone], y[left], y_tied)
        out[i] = _pearson(ra, rb)
    return out


def _below(gone: np.ndarray, kept: np.ndarray, tied: bool) -> np.ndarray:
    """For each kept value, the left-out values below it plus half those equal to it: what
    leaving them out takes from its average rank (`tied`: whether any two values of the
    whole sample are equal; without, no kept value equals a left-out one)."""
    s = np.sort(gone)
    below = np.searchsorted(s, kept, "left")
    return (below + np.searchsorted(s, kept, "right")) / 2 if tied else below


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / den) if den > 0 else float("nan")


def fmt(score: Score, digits: int = 4) -> str:
    """'ic [lo, hi]' with the 95 % jackknife interval."""
    lo, hi = score.interval()
    return f"{score.ic:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def trade_readout(pred_ret: np.ndarray, fwd_ret: np.ndarray, in_window: np.ndarray,
                  fee: float, weeks: float) -> dict[str, float]:
    """Entries where the predicted return clears `fee` (round trip): their count per week over
    all pairs, and the mean realised forward return minus `fee` (NaN without entries).
    pred_ret, fwd_ret: (pairs, n); in_window: (n,) bool."""
    ok = in_window[None, :] & np.isfinite(pred_ret) & np.isfinite(fwd_ret)
    enter = ok & (pred_ret > fee)
    count = int(enter.sum())
    net = float(np.mean(fwd_ret[enter]) - fee) if count else float("nan")
    return {"entries_per_week": count / weeks, "mean_net": net,
            "hit": float(np.mean(fwd_ret[enter] > fee)) if count else float("nan")}
