"""Learners of benchmarks/edge_study.py: walk-forward ridge (pooled over pairs or per pair),
exponentially forgetting ridge (RLS) with several memories, and their mixture. numpy only.

Units are the model's (returns/ridge.py): features standardised per pair with the trailing
training window's mean and spread (clipped to +-5), targets in units of the pair's target
spread over that window (winsorised to +-CLIP), no intercept, coefficients
solve(A + lam * n * I, b) from the summed statistics of the pairs (pooled) or one pair's own
(with a prior mean: solve(A + lam * n * I, b + lam * n * prior)). `record_choice` is the
model's penalty record (choose among penalties by past out-of-sample predictions).

Candidates of the rank follow-up: `rank_gauss` units (each feature through its training
window's empirical quantile, then the inverse normal CDF) instead of `zscore`, and
`averaged_design` (the training label = the mean of the standardised targets of several
horizons, purged by the longest).

Walk-forward: period k starts at row s_k; it trains on rows [s_k - window, s_k - H) (labels
known before s_k: purged) and predicts rows [s_k, s_k + period). Statistics of every row are
computed once for the union of all features; a feature set is a sub-matrix of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

Z_CLIP = 5.0
CLIP = 3.0


def zscore(train: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The wide head's units: (train, rows) standardised with the training rows' mean and
    spread, clipped at +-Z_CLIP."""
    mu, sd = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (np.clip((train - mu) / sd, -Z_CLIP, Z_CLIP),
            np.clip((rows - mu) / sd, -Z_CLIP, Z_CLIP))


