"""The fixed-blend follow-up of benchmarks/edge_study.py (issue 19): the learned ridge and the
fixed-sign yardstick -(close/SMA20 - 1) blended with equal weights fixed beforehand, nothing
learned but each expert's trailing distribution (rule: docs/rules/fixedblend-rule.md).

* R: the study's `combo raw` (pooled walk-forward ridge on the DEV-chosen combo), in return
  units; V: the yardstick itself.
* Z-EQ: (R / sd_R + V / sd_V) / 2, sd_j the root mean square of expert j over the period's
  trailing record (edge_expert.trailing), pooled over the pairs.
* U-EQ: (u_R + u_V) / 2 - 1/2, u_j the empirical distribution function of expert j over the
  same record, read at the row's value.

Without a record (the first period) both serve the plain average (R + V) / 2.
"""

from __future__ import annotations

import edge_learners as el
import numpy as np
from edge_expert import (
    LONG_DAYS,
    RIDGE,
    YARD,
    aligned,
    candidate_entry,
    print_minus_yardstick,
    trailing,
)
from edge_tables import table

ZEQ = "Z-EQ: (R/sd_R + V/sd_V) / 2"
UEQ = "U-EQ: (u_R + u_V) / 2 - 1/2"
CANDIDATES = (ZEQ, UEQ)


def records(experts: np.ndarray, y: np.ndarray, starts: np.ndarray, horizon: int,
            window: int):
    """Per period k: (the period's rows, the values of each expert over its trailing record
    pooled over the pairs, on rows where every expert and y are finite; None with fewer than 3
    such values, as edge_expert.ic_weights)."""
    ok = np.isfinite(experts).all(axis=0) & np.isfinite(y)
    lo, hi = trailing(starts, horizon, window, int(starts[0]))
    ends = np.r_[starts[1:], y.shape[1]]
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        rows = slice(lo[k], hi[k])
        keep = ok[:, rows]
        vals = [x[:, rows][keep] for x in experts] if keep.sum() >= 3 else None
        yield slice(s, e), vals


def blends(experts: np.ndarray, y: np.ndarray, starts: np.ndarray, horizon: int,
           window: int) -> dict[str, np.ndarray]:
    """(pairs, n) Z-EQ and U-EQ of two aligned experts (2, pairs, n), in the first expert's
    units for Z-EQ (times sd_R) and in probability units for U-EQ; NaN before the first
    period."""
    z = np.full(experts.shape[1:], np.nan)
    u = np.full(experts.shape[1:], np.nan)
    for rows, vals in records(experts, y, starts, horizon, window):
        now = experts[:, :, rows]
        if vals is None:
            z[:, rows] = u[:, rows] = now.mean(axis=0)
            continue
        sd = np.array([np.sqrt(np.mean(v ** 2)) for v in vals])
        sd = np.where(sd > 0, sd, 1.0)
        z[:, rows] = (now / sd[:, None, None]).mean(axis=0) * sd[0]
        cdf = [np.searchsorted(np.sort(v), e, side="right") / len(v) for v, e in
               zip(vals, now, strict=True)]
        u[:, rows] = np.where(np.isfinite(now).all(axis=0), np.mean(cdf, axis=0) - 0.5, np.nan)
    return {ZEQ: z, UEQ: u}


def blend_stage(study, yardstick: np.ndarray, groups, lam: float) -> dict:
    """R, V, Z-EQ and U-EQ on a study of edge_study.py; `yardstick`: (pairs, n)."""
    d, fr, h = study.d, study.fr, study.h
    ridge = study.to_return(el.ridge_predictions(d, study.p.cols(groups), "raw", True, lam),
                            "raw")
    experts = aligned(np.stack([ridge, yardstick]))
    out = {RIDGE: {"ret": ridge}, YARD: {"ret": yardstick},
           **{name: {"ret": m} for name, m in blends(
               experts, study.y, d.starts, h, LONG_DAYS[fr.tf] * fr.day).items()}}
    for r in out.values():
        r["scores"] = study.score(r["ret"])
    return out


def blend_tables(study, control, yardstick, combo, lam: float) -> tuple[dict, tuple]:
    """Prints one setting's tables (real data and the random-walk control); returns their JSON
    entry and (results, control results) for `verdict`."""
    key = f"{study.fr.tf} H={study.h}"
    res = blend_stage(study, yardstick(study), combo, lam)
    table(f"{key}: the ridge and the yardstick blended with fixed equal weights (combo = "
          f"{' + '.join(combo)}; pooled ridge, lam = {lam}; record over "
          f"{LONG_DAYS[study.fr.tf]} days)", res, RIDGE)
    print_minus_yardstick(res, CANDIDATES, study.windows)
    ctl = blend_stage(control, yardstick(control), combo, lam)
    table(f"{key}: the fixed equal-weight blend, random-walk control", ctl, RIDGE)
    return ({**candidate_entry(res, CANDIDATES, study.windows),
             "control": candidate_entry(ctl, CANDIDATES, study.windows)}, (res, ctl))
