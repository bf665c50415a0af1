"""The pure scoring of benchmarks/quality.py: scored rows, per-model, ablation and flip
figures, all through self_learning.evaluation (tested in tests/test_quality_benchmark.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from self_learning import evaluation as ev


def scored_rows(preds: pd.DataFrame, truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Predictions with do_predict == 1 and a finite prediction and target, joined with the
    target and the yardstick; window = the candle's day (FreqAI's 1-day backtest window)."""
    rows = pd.concat([g.merge(truth[pair], on="date", how="left")
                      for pair, g in preds.groupby("pair")], ignore_index=True)
    keep = (rows["do_predict"] == 1) & np.isfinite(rows["pred"]) & np.isfinite(rows["target"])
    rows = rows[keep].reset_index(drop=True)
    rows["window"] = rows["date"].dt.floor("D")
    return rows


def common_rows(first: pd.DataFrame, *others: pd.DataFrame) -> pd.DataFrame:
    """Rows of `first` whose (pair, date) every other frame scored too."""
    keys = first[["pair", "date"]]
    mask = np.ones(len(first), dtype=bool)
    for other in others:
        mask &= pd.MultiIndex.from_frame(keys).isin(
            pd.MultiIndex.from_frame(other[["pair", "date"]]))
    return first[mask]


def score_models(rows: dict[str, pd.DataFrame], pairs: list[str]) -> dict[str, float]:
    """`pair.model.metric`, `mean.model.metric` and `window.day.model.ic` of each model and
    of the yardstick (on the rows all models scored); `mean.model.vs_naive` (+ `_se`): the
    model's paired per-window IC difference to the yardstick."""
    out: dict[str, float] = {}
    naive = common_rows(*rows.values())
    columns = {**{m: (r, "pred") for m, r in rows.items()}, "naive": (naive, "naive")}
    for model, (r, column) in columns.items():
        for key, value in ev.summarize(r, column).items():
            out[f"mean.{model}.{key}"] = value
        for pair in pairs:
            summary = ev.summarize(r[r["pair"] == pair], column)
            out.update({f"{pair}.{model}.{k}": summary[k] for k in ("ic", "hit_rate")})
        for day, ic in ev.window_ics(r, column).items():
            out[f"window.{day:%Y-%m-%d}.{model}.ic"] = ic
    for model, (r, column) in columns.items():  # the earlier definition: pooled per pair
        out[f"mean.{model}.ic_pooled"] = float(np.nanmean(
            [ev.spearman_ic(g[column], g["target"]) for _, g in r.groupby("pair")]))
    naive_ics = ev.window_ics(naive, "naive")
    for model, r in rows.items():  # paired per-window IC difference to the yardstick
        out[f"mean.{model}.vs_naive"], out[f"mean.{model}.vs_naive_se"] = \
            ev.paired_difference(ev.window_ics(r, "pred"), naive_ics)
        spread = r["target"].std()
        out[f"mean.{model}.std_ratio"] = r["pred"].std() / spread if spread else float("nan")
        out[f"mean.{model}.ic_vs_naive"] = float(np.nanmean(
            [ev.spearman_ic(g["pred"], g["naive"]) for _, g in r.groupby("pair")]))
    return out


def score_ablation(rows: dict[str, pd.DataFrame]) -> dict[str, float]:
    """`ablation.name.{ic,ic_se,hit_rate,diff,diff_se}`; diff = paired per-window IC
    difference to `full`."""
    out: dict[str, float] = {}
    base = ev.window_ics(rows["full"], "pred")
    for name, r in rows.items():
        summary = ev.summarize(r, "pred")
        diff, diff_se = ev.paired_difference(ev.window_ics(r, "pred"), base)
        out.update({f"ablation.{name}.{k}": summary[k] for k in ("ic", "ic_se", "hit_rate")})
        out.update({f"ablation.{name}.diff": diff, f"ablation.{name}.diff_se": diff_se})
    return out


def score_flip(rows: dict[str, pd.DataFrame], flip_at: pd.Timestamp) -> dict[str, float]:
    """`flip.model.{ic_before,ic_before_se,ic_after,ic_after_se}` and per-day ICs."""
    out: dict[str, float] = {}
    naive = common_rows(*rows.values())
    for model, (r, column) in {**{m: (r, "pred") for m, r in rows.items()},
                               "naive": (naive, "naive")}.items():
        ics = ev.window_ics(r, column)
        for day, ic in ics.items():
            out[f"window.{day:%Y-%m-%d}.{model}.ic"] = ic
        for part, sel in (("before", ics.index < flip_at), ("after", ics.index >= flip_at)):
            out[f"flip.{model}.ic_{part}"], out[f"flip.{model}.ic_{part}_se"] = \
                ev.mean_and_se(ics[sel])
    return out


# -- main -------------------------------------------------------------------------------------