def rank_gauss(train: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-Gaussian units: each column's value v -> ndtri(q), q = (#train < v + #train <= v)
    / (2 m) over the column's m finite training values (the mid-rank quantile; a training
    value gets its own average rank - 0.5 over m), kept inside [0.5 / m, 1 - 0.5 / m]. The
    quantiles are the training rows' only: `rows` never move each other's values."""
    out_t, out_r = np.full(train.shape, np.nan), np.full(rows.shape, np.nan)
    for j in range(train.shape[1]):
        ref = np.sort(train[:, j][np.isfinite(train[:, j])])
        m = len(ref)
        if m == 0:
            continue
        for src, dst in ((train, out_t), (rows, out_r)):
            v = src[:, j]
            q = (np.searchsorted(ref, v, "left") + np.searchsorted(ref, v, "right")) / (2 * m)
            dst[:, j] = np.where(np.isfinite(v), ndtri(np.clip(q, 0.5 / m, 1 - 0.5 / m)),
                                 np.nan)
    return out_t, out_r


TRANSFORMS = {"zscore": zscore, "rank_gauss": rank_gauss}


def averaged_label(windows: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """Label averaging: the mean of the training windows of several horizons' targets, each
    in its own spread units (std over the window) and winsorised at +-CLIP. The first window
    is the evaluated horizon: its spread is returned, the units predictions are read in."""
    parts, first = [], 1.0
    for i, y in enumerate(windows):
        sd = float(np.std(y)) if len(y) > 1 and np.std(y) > 0 else 1.0
        parts.append(np.clip(y / sd, -CLIP, CLIP))
        first = sd if i == 0 else first
    return np.mean(parts, axis=0), first


@dataclass
class Design:
    """Per period k and pair p: training statistics A (k, p, F, F), n (k, p), and per target
    variant b (k, p, F) and target scale (k, p); z of every predicted row (p, n, F) with its
    own period's standardisation (the first period's training rows with the first period's);
    row -> period it is predicted in (n,), -1 before the first period; row -> period whose
    standardisation its z and scaled target use (n,)."""

    starts: np.ndarray
    period_of_row: np.ndarray
    units_of_row: np.ndarray
    z: np.ndarray
    a: np.ndarray
    n: np.ndarray
    b: dict[str, np.ndarray]
    scale: dict[str, np.ndarray]


def build_design(x: np.ndarray, targets: dict[str, np.ndarray], first: int, window: int,
                 period: int, horizon: int, transform: str = "zscore") -> Design:
    """x: (pairs, n, F) raw features; targets: variant -> (pairs, n) training target, or
    (horizons, pairs, n) for a label averaged over horizons (`averaged_label`; the evaluated
    horizon first; `horizon` must then be the longest, the purge); `transform`: the features'
    units (TRANSFORMS: the training window's z-score clipped at +-5, or its rank-Gaussian)."""
    to_units = TRANSFORMS[transform]
    pairs, n, f = x.shape
    starts = np.arange(first, n, period)
    k_n = len(starts)
    z_all = np.full((pairs, n, f), np.nan, np.float32)
    a = np.zeros((k_n, pairs, f, f))
    cnt = np.zeros((k_n, pairs))
    b = {v: np.zeros((k_n, pairs, f)) for v in targets}
    scale = {v: np.ones((k_n, pairs)) for v in targets}
    row_period = np.full(n, -1)
    for k, s in enumerate(starts):
        end = min(s + period, n)
        row_period[s:end] = k
        for p in range(pairs):
            lo = s - window if k == 0 else s
            zt, z_all[p, lo:end] = to_units(x[p, s - window: s - horizon], x[p, lo:end])
            ok = np.isfinite(zt).all(axis=1)
            for y in targets.values():
                known = np.atleast_2d(y[..., p, s - window: s - horizon])
                ok = ok & np.isfinite(known).all(axis=0)
            zt = zt[ok]
            a[k, p], cnt[k, p] = zt.T @ zt, len(zt)
            for v, y in targets.items():
                yt = y[..., p, s - window: s - horizon][..., ok]
                if y.ndim == 3:
                    yt, scale[v][k, p] = averaged_label(list(yt))
                    b[v][k, p] = zt.T @ yt
                    continue
                scale[v][k, p] = np.std(yt) if len(yt) > 1 and np.std(yt) > 0 else 1.0
                b[v][k, p] = zt.T @ np.clip(yt / scale[v][k, p], -CLIP, CLIP)
    units = np.where(np.arange(n) >= starts[0] - window, np.maximum(row_period, 0), -1)
    return Design(starts, row_period, units, z_all, a, cnt, b, scale)


def averaged_design(x: np.ndarray, targets: dict[int, np.ndarray], evaluated: int, first: int,
                    window: int, period: int, transform: str = "zscore") -> Design:
    """The walk-forward design of one training label averaged over horizons (variant "avg"):
    targets horizon -> (pairs, n); each period trains on rows whose labels of every horizon
    were known before it starts (purged by the longest horizon); predictions are read in the
    `evaluated` horizon's spread units."""
    order = [evaluated, *sorted(h for h in targets if h != evaluated)]
    stack = np.stack([targets[h] for h in order])
    return build_design(x, {"avg": stack}, first, window, period, max(targets), transform)


def solve(a: np.ndarray, b: np.ndarray, n: float, lam: float,
          prior: np.ndarray | None = None) -> np.ndarray:
    """solve(A + lam n I, b + lam n prior): ridge shrinking toward `prior` (zeros if None)."""
    if n <= 0:
        return np.zeros(len(b)) if prior is None else prior.copy()
    ridge = lam * max(n, 1.0)
    rhs = b if prior is None else b + ridge * prior
    return np.linalg.solve(a + ridge * np.eye(len(b)), rhs)


def ridge_predictions(d: Design, cols: np.ndarray, variant: str, pooled: bool,
                      lam: float, prior: np.ndarray | None = None) -> np.ndarray:
    """(pairs, n) walk-forward predictions in units of each pair's target spread; `prior`
    (len(cols),): the coefficients a large penalty shrinks toward (zeros if None)."""
    pairs, n, _ = d.z.shape
    out = np.full((pairs, n), np.nan)
    sub = np.ix_(cols, cols)
    for k in range(len(d.starts)):
        rows = d.period_of_row == k
        if pooled:
            beta = solve(d.a[k][:, sub[0], sub[1]].sum(0), d.b[variant][k][:, cols].sum(0),
                         d.n[k].sum(), lam, prior)
        for p in range(pairs):
            if not pooled:
                beta = solve(d.a[k, p][sub], d.b[variant][k, p, cols], d.n[k, p], lam, prior)
            out[p, rows] = d.z[p, rows][:, cols] @ beta
    return out


def record_choice(d: Design, preds: np.ndarray, y_scaled: np.ndarray, horizon: int,
                  decay: float, default: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's penalty record (returns/ridge.py `penalty_record`/`best_penalty`) over
    walk-forward predictions: preds (penalties, pairs, n) of one ridge at each candidate
    penalty. Per pair, period k serves the penalty whose past periods' predictions scored best
    by sum(p * y) / sqrt(sum(p^2)) (rows whose label matured before period k starts; sums
    multiplied by `decay` per period); period 0 serves `default` (an index). Returns the
    (pairs, n) served predictions and the (periods, pairs) chosen indices."""
    m, pairs, n = preds.shape
    gain, power = np.zeros((m, pairs)), np.zeros((m, pairs))
    out = np.full((pairs, n), np.nan)
    chosen = np.zeros((len(d.starts), pairs), int)
    ok = np.isfinite(preds).all(axis=0) & np.isfinite(y_scaled)
    for k, s in enumerate(d.starts):
        if k > 0:
            lo, hi = d.starts[k - 1], s - horizon  # the previous period's matured rows
            w = ok[:, lo:hi]
            pv = np.where(w[None], preds[:, :, lo:hi], 0.0)
            yv = np.where(w, y_scaled[:, lo:hi], 0.0)
            gain = gain * decay + (pv * yv[None]).sum(axis=2)
            power = power * decay + (pv * pv).sum(axis=2)
        score = np.where(power > 0, gain / np.sqrt(np.maximum(power, 1e-30)), -np.inf)
        pick = np.where(np.isfinite(score).any(axis=0), np.argmax(score, axis=0), default)
        chosen[k] = pick
        rows = d.period_of_row == k
        for p in range(pairs):
            out[p, rows] = preds[pick[p], p, rows]
    return out, chosen


def scaled_target(d: Design, y: np.ndarray, variant: str) -> np.ndarray:
    """Each row's training target in its period's target-spread units (what an online learner
    learns once the label matured), winsorised like the walk-forward's."""
    sc = np.where(d.units_of_row >= 0, d.scale[variant][np.maximum(d.units_of_row, 0)].T,
                  np.nan)
    return np.clip(y / sc, -CLIP, CLIP)


def online_predictions(d: Design, cols: np.ndarray, y_scaled: np.ndarray, horizon: int,
                       half_lives: tuple[float, ...], block: int, lam: float) -> np.ndarray:
    """(learners, pairs, n) predictions of exponentially forgetting pooled ridges (one per
    half-life in candles). Before each block of `block` rows they learn every row whose label
    matured (t + H < block start), weighted 0.5 ** (age / half-life), then solve."""
    pairs, n, _ = d.z.shape
    z = np.nan_to_num(d.z[:, :, cols].astype(np.float64))
    usable = np.isfinite(d.z[:, :, cols]).all(axis=2) & np.isfinite(y_scaled)
    yv = np.where(usable, y_scaled, 0.0)
    f = len(cols)
    decay = np.array([0.5 ** (1.0 / h) for h in half_lives])
    a = np.zeros((len(half_lives), f, f))
    b = np.zeros((len(half_lives), f))
    cnt = np.zeros(len(half_lives))
    out = np.full((len(half_lives), pairs, n), np.nan)
    learned = 0  # rows < learned are in the statistics
    previous = int(d.starts[0])  # the block start the statistics are anchored at
    for start in range(int(d.starts[0]), n, block):
        upto = max(start - horizon, 0)
        new = slice(learned, upto)
        ages = start - np.arange(learned, upto)
        zn = z[:, new].reshape(-1, f)
        un = usable[:, new].reshape(-1)
        yn = yv[:, new].reshape(-1)
        for j, dj in enumerate(decay):
            step = dj ** (start - previous)
            w = np.tile(dj ** ages, pairs) * un
            a[j] = a[j] * step + (zn * w[:, None]).T @ zn
            b[j] = b[j] * step + (zn * w[:, None]).T @ yn
            cnt[j] = cnt[j] * step + w.sum()
            beta = solve(a[j], b[j], cnt[j], lam)
            out[j, :, start: start + block] = z[:, start: start + block] @ beta
        learned, previous = max(upto, learned), start
    pred_ok = np.isfinite(d.z[:, :, cols]).all(axis=2)
    return np.where(pred_ok[None], out, np.nan)


def mixture(preds: np.ndarray, y_scaled: np.ndarray, horizon: int, eta: float,
            share: float, block: int, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-share exponentially weighted aggregation of `preds` (learners, pairs, n) by their
    prequential squared losses (a row's loss counts once its label matured, H rows later),
    summed over pairs; weights updated per block. Returns (pairs, n) mixture and the weights
    (blocks, learners)."""
    m, pairs, n = preds.shape
    loss = np.nan_to_num((preds - y_scaled[None]) ** 2).sum(axis=1)  # (m, n)
    w = np.full(m, 1.0 / m)
    out = np.full((pairs, n), np.nan)
    history = []
    learned = first
    for start in range(first, n, block):
        upto = max(start - horizon, first)
        if upto > learned:
            logw = np.log(w) - eta * loss[:, learned:upto].sum(axis=1)
            w = np.exp(logw - logw.max())
            w = (1 - share) * w / w.sum() + share / m
            learned = upto
        out[:, start: start + block] = np.einsum("j,jpn->pn", w,
                                                 np.nan_to_num(preds[:, :, start: start + block]))
        history.append(w.copy())
    return np.where(np.isfinite(preds).all(axis=0), out, np.nan), np.array(history)
