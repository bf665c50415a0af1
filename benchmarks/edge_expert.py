"""The expert follow-up of benchmarks/edge_study.py (issue 19): the learned ridge and the
training-free yardstick -(close/SMA20 - 1) served as two experts, mixed by their own
prequential record (rule: docs/rules/yardexpert-rule.md).

* R: the study's `combo raw` (pooled walk-forward ridge on the DEV-chosen combo).
* Y: the yardstick times c_k = max(0, sum(v y) / sum(v^2)), the non-negative least-squares
  coefficient of the raw target on the yardstick over the matured rows of a long trailing
  window (`LONG_DAYS`), pooled over the pairs, refitted each walk-forward period; read in the
  ridge's units (each pair's target spread of the period).
* M-EW: edge_learners.mixture of [R, Y] (fixed-share, prequential squared losses).
* M-IC: each period, weights from each expert's trailing IC (clipped at 0, normalised) over
  the same window as c_k, applied to the experts divided by their trailing spread.

Experts are aligned first: a row missing in either is missing in both.
"""

from __future__ import annotations

import edge_learners as el
import edge_scoring as es
import numpy as np
from edge_tables import paired, summary, table

# The long trailing window of the yardstick's scale and the IC record, in days: 6x / 4x the
# ridge's training window (5 days at 5m, 30 days at 1h).
LONG_DAYS = {"5m": 30, "1h": 120}
SHARE = 0.01  # the mixture's fixed share, as the study's online stage

RIDGE = "R: combo raw (ridge alone)"
YARD = "yardstick -(close/SMA20-1)"
YEXPERT = "Y: yardstick expert (NNLS scale)"
MEW = "M-EW: mixture of R, Y (eta=0.05)"
MIC = "M-IC: trailing-IC weights of R, Y"
CANDIDATES = (MEW, MIC)


def trailing(starts: np.ndarray, horizon: int, window: int, first: int = 0):
    """(lo, hi) of each period's record: the rows t with s_k - H - window <= t < s_k - H (their
    labels matured before s_k), not before `first`."""
    hi = np.maximum(starts - horizon, first)
    return np.clip(starts - horizon - window, first, None), hi


def yard_scale(v: np.ndarray, y: np.ndarray, starts: np.ndarray, horizon: int,
               window: int) -> np.ndarray:
    """(periods,) c_k = max(0, sum(v y) / sum(v^2)) pooled over the pairs of v, y (pairs, n)
    over the finite rows of period k's record (`trailing`); 0 without rows."""
    ok = np.isfinite(v) & np.isfinite(y)
    vy = np.r_[0.0, np.cumsum(np.where(ok, v * y, 0.0).sum(axis=0))]
    vv = np.r_[0.0, np.cumsum(np.where(ok, v * v, 0.0).sum(axis=0))]
    lo, hi = trailing(starts, horizon, window)
    num, den = vy[hi] - vy[lo], vv[hi] - vv[lo]
    return np.where(den > 0, np.maximum(num, 0.0) / np.where(den > 0, den, 1.0), 0.0)


