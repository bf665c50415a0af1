"""The rank follow-up of benchmarks/edge_study.py (issue 19): two standard remedies for low
signal-to-noise, each against the current pooled ridge on the same features, rows and days.

* rank-Gaussian features (edge_learners.rank_gauss): each feature through its empirical
  quantile in the pair's training window, then the inverse normal CDF; prediction rows use
  the training window's quantiles. Instead of the z-score clipped at +-5.
* label averaging (edge_learners.averaged_design): the ridge trains on the mean of the
  standardised targets at H/2, H and 2H, purged by 2H; scored against the H target.

Deciding: the DEV-chosen combo of each setting. Reported, not chosen on: the same on the
strategy's features (baseline + time) and both remedies together. The random-walk control
runs the same stage on i.i.d. candles.
"""

from __future__ import annotations

import edge_features as ef
import edge_learners as el
import edge_scoring as es
import numpy as np
from edge_tables import paired, summary, table

CURRENT = "current (z-score, H label)"
RANK = "rank-Gaussian features"
AVERAGED = "label averaged over H/2, H, 2H"
BOTH = "rank-Gaussian + label averaged"


def served(d: el.Design, cols: np.ndarray, variant: str, lam: float) -> np.ndarray:
    """Pooled walk-forward ridge predictions of design `d` in return units (each period's
    predictions times its pair's target spread of the evaluated horizon)."""
    pred = el.ridge_predictions(d, cols, variant, True, lam)
    return pred * d.scale[variant][np.maximum(d.period_of_row, 0)].T


def rank_stage(study, groups, lam: float, parts: bool = True) -> dict[str, dict]:
    """The current ridge and the candidates on the columns of `groups` (a study of
    edge_study.py: its panel, frame, horizon, first row and scoring); `parts`: also the
    strategy's features and both remedies together (reported only)."""
    p, fr, h = study.p, study.fr, study.h
    use = p.cols(groups)
    x = p.x[:, :, use]
    base = np.flatnonzero(np.isin(p.group[use], ("baseline", "time")))
    every = np.arange(len(use))
    args = (study.first, fr.window, fr.period)
    labels = {
        h // 2: np.stack([ef.target(f, h // 2) for f in p.frames]),
        h: study.y,
        2 * h: np.stack([ef.target(f, 2 * h) for f in p.frames]),
    }
    designs = {
        CURRENT: (el.build_design(x, {"raw": study.y}, *args, h), "raw"),
        RANK: (el.build_design(x, {"raw": study.y}, *args, h, "rank_gauss"), "raw"),
        AVERAGED: (el.averaged_design(x, labels, h, *args), "avg"),
    }
    if parts:
        designs[BOTH] = (el.averaged_design(x, labels, h, *args, "rank_gauss"), "avg")
    out = {}
    for name, (d, variant) in designs.items():
        out[name] = {"ret": served(d, every, variant, lam)}
    if parts:
        for name in (CURRENT, RANK, AVERAGED):
            d, variant = designs[name]
            out[f"{name}, baseline + time"] = {"ret": served(d, base, variant, lam)}
    for r in out.values():
        r["scores"] = study.score(r["ret"])
    return out


def rank_tables(study, control, combo, lam: float) -> dict:
    """Prints this round's tables of one setting (real data; `control`: the same setting's
    study on the random-walk candles); returns their JSON entry."""
    key = f"{study.fr.tf} H={study.h}"
    res = rank_stage(study, combo, lam)
    table(
        f"{key}: rank-Gaussian features and label averaging (combo = {' + '.join(combo)}; "
        "pooled ridge, lam = 0.3)",
        res,
        CURRENT,
    )
    base = f"{CURRENT}, baseline + time"
    for name in (RANK, AVERAGED):
        gain = {w: paired(res[f"{name}, baseline + time"], res[base], w) for w in study.windows}
        print(
            f"\n{name} minus current on baseline + time: "
            + ", ".join(f"{w} {es.fmt(s)}" for w, s in gain.items())
        )
    ctl = rank_stage(control, combo, lam, parts=False)
    table(f"{key}: rank-Gaussian features and label averaging, random-walk control", ctl, CURRENT)

    def entry(results):
        out = {name: {w: summary(s) for w, s in r["scores"].items()} for name, r in results.items()}
        for name in (RANK, AVERAGED):
            out[f"{name} minus current"] = {
                w: summary(paired(results[name], results[CURRENT], w)) for w in study.windows
            }
        return out

    return {**entry(res), "control": entry(ctl)}
