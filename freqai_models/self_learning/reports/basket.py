"""Where a whitelist's predictive edge sits: in the timing of the basket (the pairs' common
move) or in the ranking of the pairs against each other.

A prediction `e[t, pair]` splits into the basket's mean `m[t]` over the pairs and each pair's
residual `e - m`. Its per-pair IC (the quality benchmark's headline) mixes two skills:

* **timing**: the basket mean `m` against the basket's realized mean target (one series,
  the time-series IC of the whitelist as a whole);
* **ranking**: per date, the rank correlation across the pairs of `e` and the target (the
  cross-sectional IC), averaged over dates.

`shrunk` moves every pair's prediction towards the basket mean, `m + lam (e - m)`: lam 1 is
the prediction as served, lam 0 the basket mean alone. Every statistic comes with its
leave-one-day-out jackknife (evaluation.jackknife), so a market without an edge reads 0
within its interval. Pure pandas: the rows come from reports.backtest.load_rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from self_learning.reports.evaluation import (
    Estimate,
    day_jackknife,
    days_left_out,
    jackknife,
    spearman_ic,
)


@dataclass(frozen=True)
class Panel:
    """Dates x pairs of the prediction and its realized target, only dates where every pair
    has both (a balanced panel: the basket mean is over the same pairs on every date)."""

    prediction: pd.DataFrame
    target: pd.DataFrame

    @property
    def days(self) -> pd.Index:
        return self.prediction.index.floor("D")


def panel(rows: dict[str, pd.DataFrame], column: str = "&-s_close") -> Panel:
    """The balanced panel of the usable rows (load_rows) of every pair."""
    usable = {pair: r[r["usable"]].set_index("date") for pair, r in rows.items()}
    prediction = pd.DataFrame({p: u[column] for p, u in usable.items()})
    target = pd.DataFrame({p: u["target"] for p, u in usable.items()})
    complete = prediction.notna().all(axis=1) & target.notna().all(axis=1)
    return Panel(prediction[complete].sort_index(), target[complete].sort_index())


def shrunk(prediction: pd.DataFrame, lam: float) -> pd.DataFrame:
    """Each pair's prediction moved towards the basket mean of its date: m + lam (e - m)."""
    basket = prediction.mean(axis=1)
    return prediction.sub(basket, axis=0).mul(lam).add(basket, axis=0)


def basket_share(prediction: pd.DataFrame) -> float:
    """Share of the prediction's variance (over dates and pairs) that is the basket mean's:
    var(m) / var(e); about 1 / pairs when the pairs' predictions are unrelated."""
    return float(prediction.mean(axis=1).var(ddof=0) / prediction.stack().var(ddof=0))


def _long(p: Panel, columns: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows (pair, day, target, one column per entry of `columns`) for the jackknife."""
    frame = p.target.stack().rename("target").reset_index()
    frame.columns = ["date", "pair", "target"]
    for name, values in columns.items():
        frame[name] = values.stack().to_numpy()
    frame["day"] = frame["date"].dt.floor("D")
    return frame


def timing_ic(p: Panel) -> Estimate:
    """The basket mean prediction against the basket mean target, one series."""
    rows = pd.DataFrame({"pair": "basket", "day": p.days,
                         "m": p.prediction.mean(axis=1).to_numpy(),
                         "target": p.target.mean(axis=1).to_numpy()})
    return day_jackknife(rows, "m")


def ranking_ic(p: Panel) -> Estimate:
    """Per date the rank correlation across the pairs, averaged over dates; jackknifed over
    days (each day's dates left out in turn)."""
    per_date = pd.Series([spearman_ic(e, y) for e, y in zip(p.prediction.to_numpy(),
                                                              p.target.to_numpy(), strict=True)],
                         index=p.days, dtype=float).dropna()
    days = per_date.index.unique()
    deleted = [per_date[per_date.index != d].mean() for d in days]
    return jackknife(float(per_date.mean()), deleted)


@dataclass(frozen=True)
class ShrinkResult:
    lam: float
    ic: Estimate  # per-pair IC of the shrunk prediction
    minus_served: Estimate  # shrunk minus served (lam 1), paired on the same rows


@dataclass(frozen=True)
class Shrinking:
    served: Estimate  # the headline IC of the prediction as served
    by_lam: list[ShrinkResult]


def shrink_ics(p: Panel, lams: list[float]) -> Shrinking:
    """The headline IC (pooled per pair, jackknifed over days) of the prediction as served
    and of each shrunk one, with its paired difference to the served one: every column's IC
    on all days and with each day left out computed once (evaluation.days_left_out)."""
    names = {lam: f"lam_{lam}" for lam in lams}
    rows = _long(p, {"served": p.prediction,
                     **{name: shrunk(p.prediction, lam) for lam, name in names.items()}})
    left_out = days_left_out(rows, ["served", *names.values()])
    return Shrinking(
        left_out.ic("served"),
        [ShrinkResult(lam, left_out.ic(name), left_out.difference(name, "served"))
         for lam, name in names.items()])


def served_ic(p: Panel) -> Estimate:
    return shrink_ics(p, []).served


def _interval(e: Estimate) -> dict[str, float]:
    return {"value": round(e.value, 4), "low": round(e.low, 4), "high": round(e.high, 4)}


def decomposition(p: Panel, lams: list[float]) -> dict:
    """Every figure of this module for one panel, as JSON-ready numbers."""
    shrinking = shrink_ics(p, lams)
    return {"dates": len(p.prediction), "pairs": p.prediction.shape[1],
            "days": int(p.days.nunique()),
            "basket_share": round(basket_share(p.prediction), 4),
            "served_ic": _interval(shrinking.served), "timing_ic": _interval(timing_ic(p)),
            "ranking_ic": _interval(ranking_ic(p)),
            "shrunk": {str(r.lam): {"ic": _interval(r.ic),
                                    "minus_served": _interval(r.minus_served)}
                       for r in shrinking.by_lam}}


def concat(panels: list[Panel]) -> Panel:
    """Several windows' panels as one (their dates do not overlap)."""
    return Panel(pd.concat([q.prediction for q in panels]).sort_index(),
                 pd.concat([q.target for q in panels]).sort_index())