def yard_expert(d: el.Design, v: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(pairs, n) c_k v / spread_{k,p} of each row of period k (the ridge's units); NaN before
    the first period."""
    k = np.maximum(d.period_of_row, 0)
    out = c[k] * v / d.scale["raw"][k].T
    return np.where(d.period_of_row >= 0, out, np.nan)


def aligned(experts: np.ndarray) -> np.ndarray:
    """(m, pairs, n) experts with every row missing in any of them missing in all."""
    return np.where(np.isfinite(experts).all(axis=0), experts, np.nan)


def ic_weights(experts: np.ndarray, y: np.ndarray, starts: np.ndarray, horizon: int,
               window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per period k: each expert's record over the rows of `trailing` (from the first period
    on, rows where every expert and y are finite): IC = mean over pairs of Spearman(expert, y),
    sd = root mean square of the expert pooled over pairs. Weights max(IC, 0) / sum, an expert
    with sd = 0 or no IC getting 0; equal weights over the experts with sd > 0 without a
    positive IC; without rows (the first period) the plain average (equal weights, sd 1).
    Returns (periods, m) weights and (periods, m) spreads."""
    m = len(experts)
    ok = np.isfinite(experts).all(axis=0) & np.isfinite(y)
    lo, hi = trailing(starts, horizon, window, int(starts[0]))
    weights, spreads = np.full((len(starts), m), 1.0 / m), np.ones((len(starts), m))
    for k in range(len(starts)):
        rows = slice(lo[k], hi[k])
        keep = ok[:, rows]
        if keep.sum() < 3:
            continue
        ic = np.array([np.nanmean([es.spearman(e[p, rows][keep[p]], y[p, rows][keep[p]])
                                   for p in range(len(y))]) for e in experts])
        sd = np.sqrt(np.array([np.mean(e[:, rows][keep] ** 2) for e in experts]))
        gain = np.where((sd > 0) & np.isfinite(ic), np.maximum(ic, 0.0), 0.0)
        if gain.sum() > 0:
            weights[k], spreads[k] = gain / gain.sum(), np.where(sd > 0, sd, 1.0)
        elif (sd > 0).any():
            weights[k] = (sd > 0) / (sd > 0).sum()
            spreads[k] = np.where(sd > 0, sd, 1.0)
    return weights, spreads


def ic_mixture(d: el.Design, experts: np.ndarray, weights: np.ndarray,
               spreads: np.ndarray) -> np.ndarray:
    """(pairs, n) (sum_j w_j E_j / sd_j) * (sum_j w_j sd_j) with each row's period's weights
    and spreads; w = (1, 0, ...) serves the first expert exactly."""
    k = np.maximum(d.period_of_row, 0)
    w, sd = weights[k].T, spreads[k].T  # (m, n)
    out = np.einsum("jn,jpn->pn", w / sd, experts) * (w * sd).sum(axis=0)
    return np.where(d.period_of_row >= 0, out, np.nan)


def expert_stage(study, yardstick: np.ndarray, groups, lam: float, eta: float) -> dict:
    """R, the yardstick, Y, M-EW and M-IC on a study of edge_study.py (its panel, frame,
    horizon, design and scoring); `yardstick`: (pairs, n) -(close/SMA20 - 1)."""
    d, fr, h = study.d, study.fr, study.h
    window = LONG_DAYS[fr.tf] * fr.day
    y_sc = el.scaled_target(d, study.y, "raw")
    ridge = el.ridge_predictions(d, study.p.cols(groups), "raw", True, lam)
    c = yard_scale(yardstick, study.y, d.starts, h, window)
    experts = aligned(np.stack([ridge, yard_expert(d, yardstick, c)]))
    mix, history = el.mixture(experts, y_sc, h, eta=eta, share=SHARE, block=fr.block,
                              first=int(d.starts[0]))
    weights, spreads = ic_weights(experts, study.y, d.starts, h, window)
    out = {RIDGE: {"ret": study.to_return(ridge, "raw")}, YARD: {"ret": yardstick},
           YEXPERT: {"ret": study.to_return(experts[1], "raw")},
           MEW: {"ret": study.to_return(mix, "raw")},
           MIC: {"ret": study.to_return(ic_mixture(d, experts, weights, spreads), "raw")}}
    for r in out.values():
        r["scores"] = study.score(r["ret"])
    # Reported: the weights (R, Y) at the end and their mean over DEV rows, c over DEV periods.
    n, first = study.y.shape[1], int(d.starts[0])
    dev = np.isin(study.p.day, study.windows["DEV"])
    ew_rows = np.full((n, 2), np.nan)
    ew_rows[first:] = np.repeat(history, fr.block, axis=0)[: n - first]
    ic_rows = np.where((d.period_of_row >= 0)[:, None], weights[np.maximum(d.period_of_row, 0)],
                       np.nan)
    dev_periods = np.isin(study.p.day[d.starts], study.windows["DEV"])
    zero = {w: int((c[np.isin(study.p.day[d.starts], days)] == 0).sum())
            for w, days in study.windows.items()}
    scored = dev[None] & np.isfinite(experts).all(axis=0) & np.isfinite(y_sc)
    out["_record"] = {
        "periods with c = 0 (DEV, HOLDOUT)": [zero["DEV"], zero["HOLDOUT"]],
        "periods (DEV, HOLDOUT)": [int(dev_periods.sum()), int(
            np.isin(study.p.day[d.starts], study.windows["HOLDOUT"]).sum())],
        "DEV mean squared loss (R, Y, zero)": [
            round(float(np.mean((e[scored] - y_sc[scored]) ** 2)), 4)
            for e in (*experts, np.zeros_like(y_sc))],
        "M-EW weights at the end": history[-1].round(3).tolist(),
        "M-EW DEV mean weights": np.nanmean(ew_rows[dev], axis=0).round(3).tolist(),
        "M-IC weights at the end": weights[-1].round(3).tolist(),
        "M-IC DEV mean weights": np.nanmean(ic_rows[dev], axis=0).round(3).tolist(),
        "c over DEV periods (min, median, max)": [
            float(f"{q:.4g}") for q in np.quantile(c[dev_periods], [0, 0.5, 1])],
        "c at the end": float(f"{c[-1]:.4g}"),
    }
    return out


def expert_tables(study, control, yardstick, combo, lam: float,
                  eta: float) -> tuple[dict, tuple[dict, dict]]:
    """Prints the tables of one setting (real data; `control`: the same setting's study on the
    random-walk candles; `yardstick(study)` -> (pairs, n) -(close/SMA20 - 1)); returns their
    JSON entry and (results, control results) for `verdict`."""
    key = f"{study.fr.tf} H={study.h}"
    res = expert_stage(study, yardstick(study), combo, lam, eta)
    table(f"{key}: the yardstick as a second expert (combo = {' + '.join(combo)}; pooled ridge, "
          f"lam = {lam}; scale and IC record over {LONG_DAYS[study.fr.tf]} days)", res, RIDGE)
    print_minus_yardstick(res, CANDIDATES, study.windows)
    print("\nweights [R, Y] and the yardstick's scale c: " + "; ".join(
        f"{k} {v}" for k, v in res["_record"].items()))
    ctl = expert_stage(control, yardstick(control), combo, lam, eta)
    table(f"{key}: the yardstick as a second expert, random-walk control", ctl, RIDGE)
    print("\ncontrol weights [R, Y] and c: " + "; ".join(
        f"{k} {v}" for k, v in ctl["_record"].items()))

    def entry(results):
        return {**candidate_entry(results, CANDIDATES, study.windows),
                "record": results["_record"]}

    return {**entry(res), "control": entry(ctl)}, (res, ctl)


def print_minus_yardstick(results: dict, candidates, windows) -> None:
    """Prints each candidate's paired difference to the yardstick in each window."""
    for name in candidates:
        print(f"\n{name} minus the yardstick: " + ", ".join(
            f"{w} {es.fmt(paired(results[name], results[YARD], w))}" for w in windows))


def candidate_entry(results: dict, candidates, windows) -> dict:
    """The JSON entry of one setting's results: each row's scores and each candidate's paired
    differences to R and to the yardstick (rows named "_..." are not scores)."""
    out = {name: {w: summary(s) for w, s in r["scores"].items()}
           for name, r in results.items() if not name.startswith("_")}
    for name in candidates:
        for ref, label in ((RIDGE, "R"), (YARD, "yardstick")):
            out[f"{name} minus {label}"] = {
                w: summary(paired(results[name], results[ref], w)) for w in windows}
    return out


def verdict(settings: dict, candidates=CANDIDATES, fast: str = "5m H=12",
            slow: str = "1h H=4") -> dict:
    """docs/rules/yardexpert-rule.md (and fixedblend-rule.md, the same bar) applied to
    `settings` (key -> (results, control results) of `expert_stage` or
    `edge_blend.blend_stage`), DEV only: 1. fast: minus R > 0 and minus the yardstick >= 0;
    2. slow: minus R >= -0.005; 3. the candidate's control IC interval covers 0 at both
    settings."""
    out = {}
    for name in candidates:
        (f, _), (s, _) = settings[fast], settings[slow]
        one = (paired(f[name], f[RIDGE], "DEV").ic > 0
               and paired(f[name], f[YARD], "DEV").ic >= 0)
        two = paired(s[name], s[RIDGE], "DEV").ic >= -0.005
        three = True
        for _, ctl in settings.values():
            lo, hi = ctl[name]["scores"]["DEV"].interval()
            three = three and lo <= 0 <= hi
        failed = [i for i, ok in enumerate((one, two, three), 1) if not ok]
        out[name] = {"clauses": [bool(one), bool(two), bool(three)], "recommended": not failed,
                     "fails": failed}
    return out
