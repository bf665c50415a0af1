"""The pure scoring of benchmarks/quality.py: scored rows, the headline IC of each model with
its interval, paired differences, ablation and flip figures, all through
self_learning.reports.evaluation (tested in tests/test_quality_benchmark.py and, for being
unbiased on random walks, tests/test_evaluation.py).

Headline (`mean.<model>.ic`, `_ci_low`, `_ci_high`, `_se`): per pair, the Spearman IC over all
scored rows of the evaluated timerange, averaged over pairs, bias-corrected by a
leave-one-day-out jackknife that also gives the 95 % interval. Paired differences
(`mean.self_learning.vs_naive`, `.vs_lightgbm`, `ablation.<row>.diff`) are the same statistic
of the difference on the rows both sides scored, jackknifed over the same days. The per-window
(per-day) IC is kept only as a diagnostic: ranked inside one day it scores a market with no
edge above 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from self_learning.reports import evaluation as ev

KEYS = ["pair", "date"]


def scored_rows(preds: pd.DataFrame, truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Predictions with do_predict == 1 and a finite prediction and target, joined with the
    target and the yardstick; `day` = the candle's UTC day (the jackknife's unit), `window` =
    the same day (the per-window diagnostic)."""
    rows = pd.concat([g.merge(truth[pair], on="date", how="left")
                      for pair, g in preds.groupby("pair")], ignore_index=True)
    keep = (rows["do_predict"] == 1) & np.isfinite(rows["pred"]) & np.isfinite(rows["target"])
    rows = rows[keep].reset_index(drop=True)
    rows["day"] = rows["date"].dt.floor("D")
    rows["window"] = rows["day"]
    return rows


def common_rows(first: pd.DataFrame, *others: pd.DataFrame) -> pd.DataFrame:
    """Rows of `first` whose (pair, date) every other frame scored too."""
    mask = np.ones(len(first), dtype=bool)
    for other in others:
        mask &= pd.MultiIndex.from_frame(first[KEYS]).isin(pd.MultiIndex.from_frame(other[KEYS]))
    return first[mask]


def panel(rows: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The rows every model scored: pair, date, day, window, target, naive and one prediction
    column per model (named after it)."""
    names = list(rows)
    base = rows[names[0]][[*KEYS, "day", "window", "target", "naive"]]
    out = common_rows(base, *rows.values()).reset_index(drop=True)
    for name in names:
        out = out.merge(rows[name][[*KEYS, "pred"]].rename(columns={"pred": name}), on=KEYS)
    return out


def blended(rows: pd.DataFrame, first: str, second: str, weight: float) -> pd.Series:
    """(1 - weight) first + weight second, each divided by its standard deviation over the
    pair's rows (the whole scored period's: a scale in hindsight, which can only favour the
    blend), so the mix does not follow whichever model predicts in larger units."""
    scale = rows.groupby("pair")[[first, second]].transform("std")
    return (1.0 - weight) * rows[first] / scale[first] + weight * rows[second] / scale[second]


def pooled_hit_rate(rows: pd.DataFrame, column: str) -> float:
    values = [ev.hit_rate(g[column], g["target"]) for _, g in rows.groupby("pair")]
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def headline(rows: pd.DataFrame, column: str, prefix: str,
             estimate: ev.Estimate | None = None) -> dict[str, float]:
    """`prefix.ic` (+ _se, _ci_low, _ci_high), `.ic_plain`, `.hit_rate`, `.days`, `.rows`;
    `estimate`: the column's day_jackknife on these rows when the caller has it already."""
    estimate = estimate or ev.day_jackknife(rows, column)
    return {**estimate.as_dict(f"{prefix}.ic"), f"{prefix}.ic_plain": estimate.plain,
            f"{prefix}.hit_rate": pooled_hit_rate(rows, column),
            f"{prefix}.days": float(estimate.days), f"{prefix}.rows": float(len(rows))}


def score_models(rows: dict[str, pd.DataFrame], pairs: list[str]) -> dict[str, float]:
    """Headline, per-pair and per-window figures of each model and of the yardstick (on the
    rows every model scored), and the paired differences `mean.<model>.vs_naive` and
    `mean.self_learning.vs_lightgbm` with their intervals."""
    out: dict[str, float] = {}
    common = panel(rows)
    columns = {**{m: (r, "pred") for m, r in rows.items()}, "naive": (common, "naive")}
    for model, (r, column) in columns.items():
        out.update(headline(r, column, f"mean.{model}"))
        for pair in pairs:
            own = r[r["pair"] == pair]
            out[f"{pair}.{model}.ic"] = ev.spearman_ic(own[column], own["target"])
            out[f"{pair}.{model}.hit_rate"] = ev.hit_rate(own[column], own["target"])
        window_ics = ev.window_ics(r, column)
        for day, ic in window_ics.items():
            out[f"window.{day:%Y-%m-%d}.{model}.ic"] = ic
        out[f"mean.{model}.ic_per_window"] = ev.mean_and_se(window_ics)[0]
    for model, r in rows.items():
        out.update(ev.paired_jackknife(common, model, "naive").as_dict(f"mean.{model}.vs_naive"))
        spread = r["target"].std()
        out[f"mean.{model}.std_ratio"] = r["pred"].std() / spread if spread else float("nan")
        out[f"mean.{model}.ic_vs_naive"] = ev.pooled_ic(common, model, "naive")
    if {"self_learning", "lightgbm"} <= set(rows):
        out.update(ev.paired_jackknife(common, "self_learning", "lightgbm").as_dict(
            "mean.self_learning.vs_lightgbm"))
    return out


def score_ablation(rows: dict[str, pd.DataFrame]) -> dict[str, float]:
    """`ablation.<row>.ic` (+ interval) on its own rows and `ablation.<row>.diff` (+ interval):
    the row minus `full` on the rows both scored, jackknifed over days."""
    out: dict[str, float] = {}
    for name, r in rows.items():
        out.update(headline(r, "pred", f"ablation.{name}"))
        both = panel({name: r, "full": rows["full"]}) if name != "full" else None
        if both is not None:
            out.update(ev.paired_jackknife(both, name, "full").as_dict(f"ablation.{name}.diff"))
    return out


def score_flip(rows: dict[str, pd.DataFrame], flip_at: pd.Timestamp) -> dict[str, float]:
    """`flip.<model>.ic_before` / `ic_after` (+ intervals) and per-day ICs of each model and
    of the yardstick (on the rows every model scored)."""
    out: dict[str, float] = {}
    common = panel(rows)
    for model, (r, column) in {**{m: (r, "pred") for m, r in rows.items()},
                               "naive": (common, "naive")}.items():
        for day, ic in ev.window_ics(r, column).items():
            out[f"window.{day:%Y-%m-%d}.{model}.ic"] = ic
        for part, sel in (("before", r["date"] < flip_at), ("after", r["date"] >= flip_at)):
            out.update(ev.day_jackknife(r[sel], column).as_dict(f"flip.{model}.ic_{part}"))
    return out
